"""Checks of a run's configuration, done before any work starts.

Each failure is a ``UserError`` naming the config field and its command-line flag.
"""

from __future__ import annotations

import math

import torch

from intergan.config import Config, validate_model
from intergan.errors import UserError
from intergan.losses import MODES

B_DISTRIBUTIONS = ("none", "uniform", "truncated_normal")
AMP_MODES = ("auto", "none", "bf16", "fp16")


def _field(name: str) -> str:
    return f"train.{name} (--{name.replace('_', '-')})"


def _check(ok: bool, name: str, value: object, need: str) -> None:
    if not ok:
        raise UserError(f"{_field(name)} is {value!r}: {need}")


def validate_train(cfg: Config, device: torch.device) -> None:
    """Raise a ``UserError`` for the first option that cannot work on ``device``."""
    validate_model(cfg.model)
    t = cfg.train
    ints_at_least = {
        "batch_size": 1,
        "n_d": 1,
        "log_every": 1,
        "sample_every": 0,
        "sample_count": 1,
        "checkpoint_every": 1,
        "keep_last": 1,
        "rec_warmup": 0,
    }
    for name, low in ints_at_least.items():
        v = getattr(t, name)
        _check(isinstance(v, int) and v >= low, name, v, f"use an integer >= {low}")
    _check(
        isinstance(t.steps, int) and (t.steps >= 1 or t.epochs > 0),
        "steps",
        t.steps,
        "train for at least 1 step (or give --epochs)",
    )
    _check(t.epochs >= 0 and math.isfinite(t.epochs), "epochs", t.epochs, "use a number >= 0")
    _check(t.lr > 0 and math.isfinite(t.lr), "lr", t.lr, "use a positive learning rate")
    for name in ("beta1", "beta2", "ema"):
        v = getattr(t, name)
        _check(0 <= v < 1, name, v, "use a value in [0, 1)")
    _check(0 <= t.lr_decay_at <= 1, "lr_decay_at", t.lr_decay_at, "use a fraction in [0, 1]")
    _check(
        t.lr_decay_step is None or (isinstance(t.lr_decay_step, int) and t.lr_decay_step >= 0),
        "lr_decay_step",
        t.lr_decay_step,
        "use a step >= 0 (or leave it unset: lr_decay_at * steps)",
    )
    for name in ("lambda_adv", "lambda_cls_g", "lambda_rec", "lambda_gp", "lambda_cls_d"):
        v = getattr(t, name)
        _check(v >= 0 and math.isfinite(v), name, v, "use a weight >= 0")
    _check(t.thres_int > 0, "thres_int", t.thres_int, "use a positive label scale")
    _check(t.test_int > 0, "test_int", t.test_int, "use a positive test intensity")
    _check(t.mode in MODES, "mode", t.mode, f"choose one of {', '.join(MODES)}")
    _check(
        t.b_distribution in B_DISTRIBUTIONS,
        "b_distribution",
        t.b_distribution,
        f"choose one of {', '.join(B_DISTRIBUTIONS)}",
    )
    _check(t.amp in AMP_MODES, "amp", t.amp, f"choose one of {', '.join(AMP_MODES)}")
    if t.amp == "fp16" and device.type != "cuda":
        raise UserError(
            f"--amp fp16 needs a CUDA device (this run uses {device}); "
            "use --amp bf16 or --amp auto on a CPU"
        )
    if t.amp == "bf16" and device.type == "mps":
        raise UserError("--amp bf16 is not supported on MPS; use --amp none")
    if t.amp == "bf16" and device.type == "cuda" and not torch.cuda.is_bf16_supported():
        raise UserError("--amp bf16: this GPU has no bfloat16 support; use --amp fp16")
    if cfg.data.num_workers < -1:
        raise UserError(f"data.num_workers (--workers) is {cfg.data.num_workers}: use -1 or >= 0")
