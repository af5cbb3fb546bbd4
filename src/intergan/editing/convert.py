"""The editor's input and output types: PIL images, numpy arrays and tensors.

Everything is turned into a list of ``Photo`` objects (uint8 RGB plus optional
alpha) or, for float tensors, kept as floats; ``restore`` gives results back in
the caller's type and layout.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from PIL import Image

from intergan.editing.io import DEFAULT_MAX_PIXELS, Photo, check_pixels, from_pil
from intergan.errors import UserError
from intergan.images import to_model, to_uint8


@dataclass
class Batch:
    """Inputs as photos, and how to give results back in the caller's type.

    photos: one ``Photo`` per image (RGB uint8 (H, W, 3), alpha kept aside).
    floats: for float tensor inputs, the images as (B, 3, H, W) in [-1, 1]; the
    no-align path edits these directly so no precision is lost to uint8.
    restore: list of ``Photo`` (or float tensor (B, 3, H, W)) -> the caller's type.
    single: one image (PIL, (H, W[, C]) array, (3, H, W) tensor), not a batch.
    """

    photos: list[Photo]
    floats: torch.Tensor | None
    restore: Callable[[list[Photo] | torch.Tensor], object]
    single: bool = True


def _from_tensor(image: torch.Tensor) -> Batch:
    single = image.dim() == 3
    x = image[None] if single else image
    if x.dim() != 4 or x.shape[1] not in (1, 3):
        raise UserError(
            f"tensor images must be (3, H, W) or (B, 3, H, W), got {tuple(image.shape)}"
        )
    if x.shape[1] == 1:
        x = x.expand(-1, 3, -1, -1)
    if x.dtype == torch.uint8:
        arr = x.permute(0, 2, 3, 1).cpu().numpy()
        floats = None
    elif x.is_floating_point():
        _check_finite(x)
        if x.numel() and (x.min() < -1.001 or x.max() > 1.001):
            raise UserError("float tensor images must be in [-1, 1] (see intergan.images.to_model)")
        arr = to_uint8(x).cpu().numpy().transpose(0, 2, 3, 1)
        floats = x.float()
    else:
        raise UserError(f"tensor images must be uint8 or float in [-1, 1], got {x.dtype}")
    photos = [Photo(np.ascontiguousarray(a)) for a in arr]
    like = image

    def restore(out):
        if isinstance(out, torch.Tensor):  # the float path's (B, 3, H, W) in [-1, 1]
            y = to_uint8(out) if like.dtype == torch.uint8 else out
        else:
            y = torch.from_numpy(np.stack([p.rgb for p in out])).permute(0, 3, 1, 2).contiguous()
            y = to_model(y) if like.is_floating_point() else y
        y = y.to(device=like.device, dtype=like.dtype)
        return y[0] if single else y

    return Batch(photos, floats, restore, single)


def _check_finite(x: torch.Tensor) -> None:
    """Refuse NaN and infinite pixels: one of them spreads through the convolutions
    and makes the whole edited image NaN (or black once converted), silently."""
    bad = ~torch.isfinite(x)
    if bool(bad.any()):
        where = [int(i) for i in bad.nonzero()[0]]
        raise UserError(
            f"the tensor image holds {int(bad.sum())} NaN or infinite value(s), the first at "
            f"[batch, channel, y, x] = {where}; replace them (e.g. torch.nan_to_num) or "
            "check what produced the tensor"
        )


def _from_numpy(image: np.ndarray) -> Batch:
    if image.dtype != np.uint8:
        raise UserError(f"numpy images must be uint8 (H, W, 3), got dtype {image.dtype}")
    single = image.ndim in (2, 3)
    if image.ndim == 2 or (image.ndim == 3 and image.shape[-1] in (1, 3, 4)):
        arrs = [image]
    elif image.ndim == 4 and image.shape[-1] in (1, 3, 4):
        arrs = list(image)
    else:
        raise UserError(
            f"numpy images must be (H, W), (H, W, 3|4) or (B, H, W, 3), got {image.shape}"
        )
    photos = []
    for a in arrs:
        a = a[..., 0] if a.ndim == 3 and a.shape[-1] == 1 else a
        if a.ndim == 2:
            photos.append(Photo(np.repeat(a[..., None], 3, axis=-1)))
        elif a.shape[-1] == 4:
            photos.append(Photo(np.ascontiguousarray(a[..., :3]), np.ascontiguousarray(a[..., 3])))
        else:
            photos.append(Photo(np.ascontiguousarray(a)))

    def restore(out):
        arr = [np.dstack([p.rgb, p.alpha]) if p.alpha is not None else p.rgb for p in out]
        return arr[0] if single else np.stack(arr)

    return Batch(photos, None, restore, single)


def _sizes(image: object) -> list[tuple[int, int]] | None:
    """(height, width) of each image in an editor input; None for a type it is not."""
    if isinstance(image, Image.Image):
        return [(image.height, image.width)]
    if isinstance(image, (list, tuple)) and all(isinstance(i, Image.Image) for i in image):
        return [(i.height, i.width) for i in image]
    if isinstance(image, np.ndarray) and image.ndim in (2, 3, 4):
        return [image.shape[:2]] if image.ndim < 4 else [image.shape[1:3]] * image.shape[0]
    if isinstance(image, torch.Tensor) and image.dim() in (3, 4):
        hw = tuple(image.shape[-2:])
        return [hw] if image.dim() == 3 else [hw] * image.shape[0]
    return None


def check_image(image: object, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> None:
    """Refuse an empty input and images above ``max_pixels`` (``None``: no limit) before
    any work, as ``intergan edit --max-pixels`` does for files."""
    sizes = _sizes(image)
    if sizes is None:
        return  # not an image type: to_batch says what it accepts
    if not sizes:
        raise UserError("the input holds no image (an empty batch or list)")
    for h, w in sizes:
        if h < 1 or w < 1:
            raise UserError(f"an image is {w}x{h} pixels: give a non-empty image")
        check_pixels(w, h, max_pixels, "an image", "Editor.max_pixels")


def to_batch(image: object) -> Batch:
    """Accept a PIL image, a list of PIL images, a numpy uint8 array or a tensor.

    The one conversion of the editor's inputs: ``Editor.edit``, ``open``,
    ``find_faces`` and ``estimate`` all take what this takes.
    """
    if isinstance(image, Image.Image):
        return Batch([from_pil(image)], None, lambda out: out[0].to_pil())
    if (
        isinstance(image, (list, tuple))
        and image
        and all(isinstance(i, Image.Image) for i in image)
    ):
        photos = [from_pil(i) for i in image]
        return Batch(photos, None, lambda out: [p.to_pil() for p in out], single=False)
    if isinstance(image, np.ndarray):
        return _from_numpy(image)
    if isinstance(image, torch.Tensor):
        return _from_tensor(image)
    raise UserError(
        f"cannot edit a {type(image).__name__}: pass a PIL image, a numpy uint8 (H, W, 3) "
        "array or a tensor (3, H, W) / (B, 3, H, W)"
    )
