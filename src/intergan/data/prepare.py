"""``intergan prepare``: decode, crop and resize a dataset once into a packed cache.

Reads any image format (CelebA, CelebA-HQ, custom, SynthFaces export), checks that
labels and images match, decodes every image with :func:`load_image` (in parallel
worker processes) and writes each split as a uint8 memory-mappable array, with all
label-file attributes and the file names, plus ``manifest.json``. The cache appears
at ``--out`` only when everything succeeded (written in a temporary folder, then
renamed). An unreadable image stops the run before anything is written, unless
``--skip-bad`` is given: then it is listed, skipped and counted.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from intergan.attributes import DEFAULT_ATTRS, resolve_attrs
from intergan.cli_args import MAX_WORKERS, int_in
from intergan.data.cache import CacheWriter
from intergan.data.datasets import CacheDataset, select_columns
from intergan.data.decode import decode_many
from intergan.data.formats import SPLITS
from intergan.data.layout import Source
from intergan.data.loader import cpu_count
from intergan.data.sources import DEFAULT_RATIOS, discover, label_origin, recorded_framing
from intergan.errors import UserError
from intergan.files import check_not_an_input

if TYPE_CHECKING:
    import torch


def _progress(total: int, label: str):
    try:
        from tqdm import tqdm

        return tqdm(total=total, desc=label, unit="img", disable=None, leave=False)
    except ImportError:  # pragma: no cover - tqdm is a dependency
        return None


def _write_split(
    w: CacheWriter, src: Source, split: str, workers: int, skip_bad: bool, bad: list[str]
) -> int:
    rows = src.indices(split)
    images = w.images(split, len(rows))
    jobs = [(int(i), str(src.paths[i]), w.size) for i in rows]
    kept: list[int] = []
    bar = _progress(len(jobs), split)
    try:
        for i, image, err in decode_many(jobs, workers):
            if bar is not None:
                bar.update(1)
            if image is None:
                if not skip_bad:
                    raise UserError(
                        f"{err}; nothing was written. Run `intergan data check {src.root}` "
                        "to list every unreadable file, then replace them or pass --skip-bad"
                    )
                bad.append(err)
                continue
            images.append(image)
            kept.append(i)
    finally:
        images.close()
        if bar is not None:
            bar.close()
    w.labels(split, src.labels[kept], [src.names[i] for i in kept])
    return len(kept)


def prepare(
    data: str | Path,
    out: str | Path,
    size: int,
    format: str = "auto",
    attrs: str | Sequence[str] | None = None,
    skip_bad: bool = False,
    hq_labels: str = "auto",
    ratios: str | tuple[float, ...] = DEFAULT_RATIOS,
    workers: int = -1,
    overwrite: bool = False,
    log: Callable[[str], None] = print,
) -> dict[str, Any]:
    """Build the cache at ``out`` from the dataset at ``data``; returns the manifest."""
    if size < 8:
        raise UserError(f"--size must be at least 8 pixels, got {size}")
    check_not_an_input(out, {"--data": data})
    src = discover(data, format, hq_labels, ratios)
    if attrs is not None:
        select_columns(src.columns, resolve_attrs(attrs), str(src.label_file))
    if skip_bad:
        for what, items in (("labelled but missing", src.missing), ("unlabelled", src.unlabelled)):
            if items:
                log(f"skipping {len(items)} {what} image(s), e.g. {', '.join(items[:3])}")
    else:
        src.require_match()
    workers = min(8, cpu_count()) if workers < 0 else workers
    start, bad = time.perf_counter(), []
    with CacheWriter(out, size, overwrite) as w:
        counts = {s: _write_split(w, src, s, workers, skip_bad, bad) for s in SPLITS}
        manifest = {
            "source": str(Path(data).resolve()),
            "format": src.format,
            "synthfaces": src.synthfaces,
            "split_rule": src.split_rule,
            "columns": src.columns,
            "labels": label_origin(data),  # None, or how `faces align` labelled the data
            "framing": (recorded_framing(data) or (None,))[0],  # where the faces sit
            "splits": {s: {"count": n} for s, n in counts.items()},
            "skipped": {
                "unreadable": bad,
                "missing": len(src.missing) if skip_bad else 0,
                "unlabelled": len(src.unlabelled) if skip_bad else 0,
            },
        }
        w.commit(manifest)
    for err in bad:
        log(f"skipped: {err}")
    if bad:
        log(f"skipped {len(bad)} unreadable image(s)")
    log(
        f"prepared {src.format} {data} -> {out} at {size} px: "
        + ", ".join(f"{s} {n}" for s, n in counts.items())
        + f" ({time.perf_counter() - start:.1f} s)"
    )
    return manifest


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--data", required=True, help="dataset folder")
    parser.add_argument(
        "--format", default="auto", choices=("auto", "celeba", "celebahq", "custom"),
        help="dataset layout (default: detect)",
    )  # fmt: skip
    parser.add_argument("--size", type=int_in(8, 1024), required=True, help="output side in pixels")
    parser.add_argument("--out", required=True, help="cache folder to create")
    parser.add_argument(
        "--attrs", nargs="+", default=None,
        help="attributes you will train on (checked now; the cache keeps all columns)",
    )  # fmt: skip
    parser.add_argument("--skip-bad", action="store_true", help="skip unreadable/missing images")
    parser.add_argument("--hq-labels", default="auto", choices=("auto", "mask", "celeba"))
    parser.add_argument(
        "--split-ratios", default="0.9,0.05,0.05", help="custom data without a partition file"
    )
    parser.add_argument(
        "--workers", type=int_in(-1, MAX_WORKERS), default=-1, help="decode processes (-1: auto)"
    )
    parser.add_argument("--overwrite", action="store_true", help="replace an existing --out")


def print_marginals(labels: Mapping[str, torch.Tensor | np.ndarray], attrs: Sequence[str]) -> None:
    """A table: per attribute, the fraction of positives in each split."""
    splits = [s for s in labels if len(labels[s])]
    width = max(len(a) for a in attrs)
    print("attribute marginals (fraction with the attribute):")
    print("  " + " " * width + "".join(f"{s:>8}" for s in splits))
    means = {s: np.asarray(labels[s], dtype=np.float64).mean(axis=0) for s in splits}
    for j, a in enumerate(attrs):
        print(f"  {a:<{width}}" + "".join(f"{means[s][j]:8.3f}" for s in splits))


def attrs_arg(values: Sequence[str] | None) -> list[str] | None:
    """``--attrs A B`` or ``--attrs A,B`` or ``--attrs paper11`` -> names (None if absent)."""
    if values is None:
        return None
    return resolve_attrs(values[0] if len(values) == 1 else ",".join(values))


def run(args: argparse.Namespace) -> int:
    attrs = attrs_arg(args.attrs)
    manifest = prepare(
        args.data, args.out, args.size, args.format, attrs, args.skip_bad, args.hq_labels,
        args.split_ratios, args.workers, args.overwrite,
    )  # fmt: skip
    shown = attrs or [a for a in DEFAULT_ATTRS if a in manifest["columns"]]
    if shown:
        print_marginals({s: CacheDataset(args.out, [s], shown).labels for s in SPLITS}, shown)
    return 0
