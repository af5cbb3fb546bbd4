"""Parsers for the published label files of CelebA, CelebA-HQ and custom data.

All of them are plain text:

- ``list_attr_celeba.txt`` and CelebAMask-HQ's ``CelebAMask-HQ-attribute-anno.txt``
  share one layout: line 1 the image count, line 2 the attribute names, then one
  row per image ``file v1 .. vN`` with every value ``1`` or ``-1``;
- ``list_eval_partition.txt``: rows ``file split`` with split 0 (train), 1 (valid)
  or 2 (test);
- CelebA-HQ's ``image_list.txt``: a header ``idx orig_idx orig_file proc_md5
  final_md5`` then one row per CelebA-HQ image;
- a CSV label file (``read_label_csv``): a header ``file,Attr1,Attr2,...`` then one
  row per image, each value ``1`` (present), ``0`` or ``-1`` (absent).

The first two are also written here (``write_attr_file``, ``write_partition``).
Every error names the file, the line number and what to change. Each file lists an
image once: a second row for it is refused, even one that agrees with the first (a
conflicting one has no right answer, and either is a merge or copy mistake).
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from intergan.attributes import CELEBA_ATTRS, suggest
from intergan.errors import UserError

SPLITS: tuple[str, ...] = ("train", "valid", "test")


@dataclass
class AttrTable:
    """One attribute file: ``values[i, j]`` is attribute ``columns[j]`` of ``files[i]``."""

    path: Path
    columns: list[str]
    files: list[str]
    values: np.ndarray  # (N, C) uint8 in {0, 1}

    def row_of(self) -> dict[str, int]:
        """File name -> row index."""
        return {f: i for i, f in enumerate(self.files)}


def _read_lines(path: Path) -> list[str]:
    try:
        return path.read_text(encoding="utf-8", errors="strict").splitlines()
    except UnicodeDecodeError as e:
        raise UserError(f"{path} is not a text file ({e}); point at the label file") from e
    except OSError as e:
        raise UserError(f"cannot read {path}: {e}") from e


def _check_columns(path: Path, names: list[str]) -> None:
    if not names:
        raise UserError(f"{path}: line 2 should list the attribute names; it is empty")
    for name in names:
        if name not in CELEBA_ATTRS:
            raise UserError(
                f"{path}: line 2 names unknown attribute {name!r}{suggest(name, CELEBA_ATTRS)}; "
                "attribute names must be CelebA names"
            )
    dupes = sorted({n for n in names if names.count(n) > 1})
    if dupes:
        raise UserError(f"{path}: line 2 names {', '.join(dupes)} more than once")


def read_attr_file(path: str | Path) -> AttrTable:
    """Parse a CelebA-layout attribute file; values -1/1 become 0/1."""
    path = Path(path)
    lines = _read_lines(path)
    if len(lines) < 2:
        raise UserError(
            f"{path}: expected a count line, a line of attribute names and one row per "
            f"image; the file has {len(lines)} line(s)"
        )
    try:
        count = int(lines[0].split()[0])
    except (ValueError, IndexError):
        raise UserError(
            f"{path}: line 1 should be the number of images, found {lines[0][:40]!r}"
        ) from None
    columns = lines[1].split()
    _check_columns(path, columns)
    numbers, rows = [], []
    for lineno, line in enumerate(lines[2:], start=3):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != len(columns) + 1:
            raise UserError(
                f"{path}: line {lineno} has {len(parts) - 1} values after the file name; "
                f"expected {len(columns)} (one per attribute on line 2)"
            )
        numbers.append(lineno)
        rows.append(parts)
    if count != len(rows):
        raise UserError(
            f"{path}: line 1 says {count} images but the file has {len(rows)} rows; "
            "fix the count or restore the missing rows"
        )
    files = [r[0] for r in rows]
    raw = np.array([r[1:] for r in rows], dtype=str).reshape(len(rows), len(columns))
    pos, neg = raw == "1", raw == "-1"
    bad = ~(pos | neg)
    if bad.any():
        i, j = (int(k[0]) for k in np.nonzero(bad))
        raise UserError(
            f"{path}: line {numbers[i]}, attribute {columns[j]}: value {str(raw[i, j])!r} is not "
            "1 or -1; use 1 for present and -1 for absent"
        )
    _check_unique(path, files, numbers)
    return AttrTable(path, columns, files, pos.astype(np.uint8))


def _check_unique(path: Path, keys: list, numbers: list[int], what: str = "") -> None:
    """Refuse a second row for the same image, even one that agrees with the first:
    a repeated row is a merge or copy mistake, and a conflicting one has no right answer."""
    seen: dict = {}
    for key, n in zip(keys, numbers):
        if key in seen:
            raise UserError(
                f"{path}: line {n} repeats {what}{key!r} (first on line {seen[key]}); "
                "keep one row per image"
            )
        seen[key] = n


def read_label_csv(path: str | Path) -> AttrTable:
    """Parse a CSV label file: header ``file,Attr1,...`` (any first column name), then
    one row per image with each value 1 (present), 0 or -1 (absent)."""
    path = Path(path)
    rows = [(n, r) for n, r in enumerate(csv.reader(_read_lines(path)), start=1) if any(r)]
    if not rows:
        raise UserError(
            f"{path} is empty; write a header 'file,Attr1,Attr2,...' and one row per image"
        )
    if len(rows[0][1]) < 2:
        raise UserError(
            f"{path}: line 1 should be the header 'file,Attr1,Attr2,...' separated by "
            f"commas; found {','.join(rows[0][1])[:60]!r}"
        )
    columns = [c.strip() for c in rows[0][1][1:]]
    _check_columns(path, columns)
    files, values, numbers = [], [], []
    for lineno, row in rows[1:]:
        cells = [c.strip() for c in row]
        if len(cells) != len(columns) + 1:
            raise UserError(
                f"{path}: line {lineno} has {len(cells) - 1} values after the file name; "
                f"expected {len(columns)} (one per attribute in the header), separated by commas"
            )
        bad = [(c, v) for c, v in zip(columns, cells[1:]) if v not in ("1", "0", "-1")]
        if bad:
            raise UserError(
                f"{path}: line {lineno}, attribute {bad[0][0]}: value {bad[0][1]!r} is not "
                "1, 0 or -1; use 1 for present and 0 (or -1) for absent"
            )
        files.append(cells[0])
        values.append([v == "1" for v in cells[1:]])
        numbers.append(lineno)
    _check_unique(path, files, numbers)
    table = np.array(values, dtype=np.uint8).reshape(len(files), len(columns))
    return AttrTable(path, columns, files, table)


def read_labels(path: str | Path) -> AttrTable:
    """A label file by its kind: ``*.csv`` through :func:`read_label_csv`, anything
    else as a CelebA-layout attribute file (:func:`read_attr_file`)."""
    path = Path(path)
    if not path.is_file():
        raise UserError(f"label file {path} does not exist")
    return read_label_csv(path) if path.suffix.lower() == ".csv" else read_attr_file(path)


def write_attr_file(
    path: str | Path, columns: Sequence[str], files: Sequence[str], values: np.ndarray
) -> None:
    """Write a CelebA-layout attribute file: ``values`` (N, C) in {0, 1} become -1 / 1."""
    values = np.asarray(values)
    width = max((len(f) for f in files), default=0)
    with open(path, "w", newline="\n") as f:
        f.write(f"{len(files)}\n{' '.join(columns)}\n")
        for name, row in zip(files, values):
            f.write(f"{name:<{width}} " + " ".join(" 1" if v else "-1" for v in row) + "\n")


def write_partition(path: str | Path, files: Sequence[str], split: Sequence[int]) -> None:
    """Write ``list_eval_partition.txt``: rows ``file split`` (0 train, 1 valid, 2 test)."""
    with open(path, "w", newline="\n") as f:
        f.writelines(f"{name} {int(s)}\n" for name, s in zip(files, split))


def read_partition(path: str | Path) -> dict[str, int]:
    """Parse ``list_eval_partition.txt``: file name -> 0 (train), 1 (valid), 2 (test)."""
    path = Path(path)
    names, splits, numbers = [], [], []
    for lineno, line in enumerate(_read_lines(path), start=1):
        parts = line.split()
        if not parts:
            continue
        if len(parts) != 2 or parts[1] not in ("0", "1", "2"):
            raise UserError(
                f"{path}: line {lineno} should be 'FILE SPLIT' with SPLIT 0 (train), "
                f"1 (valid) or 2 (test); found {line.strip()[:60]!r}"
            )
        names.append(parts[0])
        splits.append(int(parts[1]))
        numbers.append(lineno)
    _check_unique(path, names, numbers)
    out = dict(zip(names, splits))
    if not out:
        raise UserError(f"{path} is empty; write one 'FILE SPLIT' row per image or delete it")
    return out


def read_image_list(path: str | Path) -> dict[int, str]:
    """Parse CelebA-HQ's ``image_list.txt``: CelebA-HQ index -> original CelebA file name."""
    path = Path(path)
    lines = _read_lines(path)
    header = lines[0].split() if lines else []
    if header[:3] != ["idx", "orig_idx", "orig_file"]:
        raise UserError(
            f"{path}: line 1 should be the header 'idx orig_idx orig_file proc_md5 final_md5'"
        )
    indices, files, numbers = [], [], []
    for lineno, line in enumerate(lines[1:], start=2):
        parts = line.split()
        if not parts:
            continue
        try:
            indices.append(int(parts[0]))
            int(parts[1])
            files.append(parts[2])
        except (ValueError, IndexError):
            raise UserError(
                f"{path}: line {lineno} should start 'IDX ORIG_IDX ORIG_FILE', "
                f"found {line.strip()[:60]!r}"
            ) from None
        numbers.append(lineno)
    _check_unique(path, indices, numbers, "CelebA-HQ index ")
    return dict(zip(indices, files))


