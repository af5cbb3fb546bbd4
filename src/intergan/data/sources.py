"""Find a dataset's files on disk, detect its format, and assign splits.

The result is a :class:`intergan.data.layout.Source`, the same for every format: one
row per labelled image (file path, 0/1 labels over the label file's columns, split
id), plus the mismatches between the label file and the image folder. CelebA-HQ is
read by ``intergan.data.hq``. Layouts accepted:

- ``celeba``: ``img_align_celeba/`` (or ``Img/img_align_celeba/``) and
  ``list_attr_celeba.txt`` (or ``Anno/...``), optional ``list_eval_partition.txt``
  (or ``Eval/...``). A SynthFaces export is this layout plus ``identities.jsonl``.
- ``celebahq``: images (``CelebA-HQ-img/``, ``images/``, ``img/`` or the folder
  itself) named ``0.jpg`` or by the original CelebA name, labels from
  ``CelebAMask-HQ-attribute-anno.txt`` or ``list_attr_celeba.txt`` + ``image_list.txt``.
- ``custom``: images (``images/`` or the folder itself) and ``attributes.txt`` (or
  ``list_attr_celeba.txt``), optional ``partition.txt`` / ``list_eval_partition.txt``.
- ``cache``: a folder written by ``intergan prepare`` (``manifest.json``).
"""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np

from intergan.data import formats as F
from intergan.data.cache import read_manifest
from intergan.data.hq import HQ_ANNO, HQ_LIST, celebahq
from intergan.data.layout import ATTR_FILE, Source, find_first, find_image_dir, list_images
from intergan.errors import UserError
from intergan.files import read_json_object

FORMATS: tuple[str, ...] = ("auto", "celeba", "celebahq", "custom", "cache")
CELEBA_BOUNDS, CELEBA_FULL = (182_000, 182_637), 202_599
DEFAULT_RATIOS = (0.9, 0.05, 0.05)

PARTITION_FILE = "list_eval_partition.txt"
MANIFEST, IDENTITIES = "manifest.json", "identities.jsonl"
ALIGNED_META = "aligned.json"  # beside data made by `intergan faces align`


def _celeba_files(root: Path) -> tuple[Path | None, Path | None, Path | None]:
    images = find_first(
        root,
        ("img_align_celeba/img_align_celeba", "img_align_celeba", "Img/img_align_celeba"),
        True,
    )
    attrs = find_first(root, (ATTR_FILE, f"Anno/{ATTR_FILE}"), False)
    part = find_first(root, (PARTITION_FILE, f"Eval/{PARTITION_FILE}"), False)
    return images, attrs, part


def detect_format(path: str | Path) -> str:
    """Which layout ``path`` holds: cache, celebahq, celeba or custom."""
    root = Path(path)
    if not root.exists():
        raise UserError(f"dataset folder {root} does not exist; check --data")
    if not root.is_dir():
        raise UserError(f"--data {root} is a file; point it at the dataset folder")
    if not any(root.iterdir()):
        raise UserError(f"dataset folder {root} is empty; put the images and label file there")
    if (root / MANIFEST).is_file():
        return "cache"
    if find_first(root, (HQ_ANNO, f"CelebAMask-HQ/{HQ_ANNO}", HQ_LIST), False):
        return "celebahq"
    images, attrs, _ = _celeba_files(root)
    if images and attrs:
        return "celeba"
    if _custom_label_file(root):
        return "custom"
    raise UserError(
        f"cannot tell what dataset {root} holds: expected img_align_celeba/ and "
        f"{ATTR_FILE} (CelebA or a SynthFaces export), {HQ_ANNO} or {HQ_LIST} "
        "(CelebA-HQ), images with attributes.txt (custom), or a prepared cache "
        f"({MANIFEST}); see docs/data.md"
    )


def _aligned_record(root: str | Path) -> dict | None:
    """``root/aligned.json`` (written by ``intergan faces align``), else None."""
    path = Path(root) / ALIGNED_META
    if not path.is_file():
        return None
    fix = "it is written by `intergan faces align`; run that again or delete the file"
    return read_json_object(path, "alignment record", fix)


def label_origin(root: str | Path) -> dict | None:
    """How the labels of data made by ``intergan faces align`` were made (its
    ``aligned.json`` ``labels``: ``from`` file or judge, ``estimated``), else None."""
    labels = (_aligned_record(root) or {}).get("labels")
    return labels if isinstance(labels, dict) else None


