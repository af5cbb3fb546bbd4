"""Real photos edited in both blend modes: a comparison grid for docs/editing.md.

Usage: PYTHONPATH=src OMP_NUM_THREADS=1 python benchmarks/blend_photos.py
       [--model synthfaces-64] [--out docs/images/blend_photos.png] [--cell 128]

The photos ship with scikit-image: ``astronaut`` (Eileen Collins, colour, 512 px)
and ``camera`` (the cameraman, grey, 512 px, a face seen from the side). Each is
edited as ``intergan edit`` does (MTCNN, alignment to the model's framing, paste
back) with its attributes stated (``source=`` text, not the judge's guess) and a few
attributes changed, once per blend. Rows: each photo with ``raw`` then ``delta``;
columns: the photo, then one edit each; every cell is the same square around the
face, so the paste-back is seen at the photo's own resolution. The PNG keeps 6 bits
per channel (``--bits``; every value within 3 levels) to stay under 300 KB.
"""

from __future__ import annotations

import argparse
import os

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageOps

from intergan.editing.editor import Editor
from intergan.editing.paste import BLENDS

# name -> (loader name in skimage.data, what the photo shows, zoom box x0, y0, side)
PHOTOS = {
    "astronaut": ("astronaut", "Brown_Hair,Young,Mouth_Slightly_Open,No_Beard", (110, 20, 240)),
    "cameraman": ("camera", "Male,Young,Black_Hair,No_Beard", (120, 50, 200)),
}
EDITS = {
    "Blond_Hair +1": {"Blond_Hair": 1.0},
    "Eyeglasses +1": {"Eyeglasses": 1.0},
    "Young -1": {"Young": -1.0},
    "Pale_Skin +1": {"Pale_Skin": 1.0},
    "Bald +1": {"Bald": 1.0},
}
LABEL = 14  # px: the caption band above each row


def load(name: str) -> np.ndarray:
    from skimage import data

    image = getattr(data, name)()
    return np.dstack([image] * 3) if image.ndim == 2 else image


def cells(editor: Editor, photo: np.ndarray, source: str, box, blend: str, side: int):
    """The photo and each edit, cut to ``box`` and resized to ``side`` px."""
    x0, y0, s = box
    session = editor.open(photo, source=source)
    images = [photo] + [session.edit(c, blend=blend) for c in EDITS.values()]
    return [Image.fromarray(im[y0 : y0 + s, x0 : x0 + s]).resize((side, side)) for im in images]


def row(images: list[Image.Image], caption: str) -> Image.Image:
    side = images[0].width
    out = Image.new("RGB", (side * len(images), side + LABEL), "white")
    draw = ImageDraw.Draw(out)
    for k, (im, text) in enumerate(zip(images, ["photo", *EDITS])):
        out.paste(im, (k * side, LABEL))
        draw.text((k * side + 3, 1), f"{caption}: {text}" if k == 0 else text, fill="black")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--model", default="synthfaces-64")
    ap.add_argument("--out", default="docs/images/blend_photos.png")
    ap.add_argument("--cell", type=int, default=128, help="px per cell (default 128)")
    ap.add_argument(
        "--bits",
        type=int,
        default=6,
        help="bits kept per colour channel, to keep the PNG small (default 6: within 3 levels)",
    )
    args = ap.parse_args()
    torch.set_num_threads(int(os.environ.get("OMP_NUM_THREADS", "1")))
    editor = Editor.from_pretrained(args.model, backend="torch")
    rows = []
    for name, (loader, source, box) in PHOTOS.items():
        photo = load(loader)
        for blend in BLENDS:
            rows.append(row(cells(editor, photo, source, box, blend, args.cell), f"{name} {blend}"))
    grid = Image.new("RGB", (rows[0].width, sum(r.height for r in rows)), "white")
    for k, r in enumerate(rows):
        grid.paste(r, (0, k * r.height))
    ImageOps.posterize(grid, args.bits).save(args.out, optimize=True)
    print(f"wrote {args.out} ({os.path.getsize(args.out) // 1024} KB)")


if __name__ == "__main__":
    main()
