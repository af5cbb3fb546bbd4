"""Sample grids written during training.

Rows: fixed validation images. Columns: the input, its reconstruction, then one
edit per attribute (that attribute flipped with the conflict rules applied, the
edited entry pushed to ``+-test_int``), in the run's attribute order.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
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
    """The grid as a uint8 array (rows*S, (2 + n_attrs)*S, 3).

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
    grid = torch.stack([to_uint8(c.float()).cpu() for c in columns], dim=1)  # (N,C,3,S,S)
    n, c, _, s, _ = grid.shape
    return grid.permute(0, 3, 1, 4, 2).reshape(n * s, c * s, 3).numpy()


def save_grid(path: Path, grid: np.ndarray) -> None:
    """Write a PNG through a temporary file so a reader never sees half an image."""
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda f: Image.fromarray(grid).save(f, format="PNG"))
