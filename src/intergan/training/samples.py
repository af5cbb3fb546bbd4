"""Sample grids written during training.

A header row names each column (PIL's default font). Rows: fixed validation images.
Columns: the input, its reconstruction, then one edit per attribute (that attribute
flipped with the conflict rules applied, the edited entry pushed to ``+-test_int``),
in the run's attribute order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image, ImageDraw, ImageFont
from torch.utils.data import Dataset

from intergan.attributes import encode, encode_test_target, flip_targets
from intergan.files import atomic_write, guard
from intergan.images import to_model, to_uint8


def fixed_batch(dataset: Dataset, count: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The first ``count`` items of ``dataset``: uint8 images (N,3,S,S), labels (N,n)."""
    n = min(count, len(dataset))  # type: ignore[arg-type]
    items = [dataset[i] for i in range(n)]
    return torch.stack([x for x, _ in items]), torch.stack([y for _, y in items]).float()


@torch.no_grad()
def sample_grid(
    G: torch.nn.Module,
    images: torch.Tensor,
    labels: torch.Tensor,
    attrs: list[str],
    thres_int: float,
    test_int: float,
    device: torch.device,
) -> np.ndarray:
    """The grid as a uint8 array (H + rows*S, (2 + n_attrs)*S, 3): a header row of
    height H naming the columns ("input", "recon.", then the attribute names) on top.

    ``images``: uint8 (N,3,S,S); ``labels``: (N, n_attrs) in {0,1}. ``G`` is put in
    eval mode for the grid and returned to its previous mode.
    """
    was_training = G.training
    G.eval()
    x = to_model(images.to(device))
    source = labels.to(device)
    source_enc = encode(source, thres_int)
    columns = [x, G(x, source_enc, source_enc).reconstructed]
    for i, target in enumerate(flip_targets(source, attrs)):
        target_enc = encode_test_target(target, i, thres_int, test_int)
        columns.append(G(x, target_enc, source_enc).edited)
    G.train(was_training)
    grid = torch.stack([to_uint8(col.float()).cpu() for col in columns], dim=1)  # (N,C,3,S,S)
    n, n_cols, _, s, _ = grid.shape
    body = grid.permute(0, 3, 1, 4, 2).reshape(n * s, n_cols * s, 3).numpy()
    return np.concatenate([column_header(["input", "recon.", *attrs], s), body])


def _text(text: str, font) -> Image.Image:
    """Black text on white as a greyscale image: as wide as the ink, as tall as its
    lines (ascenders and descenders included, so labels share a baseline)."""
    draw = ImageDraw.Draw(Image.new("L", (1, 1)))
    box = draw.multiline_textbbox((0, 0), text, font=font)
    lines = "\n".join(["Ag"] * (text.count("\n") + 1))
    im = Image.new(
        "L", (box[2] - box[0] + 1, draw.multiline_textbbox((0, 0), lines, font=font)[3] + 1), 255
    )
    ImageDraw.Draw(im).multiline_text((-box[0], 0), text, fill=0, font=font)
    return im


def column_header(labels: list[str], side: int, pad: int = 2) -> np.ndarray:
    """A white (H, len(labels)*side, 3) uint8 strip with each label centred over its
    column: horizontal, wrapped at underscores, when every label fits its column;
    otherwise all rotated a quarter turn (reading upwards), as narrow 32 px columns need."""
    font = ImageFont.load_default()
    tiles = [_text(label.replace("_", "\n"), font) for label in labels]
    if max(tile.width for tile in tiles) > side - 2 * pad:
        tiles = [_text(label, font).rotate(90, expand=True) for label in labels]
    height = max(tile.height for tile in tiles) + 2 * pad
    strip = Image.new("L", (len(labels) * side, height), 255)
    for k, tile in enumerate(tiles):
        strip.paste(tile, (k * side + (side - tile.width) // 2, height - pad - tile.height))
    return np.asarray(strip.convert("RGB"))


def save_grid(path: Path, grid: np.ndarray) -> None:
    """Write a PNG through a temporary file so a reader never sees half an image."""
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: Image.fromarray(grid).save(f, format="PNG"))
