"""``intergan evaluate``: run the evaluation protocol on a trained model and write a report.

intergan evaluate --model runs/intergan --data data/synth64 --judge runs/judge64
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path
from typing import Any

from intergan.cli_args import (
    MAX_BATCH,
    MAX_IMAGES,
    MAX_LABEL_SCALE,
    MAX_SEED,
    MIN_LABEL_SCALE,
    float_in,
    int_in,
)
from intergan.errors import UserError
from intergan.evaluation.common import open_dataset, resolve_device
from intergan.evaluation.evaluate import EvalSettings, check_compatible, evaluate_generator
from intergan.evaluation.ground_truth import open_ground_truth
from intergan.evaluation.report import check_report_out, log_tensorboard, markdown, write_report
from intergan.files import check_writable_folder
from intergan.models.export import read_training
from intergan.models.io import CHECKPOINT_DIR
from intergan.models.judge import load_judge
from intergan.models.pretrained import BUNDLED_HELP, is_named, resolve_model


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--model", required=True, help=f"run folder, checkpoint or export, {BUNDLED_HELP}"
    )
    parser.add_argument("--data", required=True, help="dataset folder, SynthFaces export or cache")
    parser.add_argument(
        "--judge",
        required=True,
        help=f"judge folder (intergan classifier train), an export with one, {BUNDLED_HELP}",
    )
    parser.add_argument("--split", default="test", help="train | valid | test | all")
    parser.add_argument(
        "--n", type=int_in(1, MAX_IMAGES), default=None, help="first N images (default: all)"
    )
    parser.add_argument("--batch-size", type=int_in(1, MAX_BATCH), default=32)
    parser.add_argument(
        "--high-accuracy",
        action="store_true",
        help="also push the source entry of the edited attribute to +-test_int",
    )
    parser.add_argument(
        "--test-int",
        type=float_in(MIN_LABEL_SCALE, MAX_LABEL_SCALE),
        default=None,
        help="default: the model's",
    )
    parser.add_argument(
        "--inception-weights",
        default=None,
        help="pytorch-fid's pt_inception-2015-12-05-6726825d.pth for standard FID "
        "(default: Frechet distance in the judge's feature space)",
    )
    parser.add_argument("--no-ema", action="store_true", help="use G, not its EMA copy")
    parser.add_argument(
        "--seed", type=int_in(0, MAX_SEED), default=0, help="seed of the random attribute pairs"
    )
    parser.add_argument(
        "--out",
        default=None,
        help="report folder (default: MODEL/eval_SPLIT, beside a checkpoint file; "
        "out/NAME/eval_SPLIT for a bundled model or Hub id)",
    )
    parser.add_argument(
        "--tensorboard",
        nargs="?",
        const="",
        metavar="RUN",
        help="also log the figures to the TensorBoard of training run RUN (default: the "
        "--model run folder) at the checkpoint's step, beside its training curves",
    )
    parser.add_argument("--device", default="auto", help="auto | cpu | cuda | cuda:N | mps")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def default_out(model: str | os.PathLike, split: str) -> Path:
    """Where the report goes without --out: ``MODEL/eval_SPLIT`` (beside a checkpoint
    file), or ``out/NAME/eval_SPLIT`` for a bundled model or Hub id (never into the package
    or the Hub cache)."""
    if is_named(model):
        return Path("out") / str(model).strip() / f"eval_{split}"
    p = Path(model)
    base = p if p.is_dir() else p.parent
    return base / f"eval_{split}"


def evaluate_path(args: argparse.Namespace) -> dict[str, Any]:
    """Load everything named on the command line (checking it first) and evaluate."""
    from intergan.models.io import load_generator

    device = resolve_device(args.device)
    model = resolve_model(args.model, flag="--model")
    if not os.path.exists(args.data):
        raise UserError(f"--data {args.data}: no such dataset folder or cache")
    if args.inception_weights and not os.path.isfile(args.inception_weights):
        raise UserError(f"--inception-weights {args.inception_weights}: no such file")
    judge = load_judge(args.judge, device)
    G, cfg = load_generator(model, device=device, ema=not args.no_ema)
    check_compatible(cfg, judge, model_name=f"--model {args.model}")
    inception = None
    if args.inception_weights:
        from intergan.evaluation.inception import load_fid_inception

        inception = load_fid_inception(args.inception_weights, device)
    m = cfg.model
    dataset = open_dataset(args.data, m.attrs, args.split, m.img_size)
    n = len(dataset) if args.n is None else min(args.n, len(dataset))
    gt, note = open_ground_truth(args.data, args.split, m.attrs, m.img_size, dataset)
    settings = EvalSettings(
        n=args.n,
        batch_size=args.batch_size,
        high_accuracy=args.high_accuracy,
        test_int=args.test_int,
        seed=args.seed,
        progress=not args.no_progress,
    )
    result = evaluate_generator(G, cfg, dataset, judge, settings, device, gt, inception)
    result["source"] = {
        "model": str(args.model),
        "variant": m.variant,
        "preset": m.preset,
        "img_size": m.img_size,
        "data": str(args.data),
        "split": args.split,
        "judge": str(args.judge),
        "inception_weights": args.inception_weights,
        "ground_truth_note": note,
        "n_requested": n,
        # the checkpoint's step: `intergan export` puts these figures on the model card
        "steps": (read_training(model, cfg) or {}).get("steps"),
    }
    return result


def tensorboard_run(args: argparse.Namespace) -> Path | None:
    """The run folder ``--tensorboard`` names (its own value, else ``--model``'s run
    folder); None without the flag. Checked before the evaluation starts."""
    if args.tensorboard is None:
        return None
    if args.tensorboard:
        run = Path(args.tensorboard)
    else:
        model = Path(args.model)
        run = model if model.is_dir() else model.parent
        run = run.parent if run.name == CHECKPOINT_DIR else run
        if is_named(args.model) or not (run / CHECKPOINT_DIR).is_dir():
            raise UserError(
                f"--tensorboard: --model {args.model} is not in a training run folder; "
                "name the run: --tensorboard RUN"
            )
    if not run.is_dir():
        raise UserError(f"--tensorboard {run}: no such run folder")
    check_writable_folder(run)
    return run


def run(args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else default_out(args.model, args.split)
    check_writable_folder(out)  # before the long evaluation, not after it
    check_report_out(out)
    tb_run = tensorboard_run(args)
    result = evaluate_path(args)
    json_path, md_path = write_report(result, out)
    print(markdown(result))
    print(f"wrote {json_path} and {md_path}")
    if tb_run is not None:
        folder = log_tensorboard(result, tb_run)
        print(
            f"logged the figures to {folder}"
            if folder
            else "TensorBoard logging is off: pip install 'intergan[tensorboard]'"
        )
    return 0
