"""Images/s of the packed cache loader against decoding JPEGs with PIL.

Writes its own fixture (N synthetic 178x218 JPEGs in the CelebA layout, in a
temporary folder), then times, at the same output size and batch size, one pass
of ``make_loader`` over:

- the image folder (``FolderDataset``: PIL decode, 170 centre crop, resize, flip),
- the cache written by ``intergan prepare`` (``CacheDataset``: memory-map reads),

both in the main process (num_workers=0), i.e. per-core throughput; the JPEG
figure is the better of two passes, the cache figure the mean over
``--cache-epochs`` passes. The cache preparation rate is reported too.
Goal: cache >= 10x the JPEG path.

    PYTHONPATH=src python benchmarks/bench_data.py [--n 2000] [--size 128]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import platform
import tempfile
import time
from pathlib import Path

import numpy as np
import PIL
import torch
from PIL import Image

from intergan.attributes import CELEBA_ATTRS
from intergan.data import build_dataset, make_loader
from intergan.data.loader import cpu_count
from intergan.data.prepare import prepare

RESULTS = Path(__file__).resolve().parent / "results" / "bench_data.json"


def write_fixture(root: Path, n: int, seed: int = 0) -> None:
    """``n`` face-sized JPEGs with smooth shading and noise (CelebA-like file sizes)."""
    rng = np.random.default_rng(seed)
    (root / "img_align_celeba").mkdir(parents=True)
    y, x = np.mgrid[0:218, 0:178].astype(np.float32) / 218
    rows = []
    for i in range(n):
        base = rng.uniform(40, 200, 3) + x[..., None] * rng.uniform(-60, 60, 3)
        img = base + y[..., None] * rng.uniform(-60, 60, 3) + rng.normal(0, 12, (218, 178, 3))
        name = f"{i + 1:06d}.jpg"
        Image.fromarray(np.clip(img, 0, 255).astype(np.uint8)).save(
            root / "img_align_celeba" / name, quality=90
        )
        rows.append(name + " " + " ".join(rng.choice(["1", "-1"], len(CELEBA_ATTRS))))
    header = [str(n), " ".join(CELEBA_ATTRS)]
    (root / "list_attr_celeba.txt").write_text("\n".join(header + rows) + "\n")


def images_per_second(dataset, batch: int, epochs: int) -> float:
    loader = make_loader(dataset, batch, shuffle=True, seed=0, num_workers=0)
    count, start = 0, time.perf_counter()
    for epoch in range(epochs):
        loader.sampler.set_epoch(epoch)
        for images, _ in loader:
            count += images.shape[0]
    return count / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=2000, help="JPEGs in the fixture")
    parser.add_argument("--size", type=int, default=128)
    parser.add_argument("--batch", type=int, default=32)
    parser.add_argument("--cache-epochs", type=int, default=5)
    args = parser.parse_args()
    torch.set_num_threads(1)
    with tempfile.TemporaryDirectory() as tmp:
        data, cache = Path(tmp) / "celeba", Path(tmp) / "cache"
        write_fixture(data, args.n)
        t0 = time.perf_counter()
        prepare(data, cache, args.size, workers=0, log=lambda s: None)
        prep = args.n / (time.perf_counter() - t0)
        folder = build_dataset(data, None, "all", args.size, flip=True)
        cached = build_dataset(cache, None, "all", args.size, flip=True)
        # best of two passes for the JPEG path (the shared machine is noisy; this
        # favours the baseline, so the reported speed-up is conservative)
        jpeg = max(images_per_second(folder, args.batch, 1) for _ in range(2))
        packed = images_per_second(cached, args.batch, args.cache_epochs)
    result = {
        "benchmark": "data loader: packed cache vs PIL JPEG decoding",
        "date": dt.date.today().isoformat(),
        "machine": f"{platform.machine()}, {cpu_count()} CPU cores available, no GPU used",
        "versions": {"torch": torch.__version__, "pillow": PIL.__version__},
        "settings": vars(args) | {"num_workers": 0, "flip": True, "torch_threads": 1},
        "jpeg_images_per_s": round(jpeg, 1),
        "cache_images_per_s": round(packed, 1),
        "speedup": round(packed / jpeg, 1),
        "prepare_images_per_s": round(prep, 1),
    }
    print(json.dumps(result, indent=2))
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {RESULTS}")


if __name__ == "__main__":
    main()
