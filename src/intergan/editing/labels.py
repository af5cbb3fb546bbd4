"""Attribute labels for editing: the photo's source attributes and the edit targets.

Binary labels are 0/1 per model attribute; the generator takes *encoded* labels
(``attributes.encode``: ``(2b - 1) * thres_int``). An edit ``{attr: v}`` sets that
attribute's encoded target to ``v * test_int`` (1 on, -1 off, fractions and values
beyond +-1 allowed) and keeps every other attribute at its source value, after the
conflict rules of ``intergan.attributes`` for attributes switched on.

What an edit asks for is checked first, before any image work, into ``Targets``
(``Labels.edit``, ``sweep``, ``flip_each``); once the source rows of the faces are
known (``Labels.source_rows``, from ``source=`` and the judge's estimate,
``judge_probabilities``), ``Targets.encode`` gives the generator's targets.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import torch

from intergan.attributes import CONFLICTS, apply_conflicts, check_attr_name, encode
from intergan.editing.crops import resize
from intergan.errors import UserError

if TYPE_CHECKING:
    from intergan.models.judge import Judge

# What ``source=`` accepts: {name: 0/1} (unnamed: judge, else 0), a 0/1 sequence over
# the attributes (one row, or one row per image), the text form of ``--source-attrs``
# (``Labels.parse_source``), or None (all from the judge).
SourceSpec = str | Mapping[str, float] | Sequence | np.ndarray | torch.Tensor | None
SOURCE_FORMS = (
    "'Male,Young' (exactly these present), 'Male=1,Young=0' (these stated) or one 0/1 per attribute"
)


class Labels:
    """The model's attributes and label scales (``thres_int``, ``test_int``)."""

    def __init__(self, attrs: Sequence[str], thres_int: float, test_int: float) -> None:
        self.attrs = list(attrs)
        self.thres_int, self.test_int = thres_int, test_int

    def index(self, name: str) -> int:
        """Position of attribute ``name`` (raises with a suggestion if unknown)."""
        return self.attrs.index(check_attr_name(name, self.attrs))

    # ------------------------------------------------------------ what is asked
    def edit(self, changes: Mapping[str, float] | None) -> Targets:
        """One edit ``{attr: intensity}``, checked: known names, finite values, no two
        conflicting attributes switched on."""
        changes = {name: float(v) for name, v in (changes or {}).items()}
        for name in changes:
            self.index(name)
        check_intensities(changes)
        _check_conflicts(changes)
        return Targets(self, (changes,))

    def sweep(self, attr: str, steps: int, span: tuple[float, float]) -> Targets:
        """``steps`` edits sweeping ``attr`` from ``span[0]`` to ``span[1]`` (a slider)."""
        self.index(attr)
        if steps < 2:
            raise UserError(f"steps must be at least 2, got {steps}")
        check_intensities({"span start": span[0], "span end": span[1]})
        values = np.linspace(span[0], span[1], steps)
        return Targets(self, tuple({attr: float(v)} for v in values))

    def flip_each(self, intensity: float) -> Targets:
        """One edit per attribute, each flipped relative to the source (``flips``)."""
        check_intensities({"intensity": intensity})
        return Targets(self, flip=float(intensity))

    # ------------------------------------------------------------ encoded labels
    def encode(self, binary: torch.Tensor) -> torch.Tensor:
        """Binary labels (B, n) -> the generator's encoded labels (B, n)."""
        return encode(binary, self.thres_int)

    def target(self, source: torch.Tensor, changes: Mapping[str, float]) -> torch.Tensor:
        """Binary source (B, n) + {attr: intensity} -> the encoded target (B, n).

        Attributes switched on (intensity > 0) apply their conflict rules; the
        named entries then become ``intensity * test_int``; the rest keep
        ``(2 * source - 1) * thres_int``.
        """
        idx = {name: self.index(name) for name in changes}
        _check_conflicts(changes)
        binary = source.clone().float()
        for name, v in changes.items():
            binary = apply_conflicts(binary, self.attrs, idx[name], 1.0 if float(v) > 0 else 0.0)
        target = self.encode(binary)
        for name, v in changes.items():
            target[:, idx[name]] = float(v) * self.test_int
        return target

    def flips(self, source: torch.Tensor, intensity: float = 1.0) -> list[torch.Tensor]:
        """One encoded target (F, n) per attribute, each flipping that attribute."""
        out = []
        for i, name in enumerate(self.attrs):
            rows = [
                self.target(row[None], {name: -intensity if row[i] > 0.5 else intensity})
                for row in source
            ]
            out.append(torch.cat(rows))
        return out

    # ------------------------------------------------------------ source labels
    def source_rows(
        self,
        source: SourceSpec,
        owner: Sequence[int],
        estimate: Callable[[], torch.Tensor] | None,
    ) -> torch.Tensor:
        """Binary source rows (F, n) for F faces, face f belonging to image ``owner[f]``.

        Attributes ``source`` does not give come from ``estimate()`` (the judge's
        binary labels (F, n)); without it they count as absent, and with no
        ``source`` at all that is an error.
        """
        n = len(self.attrs)
        if source is None:
            if estimate is None:
                raise UserError(
                    "the source attributes are unknown: pass source={...} (--source-attrs) or "
                    "give a judge classifier (--judge DIR, or export the model with --judge)"
                )
            return estimate()
        rows = self._rows(source)
        n_images = max(owner) + 1
        if len(rows) not in (1, n_images):
            raise UserError(
                f"source has {len(rows)} rows for {n_images} images: give one row per image "
                f"or a single row of {n} values ({', '.join(self.attrs)})"
            )
        rows = rows[torch.as_tensor(owner)] if len(rows) > 1 else rows.expand(len(owner), n)
        unknown = torch.isnan(rows)
        if unknown.any():
            guess = estimate() if estimate is not None else torch.zeros_like(rows)
            rows = torch.where(unknown, guess, rows)
        return rows.clone()

    def parse_source(self, spec: str) -> dict[str, float] | list[float]:
        """The text form of ``source=`` and ``--source-attrs``, checked.

        ``"Male,Young"``: exactly these attributes present, every other one absent
        (the judge is not asked); ``"Male=1,Young=0"``: these stated, the others from
        the judge, else absent; ``"0,1,..."``: one 0/1 per model attribute, in order.
        Commas or spaces separate the items; unknown names get a suggestion.
        """
        parts = [p.strip() for p in spec.replace(" ", ",").split(",") if p.strip()]
        n = len(self.attrs)
        if not parts:
            raise UserError(f"the source attributes are empty; give {SOURCE_FORMS}")
        if all(p in ("0", "1") for p in parts):
            if len(parts) != n:
                raise UserError(
                    f"the source lists {len(parts)} values but the model has {n} "
                    f"attributes ({', '.join(self.attrs)})"
                )
            return [float(p) for p in parts]
        pairs = [p.partition("=") for p in parts]
        if len({sep for _, sep, _ in pairs}) > 1:
            raise UserError(f"source attributes {spec!r} mix two forms; give {SOURCE_FORMS}")
        names = [self.attrs[self.index(name.strip())] for name, _, _ in pairs]
        if len(set(names)) < len(names):
            twice = next(a for a in names if names.count(a) > 1)
            raise UserError(f"source attributes {spec!r} name {twice} twice")
        if pairs[0][1] != "=":
            return {a: float(a in names) for a in self.attrs}
        bad = [p for p, (_, _, v) in zip(parts, pairs) if v.strip() not in ("0", "1")]
        if bad:
            raise UserError(f"source attribute {bad[0]!r}: the value must be 0 (absent) or 1")
        return {a: float(v) for a, (_, _, v) in zip(names, pairs)}

    def check_source(self, source: SourceSpec) -> SourceSpec:
        """``source`` with its text form parsed, checked (names, 0/1 values, the row
        length) before any image work; ``None`` stays ``None``."""
        if isinstance(source, str):
            source = self.parse_source(source)
        if source is not None:
            self._rows(source)
        return source

    def _rows(self, source: SourceSpec) -> torch.Tensor:
        """``source`` as (R, n) float rows, NaN where a dict leaves an attribute out."""
        n = len(self.attrs)
        if isinstance(source, str):
            source = self.parse_source(source)
        if isinstance(source, Mapping):
            rows = torch.full((1, n), float("nan"))
            for name, v in source.items():
                rows[0, self.index(name)] = float(v)
        else:
            rows = torch.as_tensor(np.asarray(source, np.float32))
            if rows.numel() == 0 or rows.shape[-1] != n:
                raise UserError(
                    f"source must give {n} values per image, one per model attribute "
                    f"({', '.join(self.attrs)}), got shape {tuple(rows.shape)}"
                )
            rows = rows.reshape(-1, n)
        if ((rows < 0) | (rows > 1)).any():
            raise UserError("source attributes must be 0 or 1 (absent / present)")
        return rows


