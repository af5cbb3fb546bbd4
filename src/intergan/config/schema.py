"""The schema: the one typed, nested configuration of a run, and its named presets.

Defaults live here once; the CLI only overrides them (``overrides``). A resolved
``Config`` is written as JSON next to every run and inside every checkpoint (plain
data), and read back through ``typecheck`` and ``migrations``. Decisions the paper
does not state are marked ``[chosen]`` in the field comments. The allowed values
(``VARIANTS``, ``MODES``, ...) and the checks live in ``checks``.
"""

from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass, field
from typing import Any

from intergan.attributes import DEFAULT_ATTRS, resolve_attrs
from intergan.config.checks import PRESETS, validate_model
from intergan.config.migrations import drop_removed, legacy_model, saved_model
from intergan.config.typecheck import check_types
from intergan.errors import UserError
from intergan.files import read_json_object, write_json


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
    # Where the faces sit in the images (a framing of intergan/editing/align.py: celeba,
    # celebahq, synthfaces); "" = unknown, and the editor guesses from path and size. A run
    # takes it from the data's record (aligned.json, a cache's manifest, a SynthFaces
    # export: data.sources.recorded_framing); a value that differs from it is an error.
    framing: str = ""


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
        fill = saved_model if saved else legacy_model
        return cls(
            model=ModelConfig(**fill(_checked(ModelConfig, sections["model"], "model"))),
            data=DataConfig(**_checked(DataConfig, sections["data"], "data")),
            train=TrainConfig(**_checked(TrainConfig, sections["train"], "train")),
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


def _checked(kind, values: dict[str, Any], section: str) -> dict[str, Any]:
    """``values`` without the removed options' defaults, then type-checked."""
    return check_types(kind, drop_removed(section, values), section)


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


def dis_layers(cfg: ModelConfig) -> int:
    """Number of D conv layers: down to a 4x4 map unless set explicitly."""
    return cfg.dis_layers or int(math.log2(cfg.img_size)) - 2


CONFIG_FIX = "correct it (a run's config.json shows the right form) or write the file again"
