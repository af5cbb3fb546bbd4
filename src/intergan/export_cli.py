"""``intergan export``: write a run (or checkpoint, or export) as an exported folder.

The folder's format and the writing live in ``intergan.models.export``; this module
only reads the command line. Each stage (loading, weights, each ONNX graph) is
reported on stderr with its time; the folder's files on stdout at the end. The
folder, model card ``README.md`` included, uploads to the Hugging Face Hub as is
(``hf upload org/name FOLDER``).
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from intergan.cli_args import int_in
from intergan.models.export import ONNX_OPSET, ONNX_OPSETS, export_run
from intergan.models.pretrained import BUNDLED_HELP, is_named, resolve_model


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("run", help=f"run folder, checkpoint file or exported folder, {BUNDLED_HELP}")
    p.add_argument(
        "--out",
        help="output folder (default: RUN/export, or beside the checkpoint; "
        "out/NAME/export for a bundled model or Hub id)",
    )
    p.add_argument(
        "--onnx",
        action="store_true",
        help="also write generator.onnx and its halves "
        "(generator_encode.onnx, generator_edit.onnx)",
    )
    p.add_argument(
        "--judge",
        help=f"judge classifier folder to bundle (judge.json + .safetensors), {BUNDLED_HELP}",
    )
    p.add_argument("--no-ema", action="store_true", help="export the raw weights, not the EMA")
    p.add_argument("--half", action="store_true", help="store the weights as float16 (half size)")
    p.add_argument(
        "--opset",
        type=int_in(*ONNX_OPSETS),
        default=ONNX_OPSET,
        help="ONNX opset (default %(default)s)",
    )
    p.add_argument(
        "--note",
        help="how the model was trained, in words (hardware, time), kept in config.json "
        "next to the steps, data and preset and shown by the demo report",
    )
    p.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --out")
    p.add_argument(
        "--license",
        help="the model card's Hub license id (default: mit for weights trained on SynthFaces "
        "only, else unknown: the weights follow their data's terms)",
    )
    p.add_argument(
        "--dataset",
        action="append",
        default=[],
        metavar="HUB_ID",
        help="a Hub dataset id the model was trained on, for the model card; repeat for several",
    )


def run(args: argparse.Namespace) -> int:
    src = resolve_model(args.run, flag="RUN")
    if args.out:
        out = Path(args.out)
    elif is_named(args.run):  # never into the installed package or the Hub cache
        out = Path("out") / args.run.strip() / "export"
    else:
        out = (src if src.is_dir() else src.parent) / "export"
    export_run(
        src, out, judge=args.judge, onnx=args.onnx, ema=not args.no_ema, opset=args.opset,
        half=args.half, note=args.note, overwrite=args.overwrite,
        card={"license": args.license, "datasets": tuple(args.dataset)},
        log=lambda line: print(line, file=sys.stderr, flush=True),
    )  # fmt: skip
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    print(f"exported {src} -> {out}: {', '.join(files)}")
    return 0