def parse_ratios(spec: str | tuple[float, ...] | list[float]) -> tuple[float, float, float]:
    """``"0.9,0.05,0.05"`` -> (0.9, 0.05, 0.05), normalised to sum 1."""
    try:
        parts = [float(p) for p in (spec.split(",") if isinstance(spec, str) else spec)]
    except ValueError:
        parts = []
    finite = all(math.isfinite(x) for x in parts)
    if len(parts) != 3 or not finite or min(parts) < 0 or sum(parts) <= 0 or parts[0] <= 0:
        raise UserError(
            f"split ratios {spec!r} should be three non-negative numbers train,valid,test "
            "with train > 0, e.g. 0.9,0.05,0.05"
        )
    total = sum(parts)
    return (parts[0] / total, parts[1] / total, parts[2] / total)


def index_splits(n: int, bounds: tuple[int, int], full: int) -> np.ndarray:
    """Split ids (0 train, 1 valid, 2 test) for ``n`` items in file order.

    ``bounds`` are the published cut points for the full dataset of ``full`` items
    (CelebA: 182000, 182637 of 202599). If there are more than ``bounds[1]`` items,
    the published cuts apply unchanged (the test split takes the rest). Smaller sets
    (a subset, a test fixture) are cut proportionally, keeping at least one item in
    every split when ``n >= 3``.
    """
    if n > bounds[1]:
        cut1, cut2 = bounds
    else:
        cut1, cut2 = (round(b * n / full) for b in bounds)
        if n >= 3:
            cut2 = min(max(cut2, 2), n - 1)
            cut1 = min(max(cut1, 1), cut2 - 1)
    split = np.full(n, 2, dtype=np.int8)
    split[:cut2] = 1
    split[:cut1] = 0
    return split


def ratio_splits(names: list[str], ratios: tuple[float, float, float]) -> np.ndarray:
    """Split ids for a custom set: items ordered by a hash of their name, cut by ratio.

    Hash order keeps folders sorted by person or source from landing in one split,
    and does not depend on the order the files are listed in.
    """
    import zlib

    n = len(names)
    order = sorted(range(n), key=lambda i: (zlib.crc32(names[i].encode()), names[i]))
    cut1 = round(ratios[0] * n)
    cut2 = round((ratios[0] + ratios[1]) * n)
    if n >= 3:
        cut2 = min(max(cut2, cut1 + (ratios[1] > 0)), n - (ratios[2] > 0))
        cut1 = min(max(cut1, 1), cut2 - (ratios[1] > 0))
    split = np.empty(n, dtype=np.int8)
    for rank, i in enumerate(order):
        split[i] = 0 if rank < cut1 else (1 if rank < cut2 else 2)
    return split
