"""Where the labels of ``intergan faces align`` come from: the user's file or a judge.

A labeller is called once per aligned face with its ``Sample``, the ``Photo`` and the
detected ``Face`` and returns the face's 0/1 row over ``labeller.columns``, or
``None`` when it has none (the face is then reported and left out).
``describe()`` is what ``aligned.json`` records under ``labels``; a judge's labels
are marked ``"estimated": true`` there, with each face's probabilities in
``aligned_faces.jsonl``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from intergan.data.formats import read_labels
from intergan.editing.align import Framing, crop_face
from intergan.editing.faces import Face
from intergan.editing.io import Photo

THRESHOLD = 0.5  # a judge's probability at or above this is a 1


@dataclass
class Sample:
    """One aligned face of one photo (``face``: its number, 0 = leftmost)."""

    name: str
    photo: Path
    face: int
    faces_in_photo: int
    kept_from_photo: int
    box: list[float]
    score: float
    extra: dict[str, Any] = field(default_factory=dict)

    def record(self) -> dict[str, Any]:
        """Its row of ``aligned_faces.jsonl``."""
        row = {"file": self.name, "photo": self.photo.name, "face": self.face}
        row |= {"faces_in_photo": self.faces_in_photo, "box": self.box, "score": self.score}
        return row | self.extra


class FileLabels:
    """Labels from the user's file: the row named like the sample (``me.png``,
    ``group_face1``), else, when the photo gives one sample, like the photo (same
    name, or same stem with another extension)."""

    estimated = False

    def __init__(self, path: str | Path) -> None:
        self.table = read_labels(path)
        self.columns = self.table.columns
        self.rows: dict[str, int] = {}
        for i, f in enumerate(self.table.files):
            self.rows.setdefault(f, i)
        for i, f in enumerate(self.table.files):
            self.rows.setdefault(Path(f).stem, i)
        self.used: set[int] = set()

    def describe(self) -> dict[str, Any]:
        return {"from": "file", "file": str(self.table.path), "estimated": False}

    def __call__(self, sample: Sample, photo: Photo, face: Face) -> np.ndarray | None:
        keys = [sample.name, Path(sample.name).stem]
        if sample.kept_from_photo == 1:
            keys += [sample.photo.name, sample.photo.stem]
        for key in keys:
            if key in self.rows:
                self.used.add(self.rows[key])
                return self.table.values[self.rows[key]]
        return None

    def unused(self) -> list[str]:
        return [f for i, f in enumerate(self.table.files) if i not in self.used]


class JudgeLabels:
    """Labels estimated by a judge classifier: probability >= 0.5 is 1. The judge sees
    each face cut in the framing of its own training data when its record names that
    data, else in the output framing."""

    estimated = True

    def __init__(self, name: str, fallback: Framing) -> None:
        from intergan.models.judge import load_judge

        self.name, self.judge = name, load_judge(name)
        self.columns = self.judge.attrs
        self.framing = judge_framing(self.judge.info, self.judge.img_size, fallback)

    def describe(self) -> dict[str, Any]:
        return {
            "from": "judge", "judge": self.name, "estimated": True, "threshold": THRESHOLD,
            "judge_framing": self.framing.name, "judge_size": self.judge.img_size,
        }  # fmt: skip

    def __call__(self, sample: Sample, photo: Photo, face: Face) -> np.ndarray:
        import torch

        from intergan.images import to_model

        crop, _ = crop_face(photo.rgb, face, self.framing, self.judge.img_size)
        x = to_model(torch.from_numpy(np.ascontiguousarray(crop.transpose(2, 0, 1))))[None]
        p = self.judge.predict(x)[0].cpu().numpy()
        sample.extra["p"] = {a: round(float(v), 4) for a, v in zip(self.columns, p)}
        return (p >= THRESHOLD).astype(np.uint8)

    def unused(self) -> list[str]:
        return []


def judge_framing(info: dict[str, Any], img_size: int, fallback: Framing) -> Framing:
    """The framing a judge was trained in: the one its record keeps from its data's
    (``train.framing``), else guessed from the data it names (as for a model's:
    ``align.framing_for_config``), else ``fallback``."""
    from intergan.config import Config
    from intergan.editing.align import framing_for_config

    train = info.get("train") if isinstance(info.get("train"), dict) else {}
    data, framing = train.get("data"), train.get("framing")
    data, framing = (v if isinstance(v, str) else "" for v in (data, framing))
    if not data and not framing:
        return fallback
    cfg = Config()
    cfg.data.path, cfg.data.framing, cfg.model.img_size = data, framing, img_size
    return framing_for_config(cfg)


Labeller = FileLabels | JudgeLabels
