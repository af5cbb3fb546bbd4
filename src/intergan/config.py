"""The one typed, nested configuration of a run, its allowed values and their checks.

Defaults live here once; the CLI only overrides them. A resolved ``Config`` is
written as JSON next to every run and inside every checkpoint (plain data).
Decisions the paper does not state are marked ``[chosen]`` in the field comments.
The allowed values (``VARIANTS``, ``MODES``, ``AMP_MODES``, ...) and the checks
that use them (``validate_model``, ``validate_train``) live here too: each failure
is a ``UserError`` naming the config field (and, for training, its flag).
"""

from __future__ import annotations

import dataclasses
import math
import os
import typing
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from intergan.attributes import DEFAULT_ATTRS, resolve_attrs
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
from intergan.errors import UserError
from intergan.files import read_json_object, write_json

if TYPE_CHECKING:
    import torch

VARIANTS = ("intergan", "no_hfcm", "no_cti", "attgan")
NORMS = ("instance", "batch", "none")
PRESETS = ("tiny", "small", "base")
MODES = ("wgan", "lsgan", "dcgan")  # adversarial losses (intergan.losses)
B_DISTRIBUTIONS = ("none", "uniform", "truncated_normal")  # target jitter
AMP_MODES = ("auto", "none", "bf16", "fp16")  # mixed precision (--amp)


