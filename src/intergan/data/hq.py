"""CelebA-HQ: 30,000 images, two naming schemes, two label sources.

Images are named by CelebA-HQ index (``0.jpg`` .. ``29999.jpg``) or by the original
CelebA file name (``119614.jpg``); both work, even mixed, when ``image_list.txt``
(``idx orig_idx orig_file ...``) is present to connect them. Labels come from
CelebAMask-HQ's ``CelebAMask-HQ-attribute-anno.txt`` (rows ``0.jpg v1..v40``,
``hq_labels="mask"``) or from CelebA's ``list_attr_celeba.txt`` through
``image_list.txt`` (``hq_labels="celeba"``): an HQ image gets the row of its
original CelebA image. ``auto`` prefers the CelebAMask-HQ file.
Splits by index: train [0, 28000), valid [28000, 28500), test [28500, 30000)
(scaled for smaller sets, see :func:`intergan.data.formats.index_splits`).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from intergan.data import formats as F
from intergan.data.layout import ATTR_FILE, Source, find_first, find_image_dir, list_images
from intergan.errors import UserError

HQ_ANNO, HQ_LIST = "CelebAMask-HQ-attribute-anno.txt", "image_list.txt"
HQ_BOUNDS, HQ_FULL = (28_000, 28_500), 30_000
HQ_IMAGE_DIRS = ("CelebA-HQ-img", "CelebAMask-HQ/CelebA-HQ-img", "images", "img", "celeba-hq")
HQ_LABEL_SOURCES = ("auto", "mask", "celeba")


def _mask_labels(anno: Path) -> tuple[list[int], F.AttrTable, np.ndarray]:
    table = F.read_attr_file(anno)
    idx, seen = [], {}
    for name in table.files:
        stem = os.path.splitext(name)[0]
        if not stem.isdigit():
            raise UserError(
                f"{anno}: row {name!r} is not named by CelebA-HQ index (0.jpg .. 29999.jpg); "
                "is this the CelebAMask-HQ attribute file?"
            )
        if int(stem) in seen:
            raise UserError(
                f"{anno}: rows {seen[int(stem)]!r} and {name!r} both label CelebA-HQ image "
                f"{int(stem)}; keep one row per image"
            )
        seen[int(stem)] = name
        idx.append(int(stem))
    return idx, table, table.values


def _celeba_labels(
    image_list: Path | None, attr: Path | None, orig: dict[int, str]
) -> tuple[list[int], F.AttrTable, np.ndarray]:
    if image_list is None or attr is None:
        found = HQ_LIST if image_list else ATTR_FILE if attr else "neither"
        raise UserError(
            f"CelebA-HQ labels from CelebA need both {HQ_LIST} and {ATTR_FILE} in the "
            f"dataset folder (found: {found}); "
            f"add the missing file, or use {HQ_ANNO} (--hq-labels mask)"
        )
    table = F.read_attr_file(attr)
    rows = table.row_of()
    idx = sorted(orig)
    for i in idx:
        if orig[i] not in rows:
            raise UserError(
                f"{image_list}: CelebA-HQ image {i} comes from {orig[i]!r}, which has no row "
                f"in {attr}; use the complete CelebA {ATTR_FILE}"
            )
    return idx, table, table.values[[rows[orig[i]] for i in idx]]


def celebahq(root: Path, hq_labels: str = "auto") -> Source:
    """Read a CelebA-HQ folder into a :class:`Source` ordered by CelebA-HQ index."""
    if hq_labels not in HQ_LABEL_SOURCES:
        raise UserError(f"unknown --hq-labels {hq_labels!r}; use auto, mask or celeba")
    anno = find_first(root, (HQ_ANNO, f"CelebAMask-HQ/{HQ_ANNO}"), False)
    image_list = find_first(root, (HQ_LIST,), False)
    attr = find_first(root, (ATTR_FILE, f"Anno/{ATTR_FILE}"), False)
    orig = F.read_image_list(image_list) if image_list else {}
    if hq_labels == "auto":
        hq_labels = "mask" if anno else "celeba"
    if hq_labels == "mask":
        if anno is None:
            raise UserError(f"--hq-labels mask needs {HQ_ANNO} in {root}")
        idx, table, labels = _mask_labels(anno)
        label_file = anno
    else:
        idx, table, labels = _celeba_labels(image_list, attr, orig)
        label_file = image_list
    order = np.argsort(idx, kind="stable")
    idx = [idx[k] for k in order]
    labels = labels[order]
    image_dir = find_image_dir(root, HQ_IMAGE_DIRS)
    paths, unlabelled = _resolve(idx, orig, list_images(image_dir), image_dir, image_list)
    return Source(
        "celebahq", root, image_dir, label_file, table.columns, [f"{i}.jpg" for i in idx],
        paths, labels, F.index_splits(len(idx), HQ_BOUNDS, HQ_FULL),
        "by CelebA-HQ index: train [0,28000), valid [28000,28500), test the rest", unlabelled,
    )  # fmt: skip


def _resolve(
    idx: list[int],
    orig: dict[int, str],
    images: dict[str, Path],
    image_dir: Path,
    image_list: Path | None,
) -> tuple[list[Path | None], list[str]]:
    """Image file of each HQ index: ``{idx}.*`` first, else the original CelebA name."""
    by_stem: dict[str, Path] = {}
    for name, p in images.items():
        by_stem.setdefault(os.path.splitext(name)[0], p)
    paths: list[Path | None] = []
    for i in idx:
        p = by_stem.get(str(i))
        if p is None and i in orig:
            p = by_stem.get(os.path.splitext(orig[i])[0])
        paths.append(p)
    if not orig and not any(paths) and any(len(s) == 6 and s.isdigit() for s in by_stem):
        raise UserError(
            f"images in {image_dir} seem named by original CelebA file name (e.g. "
            f"{next(iter(images))}); put CelebA-HQ's {HQ_LIST} in the dataset folder "
            "to map them to CelebA-HQ indices"
        )
    used = {p.name for p in paths if p is not None}
    return paths, sorted(n for n in images if n not in used)
