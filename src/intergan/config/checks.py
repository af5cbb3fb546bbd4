"""The checks of a config: the allowed values of its fields and the checks that use
them. Each failure is a ``UserError`` naming the config field (and, for training,
its flag) and what to use instead.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

from intergan.attributes import resolve_attrs
from intergan.cli_args import (
    MAX_BATCH,
    MAX_LABEL_SCALE,
    MAX_LR,
    MAX_SEED,
    MAX_STEPS,
    MAX_WORKERS,
    MIN_LABEL_SCALE,
    MIN_LR,
)
from intergan.config.overrides import train_field
from intergan.errors import UserError

if TYPE_CHECKING:
    import torch

    from intergan.config.schema import Config, ModelConfig

VARIANTS = ("intergan", "no_hfcm", "no_cti", "attgan")
NORMS = ("instance", "batch", "none")
PRESETS = ("tiny", "small", "base")
MODES = ("wgan", "lsgan", "dcgan")  # adversarial losses (intergan.losses)
B_DISTRIBUTIONS = ("none", "uniform", "truncated_normal")  # target jitter
AMP_MODES = ("auto", "none", "bf16", "fp16")  # mixed precision (--amp)
CTI_INITS = ("default", "identity")


def validate_model(cfg: ModelConfig) -> None:
    """Raise a ``UserError`` naming the field if the architecture cannot be built."""
    if cfg.variant not in VARIANTS:
        raise UserError(f"model.variant {cfg.variant!r} is not one of {', '.join(VARIANTS)}")
    if cfg.preset not in PRESETS:
        raise UserError(f"model.preset {cfg.preset!r} is not one of {', '.join(PRESETS)}")
    s = cfg.img_size
    if not (isinstance(s, int) and 32 <= s <= 512 and s & (s - 1) == 0):
        raise UserError(f"model.img_size {s!r} is not supported: use a power of two from 32 to 512")
    if not (isinstance(cfg.n_down, int) and 1 <= cfg.n_down <= 16):
        raise UserError(f"model.n_down {cfg.n_down!r} is not supported: use 1 to 16 blocks")
    if cfg.variant == "attgan" and s // 2**cfg.n_down < 2:
        raise UserError(f"model.n_down {cfg.n_down} leaves less than 2x2 pixels at {s} px")
    b = cfg.bottleneck
    if not (isinstance(b, int) and b >= 0 and (b == 0 or (b & (b - 1) == 0 and 2 <= b <= s))):
        raise UserError(
            f"model.bottleneck {b!r} must be 0 (per-size default) or a power of two from 2 to {s}"
        )
    if cfg.variant != "attgan":
        h = cfg.halvings
        if cfg.n_down < h:
            raise UserError(
                f"model.n_down {cfg.n_down} cannot reach a {cfg.bottleneck_size}x"
                f"{cfg.bottleneck_size} bottleneck from {s} px: use n_down >= {h}"
            )
        if cfg.variant in ("intergan", "no_cti") and (cfg.n_down < 3 or h < 2):
            raise UserError(
                f"model.n_down {cfg.n_down} / bottleneck {cfg.bottleneck_size}: HFCM needs "
                "RB1 and RB2 to halve and an RB3 to inject after (n_down >= 3, "
                f"bottleneck <= {s // 4})"
            )
    if not 0 <= cfg.cti_start < cfg.n_down:
        raise UserError(f"model.cti_start must be between 0 and n_down - 1 ({cfg.n_down - 1})")
    if not 0 <= cfg.n_cti <= cfg.n_down - cfg.cti_start:
        raise UserError(
            f"model.n_cti must be between 0 and n_down - cti_start ({cfg.n_down - cfg.cti_start})"
        )
    for name in ("enc_dim", "max_dim", "hfcm_dim", "style_dim", "dis_dim", "dis_fc_dim"):
        if not 1 <= getattr(cfg, name) <= 4096:
            raise UserError(f"model.{name} must be a channel count from 1 to 4096")
    for name in ("norm", "head_norm", "lt_norm", "dis_norm", "attgan_norm"):
        if getattr(cfg, name) not in NORMS:
            raise UserError(f"model.{name} {getattr(cfg, name)!r} is not one of {', '.join(NORMS)}")
    if cfg.cti_init not in CTI_INITS:
        raise UserError(f"model.cti_init {cfg.cti_init!r} is not one of {', '.join(CTI_INITS)}")
    if not 0 <= cfg.dis_layers or s // 2**cfg.dis_layers < 1:
        raise UserError(f"model.dis_layers {cfg.dis_layers} does not fit {s} px (0 = automatic)")
    for name in ("attgan_shortcut_layers", "attgan_inject_layers"):
        if not 0 <= getattr(cfg, name) < cfg.n_down:
            raise UserError(f"model.{name} must be between 0 and n_down - 1 ({cfg.n_down - 1})")
    resolve_attrs(cfg.attrs)


def _check(ok: bool, name: str, value: object, need: str) -> None:
    if not ok:
        raise UserError(f"{train_field(name)} is {value!r}: {need}")


def validate_train(cfg: Config, device: str | torch.device) -> None:
    """Raise a ``UserError`` for the first option that cannot work on ``device``."""
    validate_model(cfg.model)
    t = cfg.train
    ints_in = {  # the ranges of the matching `intergan train` flags (intergan.cli_args)
        "batch_size": (1, MAX_BATCH),
        "n_d": (1, 100),
        "log_every": (1, MAX_STEPS),
        "sample_every": (0, MAX_STEPS),
        "sample_count": (1, 256),
        "checkpoint_every": (1, MAX_STEPS),
        "keep_last": (1, 10**4),
        "rec_warmup": (0, MAX_STEPS),
        "n_d_warmup": (0, MAX_STEPS),
        "seed": (0, MAX_SEED),
    }
    for name, (low, high) in ints_in.items():
        v = getattr(t, name)
        ok = isinstance(v, int) and low <= v <= high
        _check(ok, name, v, f"use an integer from {low} to {high}")
    _check(
        isinstance(t.steps, int) and t.steps <= MAX_STEPS and (t.steps >= 1 or t.epochs > 0),
        "steps",
        t.steps,
        f"train for 1 to {MAX_STEPS} steps (or give --epochs)",
    )
    _check(0 <= t.epochs <= 10**5, "epochs", t.epochs, "use a number from 0 to 100000")
    _check(MIN_LR <= t.lr <= MAX_LR, "lr", t.lr, f"use a learning rate from {MIN_LR} to {MAX_LR}")
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
    for name in ("lambda_adv", "lambda_cls_g", "lambda_rec", "lambda_keep", "lambda_gp",
                 "lambda_cls_d"):  # fmt: skip
        v = getattr(t, name)
        _check(v >= 0 and math.isfinite(v), name, v, "use a weight >= 0")
    lo, hi = MIN_LABEL_SCALE, MAX_LABEL_SCALE
    _check(lo <= t.thres_int <= 1, "thres_int", t.thres_int, f"use a label scale from {lo} to 1")
    _check(lo <= t.test_int <= hi, "test_int", t.test_int, f"use an intensity from {lo} to {hi}")
    _check(t.mode in MODES, "mode", t.mode, f"choose one of {', '.join(MODES)}")
    _check(
        t.b_distribution in B_DISTRIBUTIONS,
        "b_distribution",
        t.b_distribution,
        f"choose one of {', '.join(B_DISTRIBUTIONS)}",
    )
    _check(t.amp in AMP_MODES, "amp", t.amp, f"choose one of {', '.join(AMP_MODES)}")
    kind = str(device).split(":")[0]  # "cuda:1" -> "cuda"; torch.device or its name
    if t.amp == "fp16" and kind != "cuda":
        raise UserError(
            f"--amp fp16 needs a CUDA device (this run uses {device}); "
            "use --amp bf16 or --amp auto on a CPU"
        )
    if t.amp == "bf16" and kind == "mps":
        raise UserError("--amp bf16 is not supported on MPS; use --amp none")
    if t.amp == "bf16" and kind == "cuda":
        import torch  # only for a CUDA run, which has loaded it already

        if not torch.cuda.is_bf16_supported():
            raise UserError("--amp bf16: this GPU has no bfloat16 support; use --amp fp16")
    if not -1 <= cfg.data.num_workers <= MAX_WORKERS:
        raise UserError(
            f"data.num_workers (--workers) is {cfg.data.num_workers}: use -1 (choose) or "
            f"0 to {MAX_WORKERS}"
        )
    b = cfg.data.balance
    if not (isinstance(b, (int, float)) and 0 <= b < 0.5):
        raise UserError(
            f"data.balance (--balance) is {b!r}: use a share in [0, 0.5), e.g. 0.2 "
            "(0 turns balanced sampling off)"
        )
