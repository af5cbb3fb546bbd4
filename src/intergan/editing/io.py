"""Reading and writing photos for the editor.

Accepts JPEG, PNG, WebP (and anything else Pillow reads), grey-scale, palette and
RGBA images; applies the EXIF orientation so the pixels are upright as a viewer
shows them; keeps alpha aside so it can be put back unchanged after editing.
Refuses files that are not images and images above a pixel limit (a guard
against decompression bombs and out-of-memory edits) with a ``UserError``.
"""

from __future__ import annotations

import os
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from intergan.errors import UserError
from intergan.files import atomic_write, guard
from intergan.images import rgb_alpha

DEFAULT_MAX_PIXELS = 40_000_000  # 40 megapixels: a large phone photo is ~12-50 MP
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff")


@dataclass
class Photo:
    """A loaded photo: rgb (H, W, 3) uint8, alpha (H, W) uint8 or None, its path."""

    rgb: np.ndarray
    alpha: np.ndarray | None = None
    path: Path | None = None

    def to_pil(self) -> Image.Image:
        if self.alpha is None:
            return Image.fromarray(self.rgb, "RGB")
        return Image.fromarray(np.dstack([self.rgb, self.alpha]), "RGBA")


def from_pil(im: Image.Image, path: Path | None = None) -> Photo:
    """Split a PIL image of any mode into RGB and (if it has one) alpha."""
    im = ImageOps.exif_transpose(im) or im
    rgb, alpha = rgb_alpha(im)  # the training decoder's reading of every mode (16-bit...)
    return Photo(rgb, alpha, path)


def check_pixels(
    width: int, height: int, max_pixels: int | None, what: str, limit: str = "--max-pixels"
) -> None:
    if max_pixels and width * height > max_pixels:
        raise UserError(
            f"{what} is {width}x{height} = {width * height:,} pixels, above the limit of "
            f"{max_pixels:,}; shrink it or raise the limit ({limit})"
        )


def load_image(path: str | os.PathLike, max_pixels: int | None = DEFAULT_MAX_PIXELS) -> Photo:
    """Read an image file upright (EXIF orientation applied) as a ``Photo``."""
    path = Path(path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our own limit below
        try:
            im = Image.open(path)
        except UnidentifiedImageError:
            raise UserError(
                f"{path} is not an image Pillow can read (JPEG, PNG, WebP, ...); check the file"
            ) from None
        except Image.DecompressionBombError as e:
            raise UserError(f"image {path} is too large to open safely ({e})") from None
        except FileNotFoundError:
            broken = " (a symbolic link to a missing file)" if path.is_symlink() else ""
            raise UserError(f"image file {path} does not exist{broken}") from None
        except OSError as e:  # a folder, a symbolic link loop, no permission to read
            raise UserError(
                f"cannot read image {path}: {e.strerror or e}; check the file"
            ) from None
        with im:
            check_pixels(im.width, im.height, max_pixels, f"image {path}")
            try:
                im.load()
            except OSError as e:
                raise UserError(
                    f"image {path} could not be decoded ({e}); is it truncated?"
                ) from None
            return from_pil(im, path)


def save_image(
    path: str | os.PathLike, photo: Photo, quality: int = 95, png_level: int | None = None
) -> None:
    """Write a photo; alpha is kept for formats that store it (PNG, WebP).

    png_level: zlib level 0-9 of a PNG (default Pillow's 6; 1 writes ~3.5x faster
    and ~10% larger files)."""
    path = Path(path)
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    im = photo.to_pil()
    suffix = path.suffix.lower()
    if suffix in (".jpg", ".jpeg") and im.mode == "RGBA":
        im = im.convert("RGB")
    kwargs = {"quality": quality} if suffix in (".jpg", ".jpeg", ".webp") else {}
    if suffix == ".png" and png_level is not None:
        kwargs["compress_level"] = png_level
    fmt = Image.registered_extensions().get(suffix)
    if fmt is None:
        raise UserError(f"cannot save {path}: unknown image type {suffix!r}; use .png or .jpg")
    atomic_write(path, lambda f: im.save(f, format=fmt, **kwargs))


def list_images(inputs: Sequence[str | os.PathLike]) -> list[Path]:
    """Expand files and folders (not recursive) into image paths, in a stable order.

    Nothing here opens a file: a link that leads nowhere (dangling, a loop) is listed
    and :func:`load_image` names it, so it is one skipped photo, not a stopped run."""
    out: list[Path] = []
    for item in inputs:
        p = Path(item)
        if p.is_dir():
            found = sorted(q for q in p.iterdir() if q.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise UserError(f"folder {p} holds no images ({', '.join(IMAGE_SUFFIXES)})")
            out.extend(found)
        elif p.is_file() or p.is_symlink():  # a broken link: reported when it is read
            out.append(p)
        else:
            raise UserError(f"input {p} does not exist")
    return list(_unique(out))


def _unique(paths: Iterable[Path]) -> Iterable[Path]:
    seen = set()
    for p in paths:
        key = os.path.realpath(p)  # never raises: a symbolic link loop is one bad photo
        if key not in seen:
            seen.add(key)
            yield p
