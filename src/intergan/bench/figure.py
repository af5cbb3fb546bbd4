"""The ablation picture: the same inputs edited by each model, one row per model.

For each input image a block of rows: the ground-truth edits (SynthFaces only),
then one row per model. Columns: the input, the reconstruction (target ==
source), then each single-attribute flip.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path

import torch
from PIL import Image, ImageDraw

from intergan.attributes import flip_targets
from intergan.config import Config
from intergan.evaluation.evaluate import Editor, EvalSettings
from intergan.evaluation.ground_truth import GroundTruth
from intergan.files import atomic_write, guard
from intergan.images import to_model

SHORT = {
    "Black_Hair": "black hair", "Blond_Hair": "blond hair", "Brown_Hair": "brown hair",
    "Bushy_Eyebrows": "bushy brows", "Mouth_Slightly_Open": "mouth open",
    "No_Beard": "no beard", "Pale_Skin": "pale skin", "Eyeglasses": "glasses",
}  # fmt: skip
LABEL_W, HEAD_H = 108, 14  # room for "InterGAN w/o HFCM" in the default font


def _short(name: str) -> str:
    return SHORT.get(name, name.replace("_", " ").lower())[:12]


@torch.no_grad()
def edit_row(
    G: torch.nn.Module, cfg: Config, images_u8: torch.Tensor, labels: torch.Tensor, device
) -> torch.Tensor:
    """(B, 2 + n, 3, S, S) uint8: input, reconstruction, then each attribute flipped."""
    s = (labels > 0.5).float()
    editor = Editor(G.to(device).eval(), cfg, EvalSettings(), device)
    x = to_model(images_u8.to(device))
    none = torch.zeros_like(s, dtype=torch.bool)
    cols = [images_u8, editor(x, s, s, none)]
    for i, target in enumerate(flip_targets(s, cfg.model.attrs)):
        edited = none.clone()
        edited[:, i] = True
        cols.append(editor(x, target, s, edited))
    return torch.stack(cols, dim=1)


def truth_row(gt: GroundTruth, indices: Sequence[int], images_u8, labels) -> torch.Tensor:
    """Like ``edit_row`` but with the exact re-renders (input twice, then each flip)."""
    s = (labels > 0.5).float()
    cols = [images_u8, images_u8] + [gt.render(indices, t) for t in flip_targets(s, gt.attrs)]
    return torch.stack(cols, dim=1)


def compose(rows: Mapping[str, torch.Tensor], attrs: Sequence[str]) -> Image.Image:
    """Grid image from {row label: (B, C, 3, S, S)}: image b's rows grouped together."""
    first = next(iter(rows.values()))
    b, c, _, size, _ = first.shape
    n_rows = b * len(rows)
    canvas = Image.new("RGB", (LABEL_W + c * size, HEAD_H + n_rows * (size + 1)), "white")
    draw = ImageDraw.Draw(canvas)
    for k, title in enumerate(["input", "recon."] + [_short(a) for a in attrs]):
        draw.text((LABEL_W + k * size + 2, 2), title[: max(4, size // 6)], fill="black")
    r = 0
    for img in range(b):
        for label, grid in rows.items():
            y = HEAD_H + r * (size + 1)
            draw.text((2, y + size // 2 - 5), label[:17], fill="black")
            for k in range(c):
                tile = grid[img, k].permute(1, 2, 0).numpy()
                canvas.paste(Image.fromarray(tile), (LABEL_W + k * size, y))
            r += 1
    return canvas


def save_png(image: Image.Image, path: str | os.PathLike) -> Path:
    """Save atomically (temp file, then rename)."""
    path = Path(path)
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    return atomic_write(path, lambda f: image.save(f, format="PNG"))
