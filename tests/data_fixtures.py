"""Tiny datasets in the published on-disk formats, written into a temporary folder.

Each image's pixels are a pure function of a seed (its CelebA row or HQ index), so
tests can tell which file a dataset item came from.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
from PIL import Image

from intergan.attributes import CELEBA_ATTRS


def picture(seed: int, width: int, height: int) -> Image.Image:
    """A smooth, seed-dependent RGB picture (compresses small, differs per seed)."""
    rng = np.random.default_rng(seed)
    y, x = np.mgrid[0:height, 0:width] / max(width, height)
    base = rng.uniform(40, 200, size=3)
    slope = rng.uniform(-80, 80, size=(2, 3))
    arr = base + x[..., None] * slope[0] + y[..., None] * slope[1]
    arr[height // 3 : height // 2, width // 4 : width // 2] = rng.uniform(0, 255, size=3)
    return Image.fromarray(np.clip(arr, 0, 255).astype(np.uint8))


def write_attr_file(path: Path, names: list[str], labels: np.ndarray, columns=CELEBA_ATTRS):
    """CelebA layout: count, names, then ``file v1 .. vN`` in {-1, 1}."""
    lines = [str(len(names)), " ".join(columns) + " "]
    for name, row in zip(names, labels):
        lines.append(name + " " + " ".join(f"{2 * int(v) - 1:2d}" for v in row))
    path.write_text("\n".join(lines) + "\n")


def celeba_labels(n: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 2, size=(n, len(CELEBA_ATTRS)), dtype=np.uint8)


def celeba_name(i: int) -> str:
    return f"{i + 1:06d}.jpg"


def make_celeba(root: Path, n: int = 12, partition: list[int] | None = None) -> np.ndarray:
    """``root/img_align_celeba/000001.jpg ...`` (178x218) + ``list_attr_celeba.txt``."""
    (root / "img_align_celeba").mkdir(parents=True)
    names = [celeba_name(i) for i in range(n)]
    for i, name in enumerate(names):
        picture(i, 178, 218).save(root / "img_align_celeba" / name, quality=90)
    labels = celeba_labels(n)
    write_attr_file(root / "list_attr_celeba.txt", names, labels)
    if partition is not None:
        rows = [f"{name} {p}" for name, p in zip(names, partition)]
        (root / "list_eval_partition.txt").write_text("\n".join(rows) + "\n")
    return labels


def make_synth_export(root: Path, n: int = 6, size: int = 32) -> list[np.ndarray]:
    """A SynthFaces-style export: square PNGs, CelebA layout, identities.jsonl."""
    (root / "img_align_celeba").mkdir(parents=True)
    names = [f"{i + 1:06d}.png" for i in range(n)]
    images = []
    for i, name in enumerate(names):
        img = picture(100 + i, size, size)
        img.save(root / "img_align_celeba" / name)
        images.append(np.asarray(img).transpose(2, 0, 1))
    write_attr_file(root / "list_attr_celeba.txt", names, celeba_labels(n, seed=3))
    parts = [0] * (n - 2) + [1, 2]
    (root / "list_eval_partition.txt").write_text(
        "".join(f"{nm} {p}\n" for nm, p in zip(names, parts))
    )
    (root / "identities.jsonl").write_text(
        "".join(json.dumps({"file": nm, "seed": i}) + "\n" for i, nm in enumerate(names))
    )
    return images


HQ_ORIG = [17, 3, 11, 0, 8, 19, 5, 14, 2, 9, 12, 6]  # HQ index -> CelebA row (0-based)


def make_celebahq(
    root: Path, naming: str = "index", labels: str = "mask", size: int = 48
) -> np.ndarray:
    """12 CelebA-HQ images; returns the expected (12, 40) labels in HQ index order.

    ``naming``: "index" (0.jpg) or "orig" (original CelebA names, via image_list.txt).
    ``labels``: "mask" (CelebAMask-HQ-attribute-anno.txt) or "celeba"
    (list_attr_celeba.txt with 20 CelebA rows + image_list.txt).
    """
    img_dir = root / "CelebA-HQ-img"
    img_dir.mkdir(parents=True)
    celeba = celeba_labels(20)
    expected = celeba[HQ_ORIG]
    for idx, orig in enumerate(HQ_ORIG):
        name = f"{idx}.jpg" if naming == "index" else celeba_name(orig)
        picture(1000 + idx, size, size).save(img_dir / name, quality=90)
    if naming == "orig" or labels == "celeba":
        rows = ["idx         orig_idx    orig_file   proc_md5                          final_md5"]
        rows += [f"{i:<11d} {o:<11d} {celeba_name(o)}  abc  def" for i, o in enumerate(HQ_ORIG)]
        (root / "image_list.txt").write_text("\n".join(rows) + "\n")
    if labels == "mask":
        names = [f"{i}.jpg" for i in range(len(HQ_ORIG))]
        write_attr_file(root / "CelebAMask-HQ-attribute-anno.txt", names, expected)
    else:
        write_attr_file(root / "list_attr_celeba.txt", [celeba_name(i) for i in range(20)], celeba)
    return expected


CUSTOM_COLUMNS = ("Male", "Young", "Eyeglasses", "Bangs", "Bald")


def make_custom(root: Path, n: int = 12, partition: bool = False) -> np.ndarray:
    """``root/images/*.png`` of mixed sizes + ``attributes.txt`` with 5 columns."""
    (root / "images").mkdir(parents=True)
    names = [f"face_{i:02d}.png" for i in range(n)]
    for i, name in enumerate(names):
        picture(500 + i, 40 + 4 * (i % 3), 48).save(root / "images" / name)
    labels = np.random.default_rng(7).integers(0, 2, size=(n, 5), dtype=np.uint8)
    write_attr_file(root / "attributes.txt", names, labels, CUSTOM_COLUMNS)
    if partition:
        rows = [f"{nm} {i % 3}" for i, nm in enumerate(names)]
        (root / "partition.txt").write_text("\n".join(rows) + "\n")
    return labels


def truncate(path: Path, keep: float = 0.4) -> None:
    """Cut a file short (a truncated download)."""
    data = path.read_bytes()
    path.write_bytes(data[: int(len(data) * keep)])
