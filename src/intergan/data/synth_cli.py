"""``intergan synth``: write a SynthFaces dataset (CelebA layout) and its preview grid."""

from __future__ import annotations

import argparse
import time

from intergan.attributes import ATTR_PRESETS, check_attr_name
from intergan.cli_args import MAX_IMAGES, MAX_SEED, MAX_WORKERS, int_in
from intergan.data.synthfaces.export import load_records, write_dataset
from intergan.data.synthfaces.identity import ATTRS
from intergan.data.synthfaces.preview import write_preview
from intergan.errors import UserError


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, help="output folder (CelebA layout)")
    p.add_argument(
        "--n", type=int_in(1, MAX_IMAGES), default=1000, help="number of images (default 1000)"
    )
    p.add_argument(
        "--size", type=int_in(16, 1024), default=64, help="image size in pixels (default 64)"
    )
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0, help="dataset seed (default 0)")
    p.add_argument("--balanced", action="store_true", help="~50%% per attribute, not CelebA-like")
    p.add_argument(
        "--attrs", nargs="+", default=None, metavar="NAME",
        help="attributes that vary (names or commas; default all 13); the others are "
        "fixed at 'absent' (0; No_Beard=1, Young=1) unless a conflict rule forces them",
    )  # fmt: skip
    p.add_argument("--split", default="0.9,0.05,0.05", help="train,valid,test fractions")
    p.add_argument("--overwrite", action="store_true", help="replace a non-empty --out")
    p.add_argument(
        "--workers",
        type=int_in(1, MAX_WORKERS),
        default=None,
        help="render processes (default: CPUs)",
    )
    p.add_argument("--preview", default=None, metavar="FILE.png", help="also write a grid")
    p.add_argument(
        "--preview-rows", type=int_in(1, 64), default=6, help="identities in the preview"
    )
    p.add_argument(
        "--preview-size", type=int_in(16, 512), default=64, help="preview cell size in px"
    )


def parse_attrs(values: list[str] | None) -> list[str] | None:
    """``--attrs`` -> attribute names among the 13 (a preset name also works)."""
    if values is None:
        return None
    names = [s.strip() for v in values for s in v.split(",") if s.strip()]
    if len(names) == 1 and names[0] in ATTR_PRESETS:
        names = [a for a in ATTR_PRESETS[names[0]] if a in ATTRS]
    for name in names:
        check_attr_name(name, ATTRS)
    if not names:
        raise UserError("--attrs is empty; name at least one attribute")
    return list(dict.fromkeys(names))


def _split(text: str) -> list[float]:
    try:
        return [float(s) for s in text.split(",")]
    except ValueError as e:
        raise UserError(f"--split must be three fractions like 0.9,0.05,0.05, got {text!r}") from e


def run(args: argparse.Namespace) -> int:
    vary = parse_attrs(args.attrs)
    if args.n < 1:
        raise UserError(f"--n must be a positive number of images, got {args.n}")
    if args.preview is not None and not args.preview.lower().endswith(".png"):
        raise UserError(f"--preview must name a .png file, got {args.preview}")
    if args.preview_rows < 1 or args.preview_size < 16:
        raise UserError("--preview-rows must be >= 1 and --preview-size >= 16")
    t0 = time.perf_counter()
    out = write_dataset(
        args.out, args.n, args.size, args.seed, args.balanced, vary, _split(args.split),
        overwrite=args.overwrite, workers=args.workers, progress=True,
    )  # fmt: skip
    secs = time.perf_counter() - t0
    print(f"wrote {args.n} images of {args.size} px to {out} in {secs:.1f} s")
    if args.preview:
        rows = load_records(out)[: args.preview_rows]
        path = write_preview(args.preview, rows, args.preview_size, vary or ATTRS)
        print(f"preview: {path}")
    return 0
