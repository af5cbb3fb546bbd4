"""Decode one image file into the square uint8 array every dataset serves.

Framing rule, decided by the image size alone so every format shares it:
- a CelebA aligned image (exactly 178x218) is centre-cropped to 170x170 (top 24,
  left 4, as AttGAN does) and then resized;
- any other image (CelebA-HQ, SynthFaces, custom) is centre-cropped to a square
  if it is not one already, then resized.
Resizing is bicubic with Pillow's anti-aliasing. Large JPEGs are decoded at a
reduced DCT scale (``Image.draft``) when that still leaves at least twice the
target size, which makes 1024 px CelebA-HQ several times faster to prepare.
Grey-scale, palette, CMYK and 16-bit images are converted to RGB by
:func:`intergan.images.flatten`, the decoder the photo editor shares; images with an
alpha channel are composited over white. The prepared cache stores exactly what
this function returns, so cached and decoded pixels are identical.
:func:`decode_many` decodes a list of files in worker processes (``intergan prepare``
and ``intergan data check``).
"""

from __future__ import annotations

import math
import multiprocessing as mp
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from intergan.errors import UserError
from intergan.images import flatten

CELEBA_ALIGNED_SIZE = (178, 218)  # (width, height) of img_align_celeba files
CELEBA_CROP = 170


class BadImageError(UserError):
    """An image file that cannot be decoded (corrupt, truncated, not an image)."""


def crop_box(width: int, height: int) -> tuple[int, int, int, int]:
    """The (left, top, right, bottom) square this module keeps of a width x height image."""
    if (width, height) == CELEBA_ALIGNED_SIZE:
        left, top = (width - CELEBA_CROP) // 2, (height - CELEBA_CROP) // 2
        return left, top, left + CELEBA_CROP, top + CELEBA_CROP
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return left, top, left + side, top + side


def load_image(path: str | Path, size: int) -> np.ndarray:
    """Decode, frame and resize ``path``: returns uint8 (3, size, size).

    Raises :class:`BadImageError` naming the file when it cannot be decoded.
    """
    try:
        with Image.open(path) as img:
            orientation = img.getexif().get(0x0112, 1)
            if orientation != 1:  # phone photos: honour the EXIF rotation first
                img = ImageOps.exif_transpose(img)
            width, height = img.size
            box = crop_box(width, height)
            side = box[2] - box[0]
            if img.format == "JPEG" and orientation == 1:
                want = 2 * size / side  # keep twice the target resolution
                img.draft(None, (math.ceil(width * want), math.ceil(height * want)))
            fx, fy = img.size[0] / width, img.size[1] / height
            img = flatten(img)  # the editor reads every mode the same way
            if (fx, fy) == (1.0, 1.0):  # crop first: pixels outside the box never leak in
                img = img.crop(box).resize((size, size), Image.Resampling.BICUBIC)
            else:
                scaled = (box[0] * fx, box[1] * fy, box[2] * fx, box[3] * fy)
                img = img.resize((size, size), Image.Resampling.BICUBIC, box=scaled)
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, SyntaxError, ValueError, Image.DecompressionBombError) as e:
        reason = (e.strerror if isinstance(e, OSError) else None) or e  # no repeated path
        raise BadImageError(f"cannot decode image {path}: {reason}") from e
    return np.ascontiguousarray(arr.transpose(2, 0, 1))


def _decode(job: tuple[int, str, int]) -> tuple[int, np.ndarray | None, str]:
    i, path, size = job
    try:
        return i, load_image(path, size), ""
    except BadImageError as e:
        return i, None, str(e)


def decode_many(
    jobs: Sequence[tuple[int, str, int]], workers: int, min_parallel: int = 64
) -> Iterator[tuple[int, np.ndarray | None, str]]:
    """``_decode`` over ``jobs`` in order, in ``workers`` processes.

    In-process when ``workers`` is 0 or 1 or there are fewer than ``min_parallel`` jobs.
    """
    if workers <= 1 or len(jobs) < min_parallel:
        yield from map(_decode, jobs)
        return
    ctx = mp.get_context("fork" if sys.platform.startswith("linux") else None)
    with ctx.Pool(workers) as pool:
        yield from pool.imap(_decode, jobs, chunksize=32)
