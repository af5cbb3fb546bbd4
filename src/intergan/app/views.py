"""The images the web editor shows and offers: previews, the face overview, files.

A slider move changes only the edited face's footprint, so the "after" preview is
the "before" preview with that region redrawn (``Preview.after``): the resize and
the work grow with the face, not with the photo. Shown images are written as exact
PNG up to ``EXACT_PIXELS`` (the model's own small faces keep their real pixels)
and as JPEG above; the download keeps the upload's kind (JPEG q95 for JPEG, else
PNG).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from intergan.editing.io import Photo, save_image

PREVIEW_SIDE = 1024  # before/after shown at most this large; the download is full size
# [chosen, measured in docs/editing.md] PNG at zlib level 1 (a 1024x768 photo in
# ~80 ms instead of ~285 ms at Pillow's default, files ~10% larger); previews above
# EXACT_PIXELS are shown as JPEG q95 (~3 ms), smaller ones stay exact PNG pixels.
PNG_LEVEL = 1
EXACT_PIXELS = 512 * 512
JPEG_QUALITY = 95
MARGIN = 4  # preview pixels redrawn around the changed region (the resize's reach)
BOX = (255, 200, 0)  # face boxes: the edited face
OTHER_BOX = (80, 160, 255)  # the other faces


def write(path: Path, image: np.ndarray, quality: int = JPEG_QUALITY) -> str:
    """``image`` (H, W, 3|4) uint8 to ``path`` (its suffix picks the format)."""
    rgb, alpha = (image[..., :3], image[..., 3]) if image.shape[-1] == 4 else (image, None)
    save_image(path, Photo(np.ascontiguousarray(rgb), alpha), quality, png_level=PNG_LEVEL)
    return str(path)


def shown_name(image: np.ndarray, stem: str) -> str:
    """The file name a shown image gets: exact PNG when small or with alpha, else JPEG."""
    exact = image.shape[0] * image.shape[1] <= EXACT_PIXELS or image.shape[-1] == 4
    return f"{stem}.{'png' if exact else 'jpg'}"


def scale_of(shape: tuple[int, ...], max_side: int = PREVIEW_SIDE) -> float:
    """Preview pixels per picture pixel (1 when the picture is small enough)."""
    return min(1.0, max_side / max(shape[0], shape[1]))


def preview(image: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """``image`` shrunk so its long side is at most ``max_side`` (for display only)."""
    h, w = image.shape[:2]
    k = scale_of(image.shape, max_side)
    if k == 1.0:
        return image
    small = Image.fromarray(image).resize((round(w * k), round(h * k)), Image.LANCZOS)
    return np.asarray(small)


def changed_box(a: np.ndarray, b: np.ndarray) -> tuple[int, int, int, int] | None:
    """The smallest (x0, y0, x1, y1) holding every pixel where ``a`` and ``b`` differ."""
    diff = (a != b).any(axis=-1)
    rows, cols = np.flatnonzero(diff.any(axis=1)), np.flatnonzero(diff.any(axis=0))
    if rows.size == 0:
        return None
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def after_preview(before_small: np.ndarray, image: np.ndarray, edited: np.ndarray) -> np.ndarray:
    """The preview of ``edited``: ``before_small`` (the preview of ``image``) with the
    region where ``edited`` differs from ``image`` resized again (within one grey
    level of shrinking the whole of ``edited``)."""
    if before_small.shape[:2] == edited.shape[:2]:
        return edited
    box = changed_box(image, edited)
    out = before_small.copy()
    if box is None:
        return out
    h, w = edited.shape[:2]
    oh, ow = before_small.shape[:2]
    sx, sy = w / ow, h / oh
    x0, y0 = max(int(box[0] / sx) - MARGIN, 0), max(int(box[1] / sy) - MARGIN, 0)
    x1 = min(int(np.ceil(box[2] / sx)) + MARGIN, ow)
    y1 = min(int(np.ceil(box[3] / sy)) + MARGIN, oh)
    region = Image.fromarray(edited).resize(
        (x1 - x0, y1 - y0), Image.LANCZOS, box=(x0 * sx, y0 * sy, x1 * sx, y1 * sy)
    )
    out[y0:y1, x0:x1] = np.asarray(region)
    return out


def faces_overview(
    image: np.ndarray, boxes: list[tuple[float, float, float, float]], chosen: int
) -> np.ndarray:
    """A preview of ``image`` with each face's box and number (0 = leftmost) drawn;
    the chosen face's box in ``BOX``, the others in ``OTHER_BOX``."""
    small = Image.fromarray(np.ascontiguousarray(preview(image[..., :3], 768)))
    k = small.width / image.shape[1]
    draw = ImageDraw.Draw(small)
    side = max(14, round(min(small.size) / 12))
    font = ImageFont.load_default(size=side)
    width = max(2, side // 7)
    for i, (x0, y0, x1, y1) in enumerate(boxes):
        colour = BOX if i == chosen else OTHER_BOX
        draw.rectangle((x0 * k, y0 * k, x1 * k, y1 * k), outline=colour, width=width)
        text = str(i)
        tx, ty = x0 * k, max(y0 * k - side - 2 * width, 0)
        l, t, r, b = draw.textbbox((tx, ty), text, font=font)
        draw.rectangle((l - width, t - width, r + width, b + width), fill=colour)
        draw.text((tx, ty), text, fill=(0, 0, 0), font=font)
    return np.asarray(small)


def face_at(boxes: list[tuple[float, float, float, float]], x: float, y: float) -> int | None:
    """The face whose box holds (x, y), picture pixels (the nearest centre if several
    or none: a click just outside a small box still picks it); ``None`` without faces."""
    if not boxes:
        return None
    inside = [i for i, (x0, y0, x1, y1) in enumerate(boxes) if x0 <= x <= x1 and y0 <= y <= y1]
    pool = inside or range(len(boxes))

    def dist(i: int) -> float:
        x0, y0, x1, y1 = boxes[i]
        return ((x0 + x1) / 2 - x) ** 2 + ((y0 + y1) / 2 - y) ** 2

    return min(pool, key=dist)