@dataclass
class ModelConfig:
    """Architecture of G and D. Changing any field changes the weights' shapes."""

    variant: str = "intergan"  # intergan | no_hfcm | no_cti | attgan (docs/design.md 2.4)
    preset: str = "small"  # tiny | small | base: the MODEL_PRESETS family the widths came from
    img_size: int = 64  # square input/output side; a power of two in [32, 512]
    attrs: list[str] = field(default_factory=lambda: list(DEFAULT_ATTRS))  # edited attributes
    enc_dim: int = 32  # channels of the first 3x3 conv; doubled by each down-sampling block
    max_dim: int = 512  # cap on any feature map's channels (G and D)
    n_down: int = 4  # encoder residual blocks RB1..RBn (AttGAN: its conv layers)
    # Side of the bottleneck Z_s in pixels [chosen, by measurement: docs/recipe.md]. The
    # first log2(img_size / bottleneck) encoder blocks halve the resolution and the rest
    # keep it; 0 means the per-size default (BOTTLENECK_BY_SIZE), and a saved config
    # records the side it resolved to. AttGAN ignores it: its side is img_size / 2**n_down.
    bottleneck: int = 0
    norm: str = "instance"  # [chosen] G's residual and HFCM blocks: instance | batch | none
    head_norm: str = "none"  # [chosen, measured] norm in the output head (was `norm`)
    cti_start: int = 0  # first CTI's decoder level: 0 = on the bottleneck codes (figure)
    # How CTI's merge conv (1x1 over [f, styled, conditional]) starts: "default"
    # (PyTorch's init: a random mix of the three) or "identity" (it passes f through,
    # the other two start at zero weight and grow in training). Initialisation only:
    # the weights' shapes are the same. docs/recipe.md section 15.
    cti_init: str = "default"
    # Output skips inside the decoder (StyleGAN2's): the last block at each resolution
    # below the image's also draws a picture, a 1x1 conv to 3 colours per output pixel
    # laid out by a pixel shuffle, summed with the head's before the tanh; nothing
    # passes around the bottleneck. Off until the full recipe measures them (the
    # decoder alone: +3.4 dB at step 1000; docs/recipe.md section 14).
    rgb_skips: bool = False
    hfcm_dim: int = 32  # [chosen] width of every conv in the HFCM fusion chain (R/2, R/4, R/8)
    n_cti: int = 2  # [chosen] CTI modules, before decoder blocks cti_start, cti_start + 1, ...
    style_dim: int = 64  # [chosen] width of the CTI style code y_e / y_r
    lt_norm: str = "batch"  # norm inside CTI's local translation net (conv-BN-LReLU in the paper)
    dis_dim: int = 32  # channels of D's first conv; doubled per layer up to max_dim
    dis_fc_dim: int = 256  # hidden width of D's two fully connected heads
    dis_layers: int = 0  # 0 = follow image size (down to a 4x4 map)
    dis_norm: str = "instance"  # D's norm (AttGAN: instance norm, as WGAN-GP needs no batch norm)
    # AttGAN baseline only (variant "attgan"; it uses enc_dim, max_dim and n_down as well):
    attgan_shortcut_layers: int = 1  # encoder-decoder skip connections (AttGAN default 1)
    attgan_inject_layers: int = 1  # decoder layers that re-receive the attribute vector
    attgan_norm: str = "batch"  # norm of AttGAN's G (batch norm in AttGAN)

    @property
    def n_attrs(self) -> int:
        return len(self.attrs)

    @property
    def bottleneck_size(self) -> int:
        """Side of Z_s in pixels (``bottleneck``, or the per-size default when 0)."""
        if self.variant == "attgan":
            return self.img_size // 2**self.n_down
        if self.bottleneck:
            return self.bottleneck
        return BOTTLENECK_BY_SIZE.get(self.img_size, max(2, self.img_size // 16))

    @property
    def halvings(self) -> int:
        """How many of the encoder blocks halve the resolution."""
        return int(math.log2(self.img_size // self.bottleneck_size))


# Named width/depth families. ``base`` matches the paper's widths (64 .. 1024).
# [chosen] ``small``: the widths that keep a 64 px training step (4 D + 1 G updates,
# batch 32) near 1.3 s on a 2-core AMX CPU in bf16 with the 8x8 bottleneck
# (benchmarks/bench_train.py; max_dim 128: the deep maps and both CTIs are 128 wide).
# With the 16x16 bottleneck the step costs 1.9x (training logs: 2.1 s against 1.1 s).
MODEL_PRESETS: dict[str, dict[str, Any]] = {
    "tiny": dict(enc_dim=4, max_dim=16, hfcm_dim=4, style_dim=8, dis_dim=4, dis_fc_dim=8),
    "small": dict(enc_dim=16, max_dim=128, hfcm_dim=16, style_dim=32, dis_dim=32, dis_fc_dim=128),
    "base": dict(enc_dim=64, max_dim=1024, hfcm_dim=64, style_dim=128, dis_dim=64, dis_fc_dim=1024),
}
PRESET_SIZES = {"tiny": 32, "small": 64, "base": 128}
# [chosen, by measurement: docs/recipe.md] bottleneck side per image size: 16x16 from
# 64 px on, as the paper's 256 px model (at 64 px, against 8x8 under the full recipe at
# equal steps: +2.0 dB reconstruction, +1.2 dB ground-truth edit PSNR, +4 points of
# editing accuracy at step 4000, for 1.9x the CPU step); 8x8 at 32 px (tests). Saved
# configs record the side, so moving a default never changes an old model.
BOTTLENECK_BY_SIZE = {32: 8, 64: 16, 128: 16, 256: 16, 512: 32}
# What a saved `bottleneck: 0` means: the per-size defaults of the files that stored 0
# (checkpoints and exports written before 2026-12-02, the bundled model's included).
# 8x8 and 16x16 generators have the same parameter shapes, so reading such a file with
# a changed BOTTLENECK_BY_SIZE would build the wrong model without an error. Files
# written since record the resolved side (Config.to_dict). Never edit this table.
SAVED_ZERO_BOTTLENECK = {32: 8, 64: 8, 128: 16, 256: 16, 512: 32}
# Fields added after checkpoints existed, and the value that reproduces the old models.
LEGACY_MODEL_FIELDS = {
    "head_norm": lambda m: m.get("norm", "instance"),
    "cti_start": lambda m: 1,
    "rgb_skips": lambda m: False,
    "cti_init": lambda m: "default",
}
CTI_INITS = ("default", "identity")


@dataclass
class DataConfig:
    """Where images and labels come from and how they are fed."""

    path: str = ""  # dataset folder or prepared cache; empty = built-in SynthFaces
    format: str = "auto"  # auto | celeba | celebahq | custom | cache
    flip: bool = True  # random horizontal flip (training split only)
    num_workers: int = -1  # -1 = choose from the CPU count
    hq_labels: str = "auto"  # CelebA-HQ label source: auto | mask | celeba
    balance: float = 0.0  # > 0: draw images so each attribute is on (and off) for at least
    # this share of them (e.g. 0.2; intergan/data/balance.py); 0 = every image once per epoch


@dataclass
class TrainConfig:
    """Optimisation, schedule and bookkeeping. Paper values are the defaults."""

    steps: int = 10_000  # generator steps (one G step follows n_d D steps)
    epochs: float = 0.0  # > 0: set `steps` from the dataset size (epochs * batches / (n_d + 1))
    batch_size: int = 32  # per process; the global batch is batch_size * world size
    lr: float = 2e-4  # Adam learning rate of both G and D
    beta1: float = 0.5
    beta2: float = 0.999
    n_d: int = 4  # discriminator steps per generator step, each on a fresh batch
    lr_decay_at: float = 0.5  # fraction of `steps` after which lr is divided by 10
    # The step (0-based) from which lr is divided by 10. It is fixed when a run starts,
    # as round(lr_decay_at * steps), and every resume keeps it (also with a longer --steps).
    lr_decay_step: int | None = None
    rec_warmup: int = 0  # first N G steps optimise reconstruction only (0 = off)
    # First N G steps take one D step each, then n_d (0 = n_d throughout). One D update
    # costs about a third of an n_d-1 step here, so early reconstruction comes cheaper
    # (docs/recipe.md section 3).
    n_d_warmup: int = 0
    # Hold each filter of D's normalised convs at its initial norm after every D update
    # [built and tested; off, not yet measured in a run: docs/recipe.md section 5]. The
    # norm after them makes the scale free; left alone, the filters shrink until the
    # norm's eps dominates and D's features jump under tiny steps (the 2026-12-01
    # bundle run after step 4000).
    keep_d_scale: bool = False
    mode: str = "wgan"  # MODES: wgan (WGAN-GP) | lsgan | dcgan (the last two: DRAGAN penalty)
    lambda_adv: float = 1.0  # adversarial term, both G and D
    lambda_cls_g: float = 15.0  # attribute BCE on the edited image (G)
    lambda_rec: float = 100.0  # L1 reconstruction (G)
    # L1 between the edited image and its input (G) [chosen; not in the paper]: asks the
    # edit to leave alone what its attributes do not need (docs/recipe.md section 10).
    # 0 = off, the paper's objective; logged as g_keep either way.
    lambda_keep: float = 0.0
    lambda_gp: float = 10.0  # gradient penalty (D)
    lambda_cls_d: float = 1.0  # attribute BCE on real images (D)
    thres_int: float = 0.5  # label scale: (2a - 1) * thres_int
    test_int: float = 1.0  # edited entry at test time: +-test_int
    b_distribution: str = "none"  # B_DISTRIBUTIONS: none | uniform | truncated_normal
    # EMA decay of G's weights, ramped (training/steps.py ema_decay); 0 = off (the paper's
    # plain weights). On: the ramped EMA beat the raw weights of the same checkpoint on
    # every metric (docs/recipe.md section 4).
    ema: float = 0.999
    # Mixed precision (AMP_MODES): auto is bf16 on a CPU with AMX / AVX-512-BF16, else
    # float32 (on CUDA: float32 + TF32); none; bf16 (CPU or CUDA); fp16 (CUDA only). The
    # penalty always runs in float32. A run's saved config holds the resolved mode, never
    # "auto".
    amp: str = "auto"
    # NHWC memory format for G, D and batches. None means auto: on with bf16 on a CPU
    # (the native layout of oneDNN's bf16 kernels), off otherwise. Saved resolved.
    channels_last: bool | None = None
    # Set by the run: True when `amp` and `channels_last` were both left to auto. A
    # resume without --amp / --channels-last then picks them again for its own machine
    # (a run begun on an AMX CPU and resumed on one without keeps float32 speed there).
    auto_precision: bool = False
    # Under torchrun on CUDA, G's batch norms (CTI's local translation, model.norm=batch,
    # AttGAN's G) take their statistics over the global batch (SyncBatchNorm) [chosen];
    # False: each process over its own. On CPU (gloo) they are per process either way:
    # torch's SyncBatchNorm runs on GPUs only. D's (dis_norm=batch) are always per
    # process: SyncBatchNorm has no double backward for the gradient penalty. Running
    # statistics are averaged over processes after every step. Checkpoints are the same
    # either way.
    sync_bn: bool = True
    compile: bool = False  # torch.compile G and D (the penalty's double backward runs eager)
    deterministic: bool = False  # torch.use_deterministic_algorithms also on GPU (slower)
    seed: int = 0  # model init uses `seed`; each process's streams use seed * world + rank
    device: str = "auto"  # auto (CUDA, else MPS, else CPU) | cpu | cuda | cuda:N | mps
    log_every: int = 10  # steps between log.txt / stats.jsonl / TensorBoard records
    sample_every: int = 500  # steps between sample grids; 0 = only at the end
    sample_count: int = 8  # fixed validation images (rows) in each sample grid
    checkpoint_every: int = 1000  # steps between checkpoints (one is also written at the end)
    keep_last: int = 3  # checkpoints kept on disk (plus the latest pointer)


@dataclass
class Config:
    """A whole run: model, data and training."""

    model: ModelConfig = field(default_factory=ModelConfig)
    data: DataConfig = field(default_factory=DataConfig)
    train: TrainConfig = field(default_factory=TrainConfig)

    def to_dict(self) -> dict[str, Any]:
        """Plain data, with the bottleneck side resolved: a saved file names the model it
        was, whatever the per-size defaults become."""
        d = dataclasses.asdict(self)
        if self.model.variant != "attgan" and not self.model.bottleneck:
            d["model"]["bottleneck"] = self.model.bottleneck_size
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any], saved: bool = False) -> Config:
        """Build from plain data; a wrong shape or field type is a ``UserError``.

        ``saved``: ``d`` was written with a model (a checkpoint's or an export's
        config), so a ``bottleneck`` of 0 means the defaults of its time
        (``SAVED_ZERO_BOTTLENECK``), not today's."""
        if not isinstance(d, dict):
            raise UserError(f"a config is a JSON object with model/data/train, not {d!r:.40}")
        sections = {}
        for name in ("model", "data", "train"):
            sections[name] = d.get(name, {})
            if not isinstance(sections[name], dict):
                raise UserError(f"config section {name!r} must be an object, not {d[name]!r:.40}")
        return cls(
            model=_build(
                ModelConfig, sections["model"], "model", _saved_model if saved else _legacy_model
            ),
            data=_build(DataConfig, sections["data"], "data"),
            train=_build(TrainConfig, sections["train"], "train"),
        )

    def save(self, path: str | os.PathLike) -> None:
        write_json(path, self.to_dict())

    @classmethod
    def load(cls, path: str | os.PathLike, fix: str | None = None, saved: bool = False) -> Config:
        """Read a config JSON file; any fault is a ``UserError`` naming the file and ``fix``
        (``saved``: as in ``from_dict``)."""
        fix = fix or CONFIG_FIX
        data = read_json_object(path, "config file", fix)
        try:
            cfg = cls.from_dict(data, saved=saved)
            validate_model(cfg.model)
            return cfg
        except UserError as e:
            raise UserError(f"config file {path}: {e}; {fix}") from None


def _legacy_model(values: dict[str, Any]) -> dict[str, Any]:
    """A saved model section from before a field existed builds the model it saved."""
    if not values or "bottleneck" in values:
        return values
    values = dict(values)
    values["bottleneck"] = values.get("img_size", 64) // 2 ** values.get("n_down", 4)
    for name, old in LEGACY_MODEL_FIELDS.items():
        values.setdefault(name, old(values))
    return values


def _saved_model(values: dict[str, Any]) -> dict[str, Any]:
    """The model section of a file written with a model: as ``_legacy_model``, and a
    ``bottleneck`` of 0 becomes the side those files meant."""
    values = _legacy_model(values)
    if values.get("bottleneck") == 0 and values.get("variant", "intergan") != "attgan":
        size = values.get("img_size", 64)
        if isinstance(size, int) and size in SAVED_ZERO_BOTTLENECK:
            values = {**values, "bottleneck": SAVED_ZERO_BOTTLENECK[size]}
    return values


def _build(kind, values: dict[str, Any], section: str, fill=None):
    """``kind(**values)`` after checking every name and value type (``fill``: adds
    the fields of older files, once the types are known to be right)."""
    values = check_types(kind, values, section)
    return kind(**(fill(values) if fill else values))


def check_types(kind, values: dict[str, Any], section: str) -> dict[str, Any]:
    """``values`` checked against the dataclass ``kind``'s field types (int, float, str,
    bool, list[str], X | None): the one place a loaded file's types are checked.

    Returns a copy with integers given for float fields made floats. Raises a
    ``UserError`` naming ``section.field`` and the type it needs.
    """
    hints = typing.get_type_hints(kind)
    names = [f.name for f in dataclasses.fields(kind)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UserError(
            f"unknown config field(s) {', '.join(section + '.' + u for u in unknown)}; "
            f"valid: {', '.join(sorted(names))}"
        )
    out = {}
    for name, value in values.items():
        ok, value = _typed(value, hints[name])
        if not ok:
            raise UserError(
                f"{section}.{name} is {value!r:.60} ({type(value).__name__}): "
                f"expected {_type_name(hints[name])}"
            )
        out[name] = value
    return out


def _optional_arg(hint: Any) -> Any:
    """The X of a type hint ``X | None``; ``None`` for any other hint."""
    args = typing.get_args(hint)
    return next(a for a in args if a is not type(None)) if type(None) in args else None


def _typed(value: Any, hint: Any) -> tuple[bool, Any]:
    """(does ``value`` fit ``hint``, the value to keep)."""
    optional = _optional_arg(hint)
    if optional is not None:  # X | None
        if value is None:
            return True, None
        return _typed(value, optional)
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and math.isfinite(value):
            return True, float(value)
        return False, value
    if hint is str:
        return isinstance(value, str), value
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        ok = isinstance(value, list) and all(_typed(v, item)[0] for v in value)
        return ok, list(value) if ok else value
    return True, value  # a type this checker does not know: left to the field's validation


def _type_name(hint: Any) -> str:
    if _optional_arg(hint) is not None:
        return _type_name(_optional_arg(hint)) + " or null"
    if typing.get_origin(hint) is list:
        return f"a list of {_type_name(typing.get_args(hint)[0]).split()[-1]}s"
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    return names.get(hint, str(hint))


def model_config(
    preset: str = "small",
    variant: str = "intergan",
    img_size: int | None = None,
    attrs: Any = None,
    **overrides: Any,
) -> ModelConfig:
    """A validated ``ModelConfig`` from a preset name plus explicit overrides."""
    if preset not in MODEL_PRESETS:
        raise UserError(f"unknown preset {preset!r}; choose one of {', '.join(PRESETS)}")
    values = dict(MODEL_PRESETS[preset])
    values.update(overrides)
    cfg = ModelConfig(
        variant=variant,
        preset=preset,
        img_size=img_size or PRESET_SIZES[preset],
        attrs=resolve_attrs(attrs),
        **values,
    )
    validate_model(cfg)
    return cfg


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


# TrainConfig fields that `intergan train` sets with a flag of their own; TRAIN_FLAGS
# are the plain ones (the flag's value is the field's). The others are set with --set.
TRAIN_FLAGS = (
    "steps",
    "epochs",
    "batch_size",
    "lr",
    "n_d",
    "lr_decay_at",
    "rec_warmup",
    "n_d_warmup",
    "mode",
    "b_distribution",
    "thres_int",
    "test_int",
    "amp",
    "device",
    "seed",
    "log_every",
    "sample_every",
    "sample_count",
    "checkpoint_every",
    "keep_last",
)
TRAIN_FLAGGED = frozenset((*TRAIN_FLAGS, "ema", "channels_last", "compile", "deterministic"))


def _field(name: str) -> str:
    if name in TRAIN_FLAGGED:
        return f"train.{name} (--{name.replace('_', '-')})"
    return f"train.{name} (--set train.{name}=...)"


def _coerce(value: str, current: Any, key: str, hint: Any) -> Any:
    """``value`` as the type of ``current``; a field declared ``X | None`` (``hint``)
    also takes none/null, and an unset one is read as an X."""
    optional = _optional_arg(hint)
    if optional is not None:
        if value.lower() in ("none", "null"):
            return None
        if current is None and optional is not str:
            current = optional()  # int(), float(), bool(): only the type matters
    try:
        if isinstance(current, bool):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return value.lower() in ("true", "1", "yes")
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            number = float(value)
            if not math.isfinite(number):
                raise UserError(f"--set {key}={value}: expected a finite number")
            return number
        if isinstance(current, list):
            return resolve_attrs(value) if key == "model.attrs" else value.split(",")
    except ValueError:
        raise UserError(f"--set {key}={value}: expected {_type_name(hint)}") from None
    return value


def apply_overrides(cfg: Config, items: list[str]) -> None:
    """Apply ``--set SECTION.FIELD=VALUE`` items to ``cfg`` in place, each value coerced
    to the field's type; a wrong key or value is a ``UserError`` naming it."""
    for item in items:
        key, sep, value = item.partition("=")
        section, _, name = key.partition(".")
        obj = getattr(cfg, section, None) if section in ("model", "data", "train") else None
        if not sep or obj is None or name not in {f.name for f in dataclasses.fields(obj)}:
            raise UserError(
                f"--set {item!r}: use SECTION.FIELD=VALUE with a field of "
                "model, data or train (see a run's config.json)"
            )
        hint = typing.get_type_hints(type(obj))[name]
        setattr(obj, name, _coerce(value, getattr(obj, name), key, hint))


def _check(ok: bool, name: str, value: object, need: str) -> None:
    if not ok:
        raise UserError(f"{_field(name)} is {value!r}: {need}")


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


def dis_layers(cfg: ModelConfig) -> int:
    """Number of D conv layers: down to a 4x4 map unless set explicitly."""
    return cfg.dis_layers or int(math.log2(cfg.img_size)) - 2


CONFIG_FIX = "correct it (a run's config.json shows the right form) or write the file again"
