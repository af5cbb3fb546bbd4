"""``intergan classifier train|eval``: the judge classifier from the command line.

intergan classifier train --data DIR --size 64 --steps 2000 --out runs/judge64
intergan classifier eval --judge runs/judge64 --data DIR --split test
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

from intergan.attributes import resolve_attrs
from intergan.cli_args import (
    MAX_BATCH,
    MAX_LR,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MAX_WORKERS,
    MIN_LR,
    float_in,
    int_in,
)
from intergan.config import PRESET_SIZES
from intergan.data.sources import recorded_framing
from intergan.errors import UserError
from intergan.evaluation.common import open_dataset, resolve_device
from intergan.evaluation.judge import accuracy_table, evaluate_judge, train_judge
from intergan.files import check_not_an_input, check_output_folder, output_folder
from intergan.models.judge import JudgeArch, load_judge
from intergan.models.pretrained import BUNDLED_HELP


def add_arguments(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    t = sub.add_parser("train", help="train a judge on the training split, then test it")
    t.add_argument("--data", required=True, help="dataset folder, SynthFaces export or cache")
    t.add_argument(
        "--size", type=int_in(16, MAX_SIDE), default=PRESET_SIZES["small"], help="image side (px)"
    )
    t.add_argument("--attrs", default=None, help="preset name or comma list (default: the 13)")
    t.add_argument("--steps", type=int_in(1, MAX_STEPS), default=2000, help="optimiser steps")
    t.add_argument("--batch-size", type=int_in(1, MAX_BATCH), default=32)
    t.add_argument(
        "--lr", type=float_in(MIN_LR, MAX_LR), default=1e-3, help="peak learning rate (AdamW)"
    )
    t.add_argument("--width", type=int_in(1, 1024), default=JudgeArch.width, help="stem channels")
    t.add_argument("--seed", type=int_in(0, MAX_SEED), default=0)
    t.add_argument("--eval-split", default="test", help="split tested after training ('' = none)")
    t.add_argument(
        "--workers", type=int_in(0, MAX_WORKERS), default=0, help="data loader processes"
    )
    t.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    t.add_argument("--out", required=True, help="folder for judge.safetensors + judge.json")
    t.add_argument("--overwrite", action="store_true", help="replace an existing non-empty --out")
    e = sub.add_parser("eval", help="per-attribute and mean accuracy of a judge")
    e.add_argument(
        "--judge", required=True, help=f"judge folder, an export with one, {BUNDLED_HELP}"
    )
    e.add_argument("--data", required=True, help="dataset folder, SynthFaces export or cache")
    e.add_argument("--split", default="test", help="train | valid | test | all")
    e.add_argument("--batch-size", type=int_in(1, MAX_BATCH), default=256)
    e.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")


def _train(args: argparse.Namespace) -> int:
    attrs = resolve_attrs(args.attrs)
    if args.size < 16:
        raise UserError(f"--size {args.size} is too small for the judge; use 16 px or more")
    if args.width < 1 or args.batch_size < 1:
        raise UserError("--width and --batch-size must be positive")
    check_not_an_input(args.out, {"--data": args.data})
    check_output_folder(args.out, args.overwrite)  # now, not after training
    device = resolve_device(args.device)
    train_set = open_dataset(args.data, attrs, "train", args.size, flip=True)
    start = time.time()
    judge = train_judge(
        train_set,
        attrs,
        args.size,
        steps=args.steps,
        batch_size=args.batch_size,
        lr=args.lr,
        arch=JudgeArch(width=args.width),
        seed=args.seed,
        device=device,
        num_workers=args.workers,
    )
    judge.info["train"].update(
        data=str(args.data), n_train=len(train_set), seconds=round(time.time() - start, 1)
    )
    judge.info["train"]["device"] = str(device)
    framing = recorded_framing(args.data) if Path(args.data).is_dir() else None
    if framing:  # where the faces sit: faces_labels.judge_framing cuts faces so
        judge.info["train"]["framing"] = framing[0]
    if args.eval_split:
        result = evaluate_judge(judge, open_dataset(args.data, attrs, args.eval_split, args.size))
        judge.info["accuracy"] = {"split": args.eval_split, **result}
        print(f"{args.eval_split} split, {result['n']} images:\n{accuracy_table(result)}")
    with output_folder(args.out, args.overwrite) as tmp:  # swapped in whole, at the end
        judge.save(tmp)
    print(f"saved judge to {args.out}")
    return 0


def _eval(args: argparse.Namespace) -> int:
    judge = load_judge(args.judge, resolve_device(args.device))
    dataset = open_dataset(args.data, judge.attrs, args.split, judge.img_size)
    result = evaluate_judge(judge, dataset, batch_size=args.batch_size, progress=True)
    print(f"{args.split} split, {result['n']} images:\n{accuracy_table(result)}")
    return 0


def run(args: argparse.Namespace) -> int:
    return _train(args) if args.action == "train" else _eval(args)
