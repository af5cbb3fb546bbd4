"""The crop step: what the model sees of each photo, and putting its output back.

Two framings of a batch of photos, each with ``crops`` ``(F, 3, S, S)`` in [-1, 1],
``owner`` (the image each crop came from) and ``put_back(edited)`` (edited crops
``(F, 3, S, S)`` in [-1, 1] -> the edited images in the caller's type):

- ``AlignedFaces``: every detected face (or face ``face_index``) cut out in the
  model's training framing; edits are pasted back through precomputed
  ``PastePlan``s, so only the crop's content is new work per edit.
- ``CentreSquares``: the centred square of each image resized to the model's
  size (for pictures already cropped like the training data).
"""

from __future__ import annotations

import functools

import numpy as np
import torch
import torch.nn.functional as F

from intergan.editing.align import Framing, crop_face
from intergan.editing.convert import Batch
from intergan.editing.faces import Face, FaceDetector
from intergan.editing.io import Photo
from intergan.editing.paste import PastePlan
from intergan.errors import UserError
from intergan.images import to_model, to_uint8


class NoFaceError(UserError):
    """No face was found where the edit needed one."""


class FaceIndexError(UserError):
    """``face_index`` names a face the photo does not have."""


def resize(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """(B, C, H, W) -> (B, C, *size), bilinear with antialiasing (a no-op at that size)."""
    if tuple(x.shape[-2:]) == size:
        return x
    return F.interpolate(x, size=size, mode="bilinear", align_corners=False, antialias=True)


def pick_faces(faces: list[Face], face_index: int | None, where: str) -> list[Face]:
    """The faces to edit: all, or face ``face_index`` (numbered left to right)."""
    if not faces:
        raise NoFaceError(
            f"no face found in {where}; use a photo with a visible, roughly frontal "
            "face, or align=False (--no-align) for images already cropped to a face"
        )
    if face_index is None:
        return faces
    if not 0 <= face_index < len(faces):
        raise FaceIndexError(
            f"face {face_index} requested but {where} has {len(faces)} face(s), "
            f"numbered 0 to {len(faces) - 1} from left to right"
        )
    return [faces[face_index]]


class AlignedFaces:
    """Faces detected, aligned to ``framing`` at ``size`` px, pasted back feathered.

    faces: every face found, per image (left to right); edited: the faces cut out,
    in crop order; mats: their photo->crop transforms.
    """

    def __init__(
        self,
        batch: Batch,
        detector: FaceDetector,
        framing: Framing,
        size: int,
        face_index: int | None = None,
        feather: float = 0.1,
    ) -> None:
        self.batch = batch
        self.faces = [detector.detect(p.rgb) for p in batch.photos]
        cuts, self.owner, self.edited = [], [], []
        for i, (p, found) in enumerate(zip(batch.photos, self.faces)):
            where = f"image {i}" if p.path is None else str(p.path)
            for f in pick_faces(found, face_index, where):
                cuts.append(crop_face(p.rgb, f, framing, size))
                self.owner.append(i)
                self.edited.append(f)
        self.mats = [m for _, m in cuts]
        self.crops = to_model(
            torch.from_numpy(np.stack([c for c, _ in cuts])).permute(0, 3, 1, 2).contiguous()
        )  # (F, 3, S, S)
        self.size, self.feather = size, feather

    @functools.cached_property
    def plans(self) -> list[PastePlan]:
        """Paste-back geometry per face, computed on the first edit and kept."""
        shapes = [self.batch.photos[i].rgb.shape[:2] for i in self.owner]
        return [PastePlan.build(m, self.size, hw, self.feather) for m, hw in zip(self.mats, shapes)]

    def put_back(self, edited: torch.Tensor, reconstruction: torch.Tensor | None = None) -> object:
        """Edited crops (F, 3, S, S) in [-1, 1] -> the photos with them pasted in; with
        the crops' ``reconstruction`` (F, 3, S, S), their change is added to the photos
        instead (``PastePlan.paste``)."""
        pixels = _pixels(edited)  # (F, 3, S, S) in [0, 255]
        recs = [None] * len(pixels) if reconstruction is None else _pixels(reconstruction)
        photos = [Photo(p.rgb.copy(), p.alpha, p.path) for p in self.batch.photos]
        for crop, rec, plan, i in zip(pixels, recs, self.plans, self.owner):
            plan.paste(photos[i].rgb, crop, rec)
        return self.batch.restore(photos)


class CentreSquares:
    """The centred square of each image, resized to ``size`` px, and put back there."""

    def __init__(self, batch: Batch, size: int) -> None:
        self.batch, self.size = batch, size
        self.owner = list(range(len(batch.photos)))
        self.squares = [_centre_square(*p.rgb.shape[:2]) for p in batch.photos]
        crops = []
        for i, (y0, x0, side) in enumerate(self.squares):
            x = self._floats(i)[..., y0 : y0 + side, x0 : x0 + side]
            crops.append(resize(x, (size, size)))
        self.crops = torch.cat(crops)  # (F, 3, S, S)

    def _floats(self, i: int) -> torch.Tensor:
        if self.batch.floats is not None:
            return self.batch.floats[i : i + 1]
        rgb = torch.from_numpy(np.array(self.batch.photos[i].rgb))
        return to_model(rgb.permute(2, 0, 1).contiguous())[None]

    def put_back(self, edited: torch.Tensor, reconstruction: torch.Tensor | None = None) -> object:
        """Edited squares (F, 3, S, S) in [-1, 1] -> the images with them put back; with
        the squares' ``reconstruction`` (F, 3, S, S), each square becomes itself plus
        the resized change ``edited - reconstruction`` instead (the whole square: it
        has no feathered border)."""
        if self.batch.floats is not None:  # float tensors: stay in floats
            full = self.batch.floats.clone()
            for i, (y0, x0, side) in enumerate(self.squares):
                square = full[i : i + 1, :, y0 : y0 + side, x0 : x0 + side]
                if reconstruction is None:
                    square[:] = resize(edited[i : i + 1], (side, side))
                else:
                    change = resize(edited[i : i + 1] - reconstruction[i : i + 1], (side, side))
                    square[:] = (square + change).clamp_(-1, 1)
            return self.batch.restore(full)
        photos = []
        for i, (p, (y0, x0, side)) in enumerate(zip(self.batch.photos, self.squares)):
            rgb = p.rgb.copy()
            if reconstruction is None:
                square = to_uint8(resize(edited[i : i + 1], (side, side))[0]).permute(1, 2, 0)
            else:
                change = resize(edited[i : i + 1] - reconstruction[i : i + 1], (side, side))
                here = torch.from_numpy(rgb[y0 : y0 + side, x0 : x0 + side]).float()
                square = (here + change[0].permute(1, 2, 0) * 127.5).round_().clamp_(0, 255)
            rgb[y0 : y0 + side, x0 : x0 + side] = square.to(torch.uint8).numpy()
            photos.append(Photo(rgb, p.alpha, p.path))
        return self.batch.restore(photos)


def _pixels(crops: torch.Tensor) -> torch.Tensor:
    """Crops in [-1, 1] -> float in [0, 255] (clamped first), as pasted."""
    return (crops.float().clamp(-1, 1) + 1) * 127.5


def _centre_square(h: int, w: int) -> tuple[int, int, int]:
    side = min(h, w)
    return (h - side) // 2, (w - side) // 2, side
