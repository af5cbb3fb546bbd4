"""An editing session: one photo (or batch) opened once, edited many times.

``Editor.open(image)`` does what no slider changes: decoding the input, face
detection and alignment (or the centre square), the judge's estimate of the
source attributes, the generator's encoder and the paste-back geometry.
``session.edit({attr: v})`` then runs only the generator's label-dependent part
(bottleneck and decoder) and the paste-back::

    session = editor.open(photo)            # detect, align, estimate, encode
    a = session.edit({"Blond_Hair": 1.0})   # a slider move: decode + paste only
    b = session.edit({"Blond_Hair": 0.4, "Young": -1})

A session belongs to one editor (model) and one input: another photo, face or
model needs a new session. It copies the input, so changing the caller's array
afterwards does not change its results.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

from intergan.editing.backends import Code, repeat_code, slice_code
from intergan.editing.convert import check_image, to_batch
from intergan.editing.crops import AlignedFaces, CentreSquares, resize
from intergan.editing.faces import Face
from intergan.editing.labels import SourceSpec
from intergan.errors import UserError

if TYPE_CHECKING:
    from intergan.editing.editor import Editor


class EditSession:
    """``image`` opened for editing by ``editor`` (see the module docstring).

    image: what ``Editor.edit`` accepts; source: the photo's own attributes
    (``{name: 0/1}``, a 0/1 sequence over the attributes, or ``None`` for the
    judge's estimate); align / face_index: as in ``Editor.edit``.
    """

    def __init__(
        self,
        editor: Editor,
        image: object,
        source: SourceSpec = None,
        align: bool = True,
        face_index: int | None = None,
    ):
        self.editor = editor
        check_image(image, editor.max_pixels)  # empty or too large: refused before any work
        batch = to_batch(image)
        for p in batch.photos:
            p.rgb = np.array(p.rgb)  # our own copy
        if batch.floats is not None:
            batch.floats = batch.floats.clone()
        if align:
            self.framed = AlignedFaces(
                batch, editor.detector, editor.framing, editor.size, face_index, editor.feather
            )
        else:
            self.framed = CentreSquares(batch, editor.size)
        self.crops = self.framed.crops  # (F, 3, S, S) in [-1, 1], F faces in all
        self.owner = self.framed.owner  # image index of each face
        judged = self._judged if editor.judge is not None else None
        self.source = editor.labels.source_rows(source, self.owner, judged)  # (F, n) 0/1

    @functools.cached_property
    def code(self) -> Code:
        """The generator's encoding of the crops (``backends.Code``), on the first edit."""
        return self.editor.backend.encode(self.crops)

    @property
    def faces(self) -> list[list[Face]] | None:
        """Every face found, per image, left to right (``None`` when not aligned)."""
        return getattr(self.framed, "faces", None)

    @functools.cached_property
    def probabilities(self) -> torch.Tensor | None:
        """The judge's probability of each model attribute per face (F, n), or ``None``
        when the editor has no judge."""
        judge = self.editor.judge
        if judge is None:
            return None
        s = judge.img_size
        probs = judge.predict(resize(self.crops, (s, s)).to(judge.device)).cpu()
        return probs[:, [judge.attrs.index(a) for a in self.editor.attrs]]

    def _judged(self) -> torch.Tensor:
        return (self.probabilities > 0.5).float()

    def estimate(self) -> list[dict[str, float]]:
        """The judge's probabilities as one ``{attr: p}`` per face (see ``Editor.estimate``)."""
        if self.probabilities is None:
            self.editor.require_judge()
        return [dict(zip(self.editor.attrs, row.tolist())) for row in self.probabilities]

    # ------------------------------------------------------------------ edits
    def generate(self, targets: list[torch.Tensor]) -> torch.Tensor:
        """Edited crops (K, F, 3, S, S) in [-1, 1] for K encoded targets (F, n) each."""
        k, f = len(targets), len(self.crops)
        code = repeat_code(self.code, k) if k > 1 else self.code
        t = torch.cat(targets)
        s = self.editor.labels.encode(self.source).repeat(k, 1)
        step, backend = self.editor.batch_size, self.editor.backend
        outs = [
            backend.decode(slice_code(code, i, i + step), t[i : i + step], s[i : i + step])
            for i in range(0, k * f, step)
        ]
        return torch.cat(outs).reshape(k, f, *self.crops.shape[1:])

    def render(self, targets: list[torch.Tensor]) -> list:
        """One edited image (the input's type) per encoded target."""
        return [self.framed.put_back(out) for out in self.generate(targets)]

    def edit(self, changes: Mapping[str, float] | None = None) -> object:
        """``changes`` ({attr: intensity}) applied; the input's type (as ``Editor.edit``)."""
        changes = dict(changes or {})
        check_intensities(changes)
        return self.render([self.editor.labels.target(self.source, changes)])[0]

    def interpolate(
        self, attr: str, steps: int = 8, span: tuple[float, float] = (-1.0, 1.0)
    ) -> list:
        """``steps`` edits sweeping ``attr`` from ``span[0]`` to ``span[1]``."""
        self.editor.index(attr)
        if steps < 2:
            raise UserError(f"steps must be at least 2, got {steps}")
        check_intensities({"span start": span[0], "span end": span[1]})
        values = np.linspace(span[0], span[1], steps)
        labels = self.editor.labels
        return self.render([labels.target(self.source, {attr: float(v)}) for v in values])

    def edit_all(self, intensity: float = 1.0) -> dict[str, object]:
        """One edit per attribute, each flipped relative to the source: {attr: image}."""
        check_intensities({"intensity": intensity})
        outs = self.render(self.editor.labels.flips(self.source, intensity))
        return dict(zip(self.editor.attrs, outs))


def check_intensities(values: Mapping[str, float]) -> None:
    """Refuse NaN and infinite intensities (they black out the face) before any work."""
    for name, v in values.items():
        if not math.isfinite(float(v)):
            raise UserError(f"{name}: the intensity {v} is not a finite number; use e.g. 1 or -0.5")
