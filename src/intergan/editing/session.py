"""An editing session: one photo (or batch) opened once, edited many times.

``Editor.open(image)`` does what no slider changes: decoding the input, face
detection and alignment (or the centre square), the judge's estimate of the
source attributes, the generator's encoder and the paste-back geometry.
``session.edit({attr: v})`` then runs only the generator's label-dependent part
(bottleneck and decoder) and the paste-back::

    session = editor.open(photo)            # detect, align, estimate, encode
    a = session.edit({"Blond_Hair": 1.0})   # a slider move: decode + paste only
    b = session.edit({"Blond_Hair": 0.4, "Young": -1})
    c = session.edit({"Blond_Hair": 1.0}, blend="delta")  # the photo + the model's change

A session belongs to one editor (model) and one input: another photo, face or
model needs a new session. It copies the input, so changing the caller's array
afterwards does not change its results.

It is the editor's one pipeline: the crop step (``crops.AlignedFaces`` or
``crops.CentreSquares``), the generate step (``backends.generate``) and the paste
step (the crops' ``put_back``, ``paste.PastePlan``); ``Editor.edit`` and its other
one-shot methods open a session and render one request in it (``render``).
``blend`` (``paste.BLENDS``) says how an edited crop goes back: the model's output
(``"raw"``) or the photo plus the model's change (``"delta"``), for which the
session decodes the crops once more with their own labels (``reconstruction``).
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np
import torch

from intergan.editing.backends import Code, generate
from intergan.editing.convert import check_image, to_batch
from intergan.editing.crops import AlignedFaces, CentreSquares
from intergan.editing.faces import Face
from intergan.editing.labels import SourceSpec, Targets, judge_probabilities, require_judge
from intergan.editing.paste import check_blend

if TYPE_CHECKING:
    from intergan.editing.editor import Editor


class EditSession:
    """``image`` opened for editing by ``editor`` (see the module docstring).

    image: what ``Editor.edit`` accepts; source: the photo's own attributes
    (``{name: 0/1}``, a 0/1 sequence over the attributes, the text form of
    ``Labels.parse_source`` such as ``"Male,Young"``, or ``None`` for the judge's
    estimate); align / face_index: as in ``Editor.edit``.
    """

    def __init__(
        self,
        editor: Editor,
        image: object,
        source: SourceSpec = None,
        align: bool = True,
        face_index: int | None = None,
    ) -> None:
        self.editor = editor
        check_image(image, editor.max_pixels)  # empty or too large: refused before any work
        source = editor.labels.check_source(source)  # so is a source that cannot be read
        batch = to_batch(image)
        for p in batch.photos:
            p.rgb = np.array(p.rgb)  # our own copy
        if batch.floats is not None:
            batch.floats = batch.floats.clone()
        # the crop step
        self.framed: AlignedFaces | CentreSquares
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

    @functools.cached_property
    def reconstruction(self) -> torch.Tensor:
        """The generator's output for the crops with their own source labels (F, 3, S, S)
        in [-1, 1], what ``blend="delta"`` subtracts; decoded on its first use."""
        source = self.editor.labels.encode(self.source)
        return generate(self.editor.backend, self.code, [source], source, self.editor.batch_size)[0]

    @property
    def faces(self) -> list[list[Face]] | None:
        """Every face found, per image, left to right (``None`` when not aligned)."""
        return getattr(self.framed, "faces", None)

    @functools.cached_property
    def probabilities(self) -> torch.Tensor | None:
        """The judge's probability of each model attribute per face (F, n), or ``None``
        when the editor has no judge."""
        judge = self.editor.judge
        return None if judge is None else judge_probabilities(judge, self.crops, self.editor.attrs)

    def _judged(self) -> torch.Tensor:
        return (self.probabilities > 0.5).float()

    def estimate(self) -> list[dict[str, float]]:
        """The judge's probabilities as one ``{attr: p}`` per face (see ``Editor.estimate``)."""
        require_judge(self.editor.judge)
        return [dict(zip(self.editor.attrs, row.tolist())) for row in self.probabilities]

    # ------------------------------------------------------------------ edits
    def render(self, targets: Targets, blend: str | None = None) -> list[object]:
        """One edited image (the input's type) per edit of ``targets``: generate, paste
        with ``blend`` (one of ``paste.BLENDS``; ``None``: ``paste.DEFAULT_BLEND``)."""
        blend = check_blend(blend)
        rec = self.reconstruction if blend == "delta" else None
        labels = self.editor.labels
        edited = generate(
            self.editor.backend,
            self.code,
            targets.encode(self.source),
            labels.encode(self.source),
            self.editor.batch_size,
        )
        return [self.framed.put_back(crops, rec) for crops in edited]

    def edit(self, changes: Mapping[str, float] | None = None, blend: str | None = None) -> object:
        """``changes`` ({attr: intensity}) applied; the input's type (as ``Editor.edit``)."""
        return self.render(self.editor.labels.edit(changes), blend)[0]

    def interpolate(
        self,
        attr: str,
        steps: int = 8,
        span: tuple[float, float] = (-1.0, 1.0),
        blend: str | None = None,
    ) -> list[object]:
        """``steps`` edits sweeping ``attr`` from ``span[0]`` to ``span[1]``."""
        return self.render(self.editor.labels.sweep(attr, steps, span), blend)

    def edit_all(self, intensity: float = 1.0, blend: str | None = None) -> dict[str, object]:
        """One edit per attribute, each flipped relative to the source: {attr: image}."""
        edits = self.render(self.editor.labels.flip_each(intensity), blend)
        return dict(zip(self.editor.attrs, edits))
