"""``intergan train``: resolve the run's config from defaults, a config file or the
checkpoint being resumed, then flags; validate everything; train.

Precedence: defaults (preset ``small``) < ``--config run.json`` or, when resuming,
the checkpoint's config < explicit flags < ``--set section.field=value``. When
resuming, only flags you pass change anything; an architecture flag that differs
from the checkpoint is an error naming the field. Each value's source is kept, and
``--dry-run`` prints the planned config with them (``describe_config``) and stops
before anything is written.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import shlex
import sys
from pathlib import Path
from typing import Any

from intergan.attributes import resolve_attrs
from intergan.cli_args import (
    MAX_BATCH,
    MAX_EMA,
    MAX_LABEL_SCALE,
    MAX_LR,
    MAX_SEED,
    MAX_SIDE,
    MAX_STEPS,
    MAX_WORKERS,
    MIN_LABEL_SCALE,
    MIN_LR,
    MIN_SIDE,
    float_in,
    int_in,
)
from intergan.config import (
    AMP_MODES,
    B_DISTRIBUTIONS,
    MODEL_PRESETS,
    MODES,
    PRESET_SIZES,
    PRESETS,
    TRAIN_FLAGS,
    VARIANTS,
    Config,
    apply_overrides,
    model_config,
    validate_model,
)
from intergan.errors import UserError
from intergan.files import check_writable_folder, guard


def add_arguments(p: argparse.ArgumentParser) -> None:
    _data_and_model(p.add_argument_group("data and model"))
    _run(p.add_argument_group("run"))
    _optimisation(p.add_argument_group("optimisation"))
    _device(p.add_argument_group("device and speed"))
    p.add_argument(
        "--set",
        action="append",
        default=[],
        metavar="SECTION.FIELD=VALUE",
        help="override any config field, e.g. --set train.lambda_rec=50",
    )


def _data_and_model(g: argparse._ArgumentGroup) -> None:
    g.add_argument(
        "--data",
        metavar="DIR",
        help="dataset folder (CelebA, CelebA-HQ, custom, SynthFaces export) or prepared cache",
    )
    g.add_argument("--format", help="dataset format: auto|celeba|celebahq|custom|cache")
    g.add_argument(
        "--workers", type=int_in(-1, MAX_WORKERS), help="data loader processes (-1 = choose)"
    )
    g.add_argument("--no-flip", action="store_true", help="no random horizontal flips")
    g.add_argument(
        "--balance",
        type=float_in(0.0, 0.49),
        nargs="?",
        const=0.2,
        metavar="FLOOR",
        help="attribute-balanced sampling: draw images with weights such that every "
        "attribute is on (and off) for at least FLOOR of them (default 0.2; rare ones "
        "like Bald are seen far more often)",
    )
    g.add_argument(
        "--skip-bad",
        action="store_true",
        help="train past images that cannot be decoded (each is reported and replaced by "
        "the next readable one) and labelled-but-missing files",
    )
    g.add_argument("--preset", choices=PRESETS, help="width/depth family (default small)")
    g.add_argument(
        "--size",
        type=int_in(MIN_SIDE, MAX_SIDE),
        help="image side in pixels (default: the preset's)",
    )
    g.add_argument("--variant", choices=VARIANTS, help="generator variant (default intergan)")
    g.add_argument("--attrs", help="attributes: default|paper11|all40 or Name,Name,...")


def _run(r: argparse._ArgumentGroup) -> None:
    r.add_argument("--out", required=True, metavar="RUN", help="run folder (runs/NAME)")
    r.add_argument("--resume", metavar="latest|PATH", help="continue from a checkpoint")
    r.add_argument(
        "--config", metavar="JSON", help="start from this config (e.g. a run's config.json)"
    )
    length = r.add_mutually_exclusive_group()
    length.add_argument(
        "--steps", type=int_in(1, MAX_STEPS), help="generator steps (default 10000)"
    )
    length.add_argument(
        "--epochs", type=float_in(0.001, 10**5), help="passes over the data instead of --steps"
    )
    for name, lo, hi, help_text in (
        ("checkpoint_every", 1, MAX_STEPS, "steps between checkpoints (default 1000)"),
        ("keep_last", 1, 10**4, "checkpoints kept (default 3)"),
        ("sample_every", 0, MAX_STEPS, "steps between sample grids (default 500; 0: at the end)"),
        ("sample_count", 1, 256, "validation images in each grid (default 8)"),
        ("log_every", 1, MAX_STEPS, "steps between log records (default 10)"),
    ):
        r.add_argument(
            "--" + name.replace("_", "-"), type=int_in(lo, hi), dest=name, metavar="N",
            help=help_text,
        )  # fmt: skip
    r.add_argument("--no-progress", action="store_true", help="no progress bar")
    r.add_argument(
        "--dry-run",
        action="store_true",
        help="print the resolved configuration (each value and where it came from: "
        "default, preset, flag, --set, checkpoint, or planned) and exit without writing",
    )


def _optimisation(o: argparse._ArgumentGroup) -> None:
    o.add_argument("--batch-size", type=int_in(1, MAX_BATCH), help="per process (default 32)")
    o.add_argument("--lr", type=float_in(MIN_LR, MAX_LR), help="Adam learning rate (default 2e-4)")
    o.add_argument("--n-d", type=int_in(1, 100), help="D steps per G step (default 4)")
    o.add_argument(
        "--lr-decay-at",
        type=float_in(0.0, 1.0),
        help="fraction of steps where lr /= 10 (default 0.5; fixed as a step when the run "
        "starts, so a resume with a longer --steps keeps it)",
    )
    o.add_argument(
        "--rec-warmup",
        type=int_in(0, MAX_STEPS),
        metavar="N",
        help="first N steps: reconstruction loss only",
    )
    o.add_argument(
        "--n-d-warmup",
        type=int_in(0, MAX_STEPS),
        metavar="N",
        help="first N steps: one D step each, then --n-d (default 0)",
    )
    o.add_argument("--mode", choices=MODES, help="adversarial loss (default wgan)")
    o.add_argument("--b-distribution", choices=B_DISTRIBUTIONS, help="target jitter")
    o.add_argument(
        "--thres-int", type=float_in(MIN_LABEL_SCALE, 1.0), help="label scale (default 0.5)"
    )
    o.add_argument(
        "--test-int",
        type=float_in(MIN_LABEL_SCALE, MAX_LABEL_SCALE),
        help="sample-grid edit strength (default 1.0)",
    )
    o.add_argument(
        "--ema",
        type=float_in(0.0, MAX_EMA),
        nargs="?",
        const=0.999,
        metavar="DECAY",
        help="decay of the EMA of G's weights (default 0.999, ramped; 0 turns it off)",
    )
    o.add_argument("--seed", type=int_in(0, MAX_SEED))


def _device(d: argparse._ArgumentGroup) -> None:
    d.add_argument("--device", help="auto|cpu|cuda|cuda:N|mps (default auto)")
    d.add_argument(
        "--amp",
        choices=AMP_MODES,
        help="mixed precision: auto (default: bf16 on CPUs with AMX/AVX-512-BF16, "
        "else float32) | none | bf16 | fp16 (CUDA)",
    )
    d.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="NHWC memory format (default: on with bf16 on a CPU, else off)",
    )
    d.add_argument("--compile", action="store_true", default=None, help="torch.compile G, D")
    d.add_argument(
        "--deterministic",
        action="store_true",
        default=None,
        help="deterministic algorithms (bit-exact GPU resume; slower)",
    )


def _model_changes(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """The model fields the flags set: ``{field: (value, flag)}``."""
    changes: dict[str, tuple[Any, str]] = {}
    if args.preset:
        preset = f"--preset {args.preset}"
        changes.update({k: (v, preset) for k, v in MODEL_PRESETS[args.preset].items()})
        changes["preset"] = (args.preset, preset)
        changes["img_size"] = (PRESET_SIZES[args.preset], preset)
    if args.size is not None:
        changes["img_size"] = (args.size, "--size")
    if args.variant:
        changes["variant"] = (args.variant, "--variant")
    if args.attrs:
        changes["attrs"] = (resolve_attrs(args.attrs), "--attrs")
    return changes


def _flag_values(args: argparse.Namespace) -> dict[str, tuple[Any, str]]:
    """The train and data fields the other flags set: ``{section.field: (value, flag)}``."""
    out: dict[str, tuple[Any, str]] = {}
    for name in TRAIN_FLAGS:
        if getattr(args, name) is not None:
            out["train." + name] = (getattr(args, name), "--" + name.replace("_", "-"))
    if args.steps is not None:
        out["train.epochs"] = (0.0, "--steps")
    for name, value in (("ema", args.ema), ("channels_last", args.channels_last)):
        if value is not None:
            out["train." + name] = (value, "--" + name.replace("_", "-"))
    for name in ("compile", "deterministic"):
        if getattr(args, name):
            out["train." + name] = (True, "--" + name)
    given = {
        "path": (str(Path(args.data)) if args.data else None, "--data"),
        "format": (args.format, "--format"),
        "num_workers": (args.workers, "--workers"),
        "flip": (False if args.no_flip else None, "--no-flip"),
        "balance": (args.balance, "--balance"),
    }
    out |= {"data." + k: v for k, v in given.items() if v[0] is not None}
    return out


def resolve_config(
    args: argparse.Namespace, base: Config | None, sources: dict[str, str] | None = None
) -> Config:
    """The run's config: ``base`` (checkpoint/config file) or defaults, then flags, then
    ``--set``. ``sources``: filled with where each ``section.field`` came from."""
    cfg = base if base is not None else Config(model=model_config("small"))
    origin = "default"
    if base is not None:
        origin = "the checkpoint" if args.resume and not args.config else f"--config {args.config}"
    src = {f"{sec}.{k}": origin for sec, values in cfg.to_dict().items() for k in values}
    if base is None:
        for k in (*MODEL_PRESETS["small"], "preset", "img_size"):
            src["model." + k] = "default (preset small)"
    changes = _model_changes(args)
    if changes.get("img_size", (cfg.model.img_size,))[0] != cfg.model.img_size:
        # a saved side was for the saved size: take the new one's
        changes["bottleneck"] = (0, changes["img_size"][1] + " (its default side)")
    cfg.model = dataclasses.replace(cfg.model, **{k: v for k, (v, _) in changes.items()})
    src |= {"model." + k: flag for k, (_, flag) in changes.items()}
    for key, (value, flag) in _flag_values(args).items():
        section, name = key.split(".")
        setattr(getattr(cfg, section), name, value)
        src[key] = flag
    apply_overrides(cfg, args.set)
    src |= {item.partition("=")[0]: "--set" for item in args.set}
    validate_model(cfg.model)
    if sources is not None:
        sources |= src
    return cfg


def _load_base(args: argparse.Namespace) -> tuple[Config | None, Path | None, dict | None]:
    from intergan.models import io

    if args.resume:
        where = args.out if args.resume == "latest" else args.resume
        if args.resume == "latest" and not io.list_checkpoints(Path(where) / io.CHECKPOINT_DIR):
            raise UserError(
                f"--resume latest: {where} holds no checkpoint to resume; drop "
                "--resume to start a new run there"
            )
        path = io.find_checkpoint(where)
        ckpt = io.load_checkpoint(path)
        base = (
            Config.load(args.config, saved=True)
            if args.config
            else Config.from_dict(ckpt["config"], saved=True)
        )
        return base, path, ckpt
    return (Config.load(args.config) if args.config else None), None, None


def run(args: argparse.Namespace) -> int:
    from intergan.training.loop import run_plan

    if not args.dry_run:  # a folder it cannot write is said before any work
        check_writable_folder(args.out)
    plan, cfg, sources, data = plan_from_args(args)
    if args.dry_run:
        print(describe_config(plan.config, cfg, sources, plan.precision_why, plan.framing_why))
        return 0
    with guard(args.out, "write in the run folder", exact=False):
        result = run_plan(
            plan,
            sample_data=data.get("sample_data"),
            progress=not args.no_progress,
            command=shlex.join(["intergan", *getattr(args, "argv", sys.argv[1:])]),
        )
    return 0 if not result.stopped else 130


def plan_from_args(args: argparse.Namespace, dataset: Any = None):
    """``(plan, config as asked, sources, data)``: the run these arguments ask for,
    decided by ``plan_run``; nothing is written. ``dataset``: train on it instead of
    the data path (tests)."""
    from intergan.training.loop import plan_run

    base, path, ckpt = _load_base(args)
    sources: dict[str, str] = {}
    cfg = resolve_config(args, base, sources)
    if dataset is not None:
        data = {"dataset": dataset}
    elif not cfg.data.path:
        raise UserError(
            "--data is required: a dataset folder (CelebA layout, e.g. a "
            "SynthFaces export) or a prepared cache"
        )
    elif not Path(cfg.data.path).exists():
        raise UserError(f"--data {cfg.data.path} does not exist")
    else:
        data = _skip_bad_data(cfg) if args.skip_bad else {}
    asked = {k for k, v in sources.items() if v.startswith("--") and not v.startswith("--config")}
    plan = plan_run(
        cfg, args.out, resume=path, checkpoint=ckpt, dataset=data.get("dataset"), asked=asked
    )
    return plan, cfg, sources, data


def describe_config(
    planned: Config, asked: Config, sources: dict[str, str], why: str, framing_why: str = ""
) -> str:
    """``--dry-run``'s listing: every field of the planned config, one a line, with
    where its value came from (a value the plan derived says so, and from what;
    ``data.framing`` read from the data's record says that, ``framing_why``)."""
    before = {f"{s}.{k}": v for s, values in asked.to_dict().items() for k, v in values.items()}
    lines = []
    for section, values in planned.to_dict().items():
        for name, value in values.items():
            key = f"{section}.{name}"
            origin = sources.get(key, "default")
            if before.get(key) != value:
                origin = f"planned from {json.dumps(before.get(key))}" + (
                    f" ({why})" if name in ("amp", "channels_last") else ""
                )
            if key == "data.framing" and framing_why:
                origin = framing_why
            lines.append(f"{key:<28} {json.dumps(value):<24} # {origin}")
    return "\n".join(lines)


def _skip_bad_data(cfg: Config) -> dict[str, Any]:
    """``--skip-bad``: the training (and sample-grid) data, past bad and missing files."""
    from intergan.data import build_dataset

    m, d = cfg.model, cfg.data
    kw = {"format": d.format, "hq_labels": d.hq_labels, "skip_bad": True}
    data = {"dataset": build_dataset(d.path, m.attrs, "train", m.img_size, **kw)}
    try:
        data["sample_data"] = build_dataset(d.path, m.attrs, "valid", m.img_size, **kw)
    except UserError:  # no validation split: the grid uses training images
        pass
    return data
