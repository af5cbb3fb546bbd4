"""The preview grid: a few identities (rows), each with every attribute flipped.

Column 0 is the image as labelled; column k is attribute k flipped. Switching an
attribute ON applies the conflict rules (``apply_conflicts``); switching it OFF
changes nothing else, exactly like ``attributes.flip_targets``. A thin bar at the
top of each edited cell says which way it went (green: on, red: off).
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from intergan.attributes import apply_conflicts
from intergan.data.synthfaces.identity import ATTRS
from intergan.data.synthfaces.render import render
from intergan.errors import UserError
from intergan.files import atomic_write, guard

SHORT = {"Bald": "Bald", "Bangs": "Bangs", "Black_Hair": "Black", "Blond_Hair": "Blond",
         "Brown_Hair": "Brown", "Bushy_Eyebrows": "Bushy", "Eyeglasses": "Glasses",
         "Male": "Male", "Mouth_Slightly_Open": "Mouth", "Mustache": "Mustache",
         "No_Beard": "NoBeard", "Pale_Skin": "Pale", "Young": "Young"}  # fmt: skip
HEADER = 12


def flip(labels: dict, attr: str) -> dict[str, int]:
    """``labels`` with ``attr`` flipped; switching ON applies the conflict rules."""
    vec = np.array([int(labels[a]) for a in ATTRS])
    j = ATTRS.index(attr)
    if vec[j]:
        vec[j] = 0
    else:
        vec = apply_conflicts(vec, ATTRS, j, 1)
    return {a: int(v) for a, v in zip(ATTRS, vec)}


def preview_grid(
    records: Sequence[dict], size: int = 64, attrs: Sequence[str] = ATTRS
) -> tuple[np.ndarray, list[list[dict]]]:
    """Grid image uint8 (HEADER + rows*size, (1 + len(attrs))*size, 3) and its labels.

    ``records``: dicts with ``identity`` and ``attrs`` (as from ``load_records``).
    Returns the image and, per row, the label dict of every column.
    """
    cols = 1 + len(attrs)
    grid = np.full((HEADER + len(records) * size, cols * size, 3), 255, np.uint8)
    targets = []
    for r, rec in enumerate(records):
        row = [dict(rec["attrs"])] + [flip(rec["attrs"], a) for a in attrs]
        targets.append(row)
        y = HEADER + r * size
        for c, lab in enumerate(row):
            grid[y : y + size, c * size : (c + 1) * size] = render(rec["identity"], lab, size)
            if c:
                on = lab[attrs[c - 1]] == 1
                grid[y : y + 2, c * size : (c + 1) * size] = (40, 200, 60) if on else (220, 50, 40)
    img = Image.fromarray(grid)
    draw, font = ImageDraw.Draw(img), ImageFont.load_default()
    for c, name in enumerate(["original", *[SHORT[a] for a in attrs]]):
        draw.text((c * size + 2, 0), name[: max(1, size // 6)], fill=(0, 0, 0), font=font)
    return np.asarray(img), targets


def write_preview(
    path: str | os.PathLike, records: Sequence[dict], size: int = 64, attrs=ATTRS
) -> Path:
    """Save ``preview_grid`` as a PNG (written to a temp name, then renamed)."""
    path = Path(path)
    if path.suffix.lower() != ".png":
        raise UserError(f"--preview must name a .png file, got {path}")
    grid, _ = preview_grid(records, size, attrs)
    with guard(path, "write --preview"):
        path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda f: Image.fromarray(grid).save(f, format="PNG"))