@dataclass(frozen=True)
class Targets:
    """Edits asked for, already checked (``Labels.edit``, ``sweep``, ``flip_each``):
    ``changes``, one ``{attr: intensity}`` per edit, or ``flip``: one edit per model
    attribute, flipped relative to the source with that intensity."""

    labels: Labels
    changes: tuple[dict[str, float], ...] = ()
    flip: float | None = None

    def encode(self, source: torch.Tensor) -> list[torch.Tensor]:
        """One encoded target (F, n) per edit, for binary source rows (F, n)."""
        if self.flip is not None:
            return self.labels.flips(source, self.flip)
        return [self.labels.target(source, changes) for changes in self.changes]


def check_intensities(values: Mapping[str, float]) -> None:
    """Refuse NaN and infinite intensities (they black out the face) before any work."""
    for name, v in values.items():
        if not math.isfinite(float(v)):
            raise UserError(f"{name}: the intensity {v} is not a finite number; use e.g. 1 or -0.5")


def _check_conflicts(changes: Mapping[str, float]) -> None:
    """Refuse two attributes switched on (intensity > 0) that a conflict rule excludes."""
    on = [name for name, v in changes.items() if float(v) > 0]
    for a in on:
        clash = [b for b in on if b in CONFLICTS.get(a, ())]
        if clash:
            raise UserError(f"{a} and {clash[0]} cannot both be switched on (conflict rule)")


# ---------------------------------------------------------------- the judge
def check_judge(judge: Judge, attrs: Sequence[str]) -> Judge:
    """``judge``, if it predicts every model attribute in ``attrs``."""
    missing = [a for a in attrs if a not in judge.attrs]
    if missing:
        raise UserError(
            f"the judge classifier does not predict {', '.join(missing)}, which the model "
            f"edits; use a judge trained on the model's attributes ({', '.join(attrs)})"
        )
    return judge


def require_judge(judge: Judge | None) -> Judge:
    """``judge``, or the error that says how to give one."""
    if judge is None:
        raise UserError(
            "this editor has no judge classifier to estimate attributes with: pass "
            "judge=DIR (--judge DIR), or export the model with --judge"
        )
    return judge


def judge_probabilities(judge: Judge, crops: torch.Tensor, attrs: Sequence[str]) -> torch.Tensor:
    """The judge's probability of each of ``attrs`` (F, n) for crops (F, 3, S, S) in
    [-1, 1], read at the judge's own size."""
    s = judge.img_size
    probs = judge.predict(resize(crops, (s, s)).to(judge.device)).cpu()
    return probs[:, [judge.attrs.index(a) for a in attrs]]
