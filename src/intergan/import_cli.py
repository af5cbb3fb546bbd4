"""``intergan import attgan-pytorch RUN``: another project's weights as an exported folder.

The reading and writing live in ``intergan.models.import_attgan``; this module only
reads the command line. The folder written is one every command takes (``edit
--model``, ``demo --serve --model``, ``evaluate``, ``export --onnx``); by default it
goes to the user's model folder (``models.pretrained.models_home``) under the run's
name, so ``--model NAME`` finds it.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from intergan.cli_args import int_in
from intergan.models.import_attgan import default_name, import_attgan_pytorch, parse_set
from intergan.models.pretrained import BUNDLED_HELP, models_home


def add_arguments(p: argparse.ArgumentParser) -> None:
    sub = p.add_subparsers(dest="source", metavar="SOURCE", required=True)
    a = sub.add_parser(
        "attgan-pytorch",
        help="an AttGAN-PyTorch run folder or weights file (github.com/elvisyjlin/AttGAN-PyTorch)",
        description="Import an AttGAN-PyTorch generator (e.g. its released "
        "128_shortcut1_inject0_none or 384_shortcut1_inject1_none_hq) as an exported folder.",
    )
    a.add_argument(
        "run",
        metavar="RUN",
        help="run folder (setting.txt beside checkpoint/weights.N.pth) or a weights.N.pth file",
    )
    a.add_argument(
        "--out",
        help="output folder (default: the user's model folder / the run's name, so that "
        "--model NAME finds it)",
    )
    a.add_argument(
        "--epoch",
        type=int_in(0, 10**9),
        help="the N of checkpoint/weights.N.pth to import (default: the highest)",
    )
    a.add_argument(
        "--setting",
        help="the run's setting.txt, for a weights file that does not sit in its run "
        "folder's checkpoint/",
    )
    a.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a setting.txt value (train.py's names: img_size, shortcut_layers, "
        "inject_layers, enc_dim, enc_norm, attrs=A,B,... , thres_int, data, ...); "
        "replaces the file's, or stands alone with train.py's defaults for the rest",
    )
    a.add_argument(
        "--judge",
        help=f"an attribute classifier (intergan classifier train) to bundle, so editors "
        f"estimate a photo's attributes, {BUNDLED_HELP}",
    )
    a.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --out")


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else models_home() / default_name(args.run)
    import_attgan_pytorch(
        args.run, out, epoch=args.epoch, setting=args.setting, overrides=parse_set(args.set),
        judge=args.judge, overwrite=args.overwrite,
    )  # fmt: skip
    files = sorted(p.name for p in out.iterdir() if not p.name.startswith("."))
    print(f"imported {args.run} -> {out}: {', '.join(files)}")
    model = out.name if not args.out else str(out)
    source = "" if args.judge else " --source-attrs ATTR,... (the photo's attributes)"
    print(f"edit with: intergan edit PHOTO --model {model}{source} --set ATTR=VALUE --out DIR")
    return 0
