"""Attribute names, presets, label encoding and the conflict rules.

Every place that builds an edit target (training, evaluation, the editor, the web
app, SynthFaces sampling) goes through this module, so the rules live once.

Label conventions:
- *binary labels* are {0, 1} floats, shape (B, n_attrs), in the order of the
  active attribute list;
- the generator sees *encoded* labels ``(2a - 1) * thres_int`` (docs/design.md section 1).
"""

from __future__ import annotations

import difflib
from collections.abc import Sequence

import numpy as np
import torch

from intergan.errors import UserError

# The 40 CelebA attribute names, in the column order of list_attr_celeba.txt.
CELEBA_ATTRS: tuple[str, ...] = (
    "5_o_Clock_Shadow", "Arched_Eyebrows", "Attractive", "Bags_Under_Eyes", "Bald",
    "Bangs", "Big_Lips", "Big_Nose", "Black_Hair", "Blond_Hair", "Blurry", "Brown_Hair",
    "Bushy_Eyebrows", "Chubby", "Double_Chin", "Eyeglasses", "Goatee", "Gray_Hair",
    "Heavy_Makeup", "High_Cheekbones", "Male", "Mouth_Slightly_Open", "Mustache",
    "Narrow_Eyes", "No_Beard", "Oval_Face", "Pale_Skin", "Pointy_Nose",
    "Receding_Hairline", "Rosy_Cheeks", "Sideburns", "Smiling", "Straight_Hair",
    "Wavy_Hair", "Wearing_Earrings", "Wearing_Hat", "Wearing_Lipstick",
    "Wearing_Necklace", "Wearing_Necktie", "Young",
)  # fmt: skip

# AttGAN's 13 (the default) and the InterGAN paper's 11.
DEFAULT_ATTRS: tuple[str, ...] = (
    "Bald", "Bangs", "Black_Hair", "Blond_Hair", "Brown_Hair", "Bushy_Eyebrows",
    "Eyeglasses", "Male", "Mouth_Slightly_Open", "Mustache", "No_Beard", "Pale_Skin",
    "Young",
)  # fmt: skip
PAPER_ATTRS: tuple[str, ...] = tuple(a for a in DEFAULT_ATTRS if a not in ("Bald", "Bangs"))

ATTR_PRESETS: dict[str, tuple[str, ...]] = {
    "default": DEFAULT_ATTRS,
    "attgan13": DEFAULT_ATTRS,
    "paper11": PAPER_ATTRS,
    "all40": CELEBA_ATTRS,
}

HAIR_COLOURS = ("Black_Hair", "Blond_Hair", "Brown_Hair", "Gray_Hair")

# (attribute switched ON) -> attributes forced OFF.  Switching OFF changes nothing.
CONFLICTS: dict[str, tuple[str, ...]] = {
    "Bald": ("Bangs",),
    "Receding_Hairline": ("Bangs",),
    "Bangs": ("Bald", "Receding_Hairline"),
    **{h: tuple(o for o in HAIR_COLOURS if o != h) for h in HAIR_COLOURS},
    "Straight_Hair": ("Wavy_Hair",),
    "Wavy_Hair": ("Straight_Hair",),
    "Mustache": ("No_Beard",),
    "No_Beard": ("Mustache",),
}


class UnknownAttributeError(UserError):
    """An attribute name or list the project does not know."""


def suggest(name: str, choices: Sequence[str]) -> str:
    """A ' (did you mean X?)' hint for a misspelt name, or ''."""
    lowered = {c.lower(): c for c in choices}
    if name.lower() in lowered:
        return f" (did you mean {lowered[name.lower()]!r}? names are case-sensitive)"
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return f" (did you mean {close[0]!r}?)" if close else ""


def check_attr_name(name: str, choices: Sequence[str] = CELEBA_ATTRS) -> str:
    """Return ``name`` if it is one of ``choices``; else raise with the closest match."""
    if name not in choices:
        raise UnknownAttributeError(
            f"unknown attribute {name!r}{suggest(name, choices)}; valid names: {', '.join(choices)}"
        )
    return name


def resolve_attrs(spec: str | Sequence[str] | None) -> list[str]:
    """Turn a preset name, a comma-separated string or a list into attribute names.

    ``None`` gives the 13 default attributes. Unknown names raise with a suggestion;
    duplicates raise too, because they would silently double a label column.
    """
    if spec is None:
        return list(DEFAULT_ATTRS)
    if isinstance(spec, str):
        if spec in ATTR_PRESETS:
            return list(ATTR_PRESETS[spec])
        spec = [s.strip() for s in spec.split(",") if s.strip()]
    names = [check_attr_name(n) for n in spec]
    if not names:
        raise UnknownAttributeError("the attribute list is empty; name at least one attribute")
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UnknownAttributeError(f"attribute list names {', '.join(dupes)} more than once")
    return names


def apply_conflicts(labels, attrs: Sequence[str], index: int, value: float = 1.0):
    """Set attribute ``index`` to ``value`` in binary ``labels`` and apply the rules.

    ``labels``: (..., n_attrs) numpy array or tensor with {0,1} entries; returns a
    modified copy. Rules whose attributes are not in ``attrs`` are skipped.
    """
    out = labels.clone() if isinstance(labels, torch.Tensor) else np.array(labels, copy=True)
    out[..., index] = value
    if value > 0.5:
        for other in CONFLICTS.get(attrs[index], ()):
            if other in attrs:
                out[..., attrs.index(other)] = 0
    return out


def flip_targets(source: torch.Tensor, attrs: Sequence[str]) -> list[torch.Tensor]:
    """One target per attribute: that attribute flipped, conflicts applied.

    ``source``: (B, n) binary labels. Returns n tensors of shape (B, n). Rows in
    which the flipped attribute switches ON get the conflict rule; rows in which
    it switches OFF change nothing else.
    """
    targets = []
    for i in range(len(attrs)):
        flipped = 1 - source[:, i]
        on = apply_conflicts(source, attrs, i, 1.0)
        off = source.clone()
        off[:, i] = 0
        targets.append(torch.where(flipped[:, None] > 0.5, on, off))
    return targets


def encode(labels: torch.Tensor, thres_int: float = 0.5) -> torch.Tensor:
    """Binary {0,1} labels -> the generator's input scale ``(2a - 1) * thres_int``."""
    return (labels * 2 - 1) * thres_int


def encode_test_target(
    target: torch.Tensor, index: int, thres_int: float = 0.5, test_int: float = 1.0
) -> torch.Tensor:
    """Encode a test target whose entry ``index`` is the edited one: pushed to +-test_int."""
    out = encode(target, thres_int)
    out[:, index] = out[:, index] * (test_int / thres_int)
    return out