def recorded_framing(root: str | Path) -> tuple[str, str] | None:
    """``(framing name, the file that records it)`` for data that carries a record of
    where its faces sit (the names of ``intergan.editing.align``), else None:
    ``aligned.json`` ``framing`` (``intergan faces align``), a cache's manifest
    (``framing``, or ``synthfaces``: prepared from a SynthFaces export), a SynthFaces
    export's ``identities.jsonl`` (its renders are the ``synthfaces`` framing)."""
    root = Path(root)
    if (root / MANIFEST).is_file():
        manifest = read_manifest(root)
        name = manifest.get("framing") or ("synthfaces" if manifest.get("synthfaces") else None)
        return (name, str(root / MANIFEST)) if isinstance(name, str) else None
    record = _aligned_record(root)
    if record is not None:
        framing = record.get("framing")
        name = framing.get("name") if isinstance(framing, dict) else framing
        if not isinstance(name, str) or not name:
            raise UserError(
                f'{root / ALIGNED_META} names no framing ("framing": {{"name": ...}}); '
                "align the photos again with `intergan faces align` or delete the file"
            )
        return name, str(root / ALIGNED_META)
    if (root / IDENTITIES).is_file():
        return "synthfaces", str(root / IDENTITIES)
    return None


def estimated_note(labels: dict | None) -> str | None:
    """A warning line when ``labels`` (from :func:`label_origin`) were estimated."""
    if not labels or not labels.get("estimated"):
        return None
    return (
        f"note: the labels were estimated by the judge {labels.get('judge', '?')} "
        f"({ALIGNED_META}), not given by a person"
    )


def _custom_label_file(root: Path) -> Path | None:
    return find_first(root, ("attributes.txt", ATTR_FILE), False)


def _match(names: list[str], images: dict[str, Path]) -> tuple[list[Path | None], list[str]]:
    """Match label-file names to image files: exact name, else same stem (x.jpg ~ x.png)."""
    by_stem: dict[str, Path] = {}
    for n, p in images.items():
        by_stem.setdefault(os.path.splitext(n)[0], p)
    paths: list[Path | None] = []
    for n in names:
        p = images.get(n) or by_stem.get(os.path.splitext(n)[0])
        paths.append(p)
    used = {p.name for p in paths if p is not None}
    return paths, sorted(n for n in images if n not in used)


def _partition_split(table: F.AttrTable, part: Path) -> np.ndarray:
    mapping = F.read_partition(part)
    split = np.empty(len(table.files), dtype=np.int8)
    for i, name in enumerate(table.files):
        if name not in mapping:
            raise UserError(
                f"{part} has no row for {name!r} (listed in {table.path}); add it or "
                "delete the partition file to split by file order"
            )
        split[i] = mapping[name]
    return split


def _celeba(root: Path) -> Source:
    images, attrs, part = _celeba_files(root)
    if not (images and attrs):
        raise UserError(
            f"{root} is not in the CelebA layout: it needs img_align_celeba/ and {ATTR_FILE} "
            "(try --format auto)"
        )
    table = F.read_attr_file(attrs)
    if part:
        split, rule = _partition_split(table, part), f"from {part.name}"
    else:
        split = F.index_splits(len(table.files), CELEBA_BOUNDS, CELEBA_FULL)
        rule = "by file order: train [0,182000), valid [182000,182637), test the rest"
    paths, extra = _match(table.files, list_images(images))
    synth = (root / IDENTITIES).is_file()
    return Source(
        "celeba", root, images, attrs, table.columns, table.files, paths, table.values,
        split, rule, extra, synth,
    )  # fmt: skip


def _custom(root: Path, ratios: tuple[float, float, float]) -> Source:
    attrs = _custom_label_file(root)
    if attrs is None:
        raise UserError(
            f"{root} has no attribute file: write attributes.txt in the CelebA layout "
            "(count line, attribute names, then 'file 1 -1 ...' rows)"
        )
    images = find_image_dir(root, ("images", "img", "img_align_celeba"))
    table = F.read_attr_file(attrs)
    part = find_first(root, ("partition.txt", PARTITION_FILE), False)
    if part:
        split, rule = _partition_split(table, part), f"from {part.name}"
    else:
        split = F.ratio_splits(table.files, ratios)
        rule = "by ratio {:.3g}/{:.3g}/{:.3g} over a hash of the file name".format(*ratios)
    paths, extra = _match(table.files, list_images(images))
    return Source(
        "custom", root, images, attrs, table.columns, table.files, paths, table.values,
        split, rule, extra,
    )  # fmt: skip


def discover(
    path: str | Path,
    format: str = "auto",
    hq_labels: str = "auto",
    ratios: str | tuple[float, ...] = DEFAULT_RATIOS,
) -> Source:
    """Read the labels and list the images of an image dataset (not a cache)."""
    if format not in FORMATS:
        raise UserError(f"unknown --format {format!r}; use one of {', '.join(FORMATS)}")
    root = Path(path)
    detected = detect_format(root)
    if format == "auto":
        format = detected
    if format == "cache" or detected == "cache":
        raise UserError(f"{root} is a prepared cache; read it with build_dataset, not discover")
    if format == "celebahq":
        if detected != "celebahq":
            raise UserError(
                f"{root} does not look like CelebA-HQ (no {HQ_ANNO} or {HQ_LIST}); "
                f"it looks like {detected}: pass --format {detected} or --format auto"
            )
        return celebahq(root, hq_labels)
    if format == "celeba":
        return _celeba(root)
    return _custom(root, F.parse_ratios(ratios))
