"""``intergan data check DIR``: what a user needs to know before training.

Prints the detected format, where images and labels were found, images per split,
attribute marginals (fraction of images with each attribute), and every problem:
labelled images that are missing, images without a label row, and images that
cannot be decoded. Exit status 0 when clean, 1 when problems were found.
Works on image folders and on prepared caches.
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from intergan.attributes import DEFAULT_ATTRS
from intergan.cli_args import MAX_WORKERS, int_in
from intergan.data import cache as C
from intergan.data.datasets import CacheDataset, select_columns
from intergan.data.decode import decode_many
from intergan.data.formats import SPLITS
from intergan.data.layout import Source
from intergan.data.loader import cpu_count
from intergan.data.prepare import attrs_arg, print_marginals
from intergan.data.sources import (
    DEFAULT_RATIOS,
    detect_format,
    discover,
    estimated_note,
    label_origin,
)

SHOW = 10  # problems listed per kind


def _list(title: str, items: Sequence[str]) -> None:
    print(f"{title}: {len(items)}")
    for item in items[:SHOW]:
        print(f"  {item}")
    if len(items) > SHOW:
        print(f"  ... and {len(items) - SHOW} more")


def unreadable(src: Source, workers: int) -> list[str]:
    """Decode every present image (at a small size); the error of each that fails."""
    rows = src.indices("all")
    jobs = [(int(i), str(src.paths[i]), 8) for i in rows]
    return [err for _, image, err in decode_many(jobs, workers) if image is None]


def check_folder(src: Source, attrs: Sequence[str], decode: bool, workers: int) -> int:
    kind = "celeba layout, SynthFaces export" if src.synthfaces else src.format
    print(f"dataset: {src.root} (format {kind})")
    print(f"images: {src.image_dir}")
    print(f"labels: {src.label_file} ({len(src.names)} rows, {len(src.columns)} attributes)")
    note = estimated_note(label_origin(src.root))
    if note:
        print(note)
    counts = {s: len(src.indices(s)) for s in SPLITS}
    splits = "  ".join(f"{s} {n}" for s, n in counts.items())
    print(f"splits: {splits}  total {sum(counts.values())}  (split {src.split_rule})")
    shown = [a for a in attrs if a in src.columns]
    if shown:
        cols = select_columns(src.columns, shown, str(src.label_file))
        print_marginals({s: src.labels[src.indices(s)][:, cols] for s in SPLITS}, shown)
    problems = 0
    for title, items in (
        ("missing images (labelled, no file)", src.missing),
        ("unlabelled images (file, no label row)", src.unlabelled),
    ):
        _list(title, items)
        problems += len(items)
    if decode:
        bad = unreadable(src, workers)
        _list("unreadable images", bad)
        problems += len(bad)
    else:
        print("unreadable images: not checked (--no-decode)")
    return problems


def check_cache(root: str, attrs: Sequence[str]) -> int:
    manifest = C.read_manifest(root)
    print(f"dataset: {root} (format cache, {manifest['size']} px, from {manifest['source']})")
    note = estimated_note(manifest.get("labels"))
    if note:
        print(note)
    counts = {s: manifest["splits"][s]["count"] for s in C.cache_splits(manifest)}
    print("splits: " + "  ".join(f"{s} {n}" for s, n in counts.items()))
    shown = [a for a in attrs if a in manifest["columns"]]
    if shown:
        print_marginals({s: CacheDataset(root, [s], shown).labels for s in counts}, shown)
    skipped = manifest.get("skipped", {})
    _list("images skipped when preparing (unreadable)", skipped.get("unreadable", []))
    return 0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="data_command", metavar="SUBCOMMAND", required=True)
    p = sub.add_parser("check", help="report format, splits, marginals and bad files")
    p.add_argument("dir", help="dataset folder or prepared cache")
    p.add_argument(
        "--format", default="auto", choices=("auto", "celeba", "celebahq", "custom", "cache")
    )
    p.add_argument("--attrs", nargs="+", default=None, help="attributes to show (default 13)")
    p.add_argument("--hq-labels", default="auto", choices=("auto", "mask", "celeba"))
    p.add_argument("--split-ratios", default=",".join(map(str, DEFAULT_RATIOS)))
    p.add_argument("--no-decode", action="store_true", help="skip decoding every image")
    p.add_argument(
        "--workers", type=int_in(-1, MAX_WORKERS), default=-1, help="decode processes (-1: auto)"
    )


def run(args: argparse.Namespace) -> int:
    attrs = attrs_arg(args.attrs) or list(DEFAULT_ATTRS)
    fmt = args.format
    if fmt == "cache" or (fmt == "auto" and detect_format(args.dir) == "cache"):
        return check_cache(args.dir, attrs)
    src = discover(args.dir, fmt, args.hq_labels, args.split_ratios)
    workers = min(8, cpu_count()) if args.workers < 0 else args.workers
    problems = check_folder(src, attrs, not args.no_decode, workers)
    if problems:
        print(
            f"result: {problems} problem(s); fix them, or `intergan prepare --skip-bad` "
            "to leave those images out"
        )
        return 1
    print("result: ok")
    return 0
