"""``intergan bench ablation``: the paper's ablation table, reproducible by one command.

    intergan bench ablation --data data/synth64 --steps 20000 --preset small --size 64 \\
        --out runs/ablation --time-budget 9     # repeat until it says it is done

The table and picture go to ``OUT/results.md`` and ``OUT/images/ablation.png``;
``--docs docs`` writes them into the project's ``docs/`` instead.
"""

from __future__ import annotations

import argparse
import shlex
import sys

from intergan.bench.ablation import AblationOptions, run_ablation
from intergan.cli_args import (
    MAX_BATCH,
    MAX_IMAGES,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MIN_SIDE,
    float_in,
    int_in,
)
from intergan.config import PRESETS
from intergan.models.pretrained import BUNDLED_HELP


def _ablation_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--data", required=True, help="dataset folder (a SynthFaces export for GT)")
    p.add_argument(
        "--steps", type=int_in(1, MAX_STEPS), required=True, help="generator steps per variant"
    )
    p.add_argument("--variants", default="intergan,no_cti,no_hfcm,attgan", help="comma list")
    p.add_argument("--preset", default="small", choices=PRESETS)
    p.add_argument(
        "--size",
        type=int_in(MIN_SIDE, MAX_SIDE),
        default=None,
        help="image side (default: the preset's)",
    )
    p.add_argument("--attrs", default=None, help="attribute preset or comma list (default 13)")
    p.add_argument(
        "--batch-size",
        type=int_in(1, MAX_BATCH),
        default=None,
        help="default: the training default",
    )
    p.add_argument("--seed", type=int_in(0, MAX_SEED), default=0)
    p.add_argument(
        "--set",
        action="append",
        default=[],
        dest="overrides",
        metavar="SECTION.FIELD=VALUE",
        help="config override for every variant, e.g. --set train.n_d_warmup=2400 (repeatable)",
    )
    p.add_argument(
        "--judge",
        default=None,
        help=f"existing judge folder, {BUNDLED_HELP} (default: OUT/judge)",
    )
    p.add_argument(
        "--judge-steps",
        type=int_in(1, MAX_STEPS),
        default=2000,
        help="steps if the judge is trained",
    )
    p.add_argument(
        "--eval-n",
        type=int_in(1, MAX_IMAGES),
        default=None,
        help="first N test images (default all)",
    )
    p.add_argument("--figure-n", type=int_in(1, 64), default=3, help="input images in the picture")
    p.add_argument("--out", default="runs/ablation", help="folder for runs, judge and reports")
    p.add_argument(
        "--docs",
        default=None,
        help="where results.md and images/ablation.png go (default: --out)",
    )
    p.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    p.add_argument(
        "--time-budget",
        type=float_in(0.0, 7 * 24 * 60),  # a week
        default=None,
        metavar="MINUTES",
        help="checkpoint and stop training after this long; run again to continue",
    )
    p.add_argument("--no-progress", action="store_true", help="no progress bars")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="bench", metavar="BENCHMARK", required=True)
    _ablation_arguments(sub.add_parser("ablation", help="train, evaluate and tabulate variants"))


def run(args: argparse.Namespace) -> int:
    opts = AblationOptions(
        data=args.data,
        steps=args.steps,
        variants=[v.strip() for v in args.variants.split(",") if v.strip()],
        preset=args.preset,
        size=args.size,
        attrs=args.attrs,
        batch_size=args.batch_size,
        seed=args.seed,
        overrides=args.overrides,
        judge=args.judge,
        judge_steps=args.judge_steps,
        eval_n=args.eval_n,
        figure_n=args.figure_n,
        out=args.out,
        docs=args.docs,
        device=args.device,
        time_budget=args.time_budget,
        progress=not args.no_progress,
        command="intergan " + shlex.join(sys.argv[1:]) if sys.argv[1:] else "",
    )
    return 0 if run_ablation(opts) else 3
