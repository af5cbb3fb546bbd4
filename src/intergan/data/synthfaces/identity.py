"""Sampling SynthFaces identities and attribute labels.

An *identity* is a plain JSON-able dict of floats, ints and lists: everything about
a face that an attribute edit must keep (face shape, skin tone, eyes, nose, mouth,
hair style, pose jitter, lighting, background, texture seeds, moles...). Attribute
labels are dicts ``{name: 0 or 1}`` over the 13 default attributes.

Sampling follows CelebA's marginals and correlations roughly (Male ~42%, Young
~77%, Eyeglasses ~6%, No_Beard ~83% with beards only on men, Bald ~2%, Bangs ~15%,
exclusive hair colours); ``balanced=True`` gives about 50% per attribute where the
rules allow it. Conflict rules come from ``intergan.attributes.apply_conflicts``.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from intergan.attributes import DEFAULT_ATTRS, apply_conflicts

VERSION = 1
ATTRS: tuple[str, ...] = DEFAULT_ATTRS
HAIR = ("Black_Hair", "Blond_Hair", "Brown_Hair")

# The value an attribute takes when it is not allowed to vary (``--attrs``): the
# "feature absent" state. No_Beard=1 (no beard) and Young=1 (no age marks).
NEUTRAL: dict[str, int] = {a: 0 for a in ATTRS} | {"No_Beard": 1, "Young": 1}

# When sampled labels break a rule, attributes earlier here win (apply_conflicts).
RULE_ORDER = ("Bald", "Mustache", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bangs", "No_Beard")

FRAMES = ((0.10, 0.08, 0.07), (0.60, 0.50, 0.30))  # dark or gold glasses frames
SKIN_LIGHT, SKIN_DARK = (0.94, 0.80, 0.71), (0.42, 0.27, 0.19)
IRIS = ((0.35, 0.22, 0.12), (0.18, 0.11, 0.07), (0.30, 0.50, 0.75), (0.35, 0.55, 0.35),
        (0.50, 0.55, 0.60), (0.50, 0.40, 0.20))  # fmt: skip


def _u(rng: np.random.Generator, lo: float, hi: float, nd: int = 4) -> float:
    return round(float(rng.uniform(lo, hi)), nd)


def _colour(rng: np.random.Generator, base: Sequence[float], jitter: float) -> list[float]:
    return [round(float(np.clip(b + rng.uniform(-jitter, jitter), 0, 1)), 4) for b in base]


def sample_identity(rng: np.random.Generator) -> dict:
    """A random identity (plain dict) drawn from ``rng``; see the module docstring."""
    t = float(rng.beta(1.3, 2.6))  # skin darkness, skewed light like CelebA
    skin = [float(a + (b - a) * t) for a, b in zip(SKIN_LIGHT, SKIN_DARK)]
    hue = rng.uniform(0, 1, 3)
    bg = 0.25 + 0.6 * hue
    ident = {
        "version": VERSION,
        "seed": int(rng.integers(0, 2**31 - 1)),
        "face_w": _u(rng, 0.37, 0.44),
        "face_top": _u(rng, 0.56, 0.62),
        "face_low": _u(rng, 0.52, 0.60),
        "chin_p": _u(rng, 1.6, 2.0),
        "skin": _colour(rng, skin, 0.03),
        "eye_sep": _u(rng, 0.135, 0.165),
        "eye_y": _u(rng, -0.06, -0.02),
        "eye_size": _u(rng, 0.9, 1.15),
        "iris": _colour(rng, IRIS[int(rng.integers(len(IRIS)))], 0.05),
        "nose_len": _u(rng, 0.13, 0.18),
        "nose_w": _u(rng, 0.045, 0.065),
        "mouth_w": _u(rng, 0.085, 0.115),
        "mouth_y": _u(rng, 0.28, 0.32),
        "lip": _colour(rng, [min(1, skin[0] * 0.85 + 0.08), skin[1] * 0.55, skin[2] * 0.6], 0.04),
        "brow": _colour(rng, [0.16, 0.11, 0.08], 0.06),
        "beard": _colour(rng, [0.20, 0.14, 0.10], 0.06),
        "alt_hair_grey": int(rng.random() < 0.5),  # no hair colour attr: grey (1) or red (0)
        "hair_tint": _u(rng, 0.88, 1.12),
        "hair_vol": _u(rng, 0.04, 0.10),
        "hairline": _u(rng, -0.40, -0.32),
        "parting": _u(rng, -0.18, 0.18),
        "long_len": _u(rng, 0.45, 0.95),
        "wave_amp": _u(rng, 0.0, 0.03),
        "wave_freq": _u(rng, 12.0, 30.0),
        "roll": _u(rng, -0.12, 0.12),
        "shift": [_u(rng, -0.05, 0.05), _u(rng, -0.03, 0.06)],
        "scale": _u(rng, 0.93, 1.07),
        "light": [_u(rng, -0.6, 0.6), _u(rng, -0.7, -0.1), 1.0],
        "bg": [round(float(v), 4) for v in bg],
        "bg2": _colour(rng, list(bg * rng.uniform(0.55, 1.2)), 0.12),
        "bg_pattern": int(rng.integers(0, 4)),
        "bg_freq": _u(rng, 6.0, 16.0),
        "bg_angle": _u(rng, 0.0, 3.1416),
        "shirt": _colour(rng, list(rng.uniform(0.1, 0.85, 3)), 0.0),
        "neck_w": _u(rng, 0.15, 0.19),
        "glasses_shape": _u(rng, 2.0, 4.5),
        "glasses_rgb": _colour(rng, FRAMES[int(rng.random() < 0.3)], 0.05),
        "glasses_tint": _u(rng, 0.1, 0.45),
        "moles": [[_u(rng, -0.28, 0.28), _u(rng, -0.25, 0.42), _u(rng, 0.008, 0.014)]
                  for _ in range(int(rng.integers(0, 4)))],
        "freckles": int(rng.integers(0, 40)) if rng.random() < 0.3 else 0,
    }  # fmt: skip
    return ident


def _p(male: bool, p_male: float, p_female: float) -> float:
    return p_male if male else p_female


def sample_attributes(rng: np.random.Generator, balanced: bool = False) -> dict[str, int]:
    """Random labels {name: 0/1} over the 13 attributes, conflict rules applied.

    CelebA-like by default; ``balanced`` gives ~50% per attribute (hair colours
    ~25% each, as they are exclusive; beard and mustache stay male-only).
    """
    r = rng.random(16)
    if balanced:
        male = bool(r[0] < 0.5)
        a = {"Male": male, "Young": r[1] < 0.5, "Bald": r[2] < 0.3, "Bangs": r[3] < 0.5,
             "Bushy_Eyebrows": r[4] < 0.5, "Eyeglasses": r[5] < 0.5,
             "Mouth_Slightly_Open": r[6] < 0.5, "Pale_Skin": r[7] < 0.5}  # fmt: skip
        beard = male and r[8] < 0.8
        hair_p = (0.25, 0.25, 0.25)
        a["Mustache"] = beard and r[9] < 0.6
    else:
        male = bool(r[0] < 0.42)
        young = r[1] < _p(male, 0.67, 0.85)
        a = {"Male": male, "Young": young,
             "Bald": r[2] < (_p(male, 0.02, 0.001) if young else _p(male, 0.12, 0.002)),
             "Bangs": r[3] < _p(male, 0.07, 0.21),
             "Bushy_Eyebrows": r[4] < _p(male, 0.22, 0.08),
             "Eyeglasses": r[5] < (0.045 if young else 0.12) * _p(male, 1.5, 0.6),
             "Mouth_Slightly_Open": r[6] < 0.48,
             "Pale_Skin": r[7] < _p(male, 0.02, 0.06)}  # fmt: skip
        beard = male and r[8] < 0.40
        hair_p = (0.27, 0.03, 0.17) if male else (0.22, 0.24, 0.23)
        a["Mustache"] = beard and r[9] < 0.25
    a["No_Beard"] = not beard
    c = np.cumsum(hair_p)
    colour = int(np.searchsorted(c, r[10], side="right"))  # 3 = none (grey or red)
    for i, h in enumerate(HAIR):
        a[h] = colour == i and not a["Bald"]
    return enforce_rules({k: int(bool(v)) for k, v in a.items()})


def enforce_rules(labels: Mapping[str, int]) -> dict[str, int]:
    """Apply the conflict rules (attributes in ``RULE_ORDER`` win in that order)."""
    vec = np.array([int(labels.get(a, 0)) for a in ATTRS], dtype=np.int64)
    for name in RULE_ORDER:
        i = ATTRS.index(name)
        if vec[i] == 1:
            vec = apply_conflicts(vec, ATTRS, i, 1)
    return {a: int(v) for a, v in zip(ATTRS, vec)}


def restrict(labels: Mapping[str, int], vary: Sequence[str]) -> dict[str, int]:
    """Fix attributes not in ``vary`` at ``NEUTRAL``; conflict rules still win."""
    out = {a: (int(labels[a]) if a in vary else NEUTRAL[a]) for a in ATTRS}
    return enforce_rules(out)


def full_attrs(attrs: Mapping[str, float]) -> dict[str, int]:
    """Complete a partial {name: 0/1} dict (missing names = 0) over the 13 attributes."""
    return {a: int(float(attrs.get(a, 0)) > 0.5) for a in ATTRS}
