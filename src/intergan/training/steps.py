"""The steps of a run: ``Trainer`` (what a step needs) and ``build_trainer``, one
discriminator step and one generator step (docs/design.md section 3), and ``run_step``,
which schedules them.

Generator: ``L_adv + 15 * BCE(cls(G(x,t,s)), t) + 100 * |G_rec(x) - x|_1``.
Discriminator: ``L_adv + 10 * GP + 1 * BCE(cls(x), s)``.

``d_step`` and ``g_step`` are short and separate; each flips ``requires_grad``
explicitly so the other network gets no gradients. Each returns its losses, detached,
under the names ``D_LOSSES`` / ``G_LOSSES``. Precision and layout come from the
run's ``Precision`` (``intergan.precision``): the forward passes run in its autocast
region, on the CPU as on CUDA (bf16 autocast is what makes a CPU with native bf16
fast); the gradient penalty always runs in float32 with autocast off (its squared
gradient norm is fragile in half precision), and fp16 uses a GradScaler per optimizer.
"""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from intergan import losses
from intergan.attributes import encode
from intergan.config import Config, TrainConfig
from intergan.images import to_model
from intergan.models.layers import has_batch_norm
from intergan.precision import Precision
from intergan.training import distributed as dist
from intergan.training.batches import BatchStream
from intergan.training.schedule import lr_at, n_d_at

# The losses each step returns (and the run logs), by name: the weighted total the
# optimizer steps on, then its terms (adversarial, gradient penalty, attribute
# classification, reconstruction), unweighted.
D_LOSSES = ("d_loss", "d_adv", "d_gp", "d_cls")  # d_step
G_LOSSES = ("g_loss", "g_adv", "g_cls", "g_rec", "g_keep")  # g_step
LOSS_NAMES = D_LOSSES + G_LOSSES  # one logged step, in stats.jsonl order
BAR_LOSSES = (D_LOSSES[0], G_LOSSES[0], G_LOSSES[3])  # the progress bar's: totals and g_rec
EventHook = Callable[[str, int, "Trainer"], None]  # (event, step, trainer)


@dataclass
class Trainer:
    """What a step needs. ``G`` and ``D`` are the plain modules (saved; ``G`` is
    averaged into ``G_ema``); the other handles are the same weights as the steps run
    them: ``G_train`` and ``D_train`` wrapped for several processes
    (DistributedDataParallel) and compiled when asked, ``G_edit`` the edited stream
    alone for D's fake images (no gradient, so never wrapped), ``D_eager`` ``D`` as
    wrapped but never compiled, for the penalty (compiled graphs lack double backward).
    """

    cfg: TrainConfig
    precision: Precision  # autocast, the penalty's float32, layout, gradient scalers
    G: nn.Module
    D: nn.Module
    G_train: nn.Module  # (real, t_enc, s_enc) -> GeneratorOutput, both streams
    G_edit: Callable[..., torch.Tensor]  # (real, t_enc, s_enc) -> edited images
    D_train: nn.Module  # images -> (adv, cls)
    D_eager: nn.Module  # images -> (adv, cls), for the gradient penalty
    G_ema: nn.Module | None  # EMA of G's weights (None: --ema 0)
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    scaler_G: torch.amp.GradScaler
    scaler_D: torch.amp.GradScaler
    rng: torch.Generator  # CPU: flips, target shuffles and jitter
    rng_device: torch.Generator  # on the device: penalty interpolation and DRAGAN noise
    joint_d_batch: bool = True  # real and fake through D as one 2B batch (False with batch norm)

    @property
    def device(self) -> torch.device:
        return self.precision.device


def set_requires_grad(module: nn.Module, flag: bool) -> None:
    for p in module.parameters():
        p.requires_grad_(flag)


def make_targets(
    source: torch.Tensor, cfg: TrainConfig, rng: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Targets for one batch: the batch's labels shuffled, then encoded.

    ``source``: (B, n) {0,1} labels on the CPU. Returns ``(target01, target_enc,
    source_enc)``: the binary target (for the attribute loss) and the generator's
    inputs, ``(2a-1) * thres_int``; ``b_distribution`` jitters the target's magnitude
    in (0, 2*thres_int) as AttGAN does (uniform, or a truncated normal around it).
    """
    target = source[torch.randperm(source.shape[0], generator=rng)]
    sign = target * 2 - 1
    scale = 2 * cfg.thres_int
    if cfg.b_distribution == "none":
        target_enc = encode(target, cfg.thres_int)
    elif cfg.b_distribution == "uniform":
        target_enc = sign * torch.rand(target.shape, generator=rng) * scale
    elif cfg.b_distribution == "truncated_normal":
        noise = torch.fmod(torch.randn(target.shape, generator=rng), 2)  # in (-2, 2)
        target_enc = sign * (noise + 2) / 4.0 * scale
    else:
        raise ValueError(f"unknown b_distribution {cfg.b_distribution!r}")
    return target, target_enc, encode(source, cfg.thres_int)


def d_step(
    trainer: Trainer,
    real: torch.Tensor,
    source: torch.Tensor,
    target_enc: torch.Tensor,
    source_enc: torch.Tensor,
) -> dict[str, torch.Tensor]:
    """One D update. ``real``: (B,3,S,S) in [-1,1]; ``source``: (B,n) {0,1};
    ``target_enc``/``source_enc``: encoded labels. Returns detached losses."""
    cfg = trainer.cfg
    set_requires_grad(trainer.G, False)
    set_requires_grad(trainer.D, True)
    real = trainer.precision.layout(real)
    with torch.no_grad(), trainer.precision.autocast():
        fake = trainer.G_edit(real, target_enc, source_enc)  # only the edited stream is needed
    b = real.shape[0]
    with trainer.precision.autocast():
        if trainer.joint_d_batch:  # one pass of 2B: same result with per-sample (instance) norms
            adv, cls = trainer.D_train(torch.cat([real, fake.to(real.dtype)]))
            adv_real, adv_fake, cls_real = adv[:b], adv[b:], cls[:b]
        else:  # batch statistics must not mix real and fake images
            adv_real, cls_real = trainer.D_train(real)
            adv_fake, _ = trainer.D_train(fake)
    d_adv = losses.d_adv_loss(cfg.mode, adv_real.float(), adv_fake.float())
    d_cls = losses.attr_bce(cls_real.float(), source)
    alpha = torch.rand(b, 1, 1, 1, device=trainer.device, generator=trainer.rng_device)
    with trainer.precision.float32():
        if cfg.mode == "wgan":  # interpolates between real and edited images
            other = fake.float()
        else:  # DRAGAN: around the real samples
            noise = torch.rand(real.shape, device=trainer.device, generator=trainer.rng_device)
            other = losses.perturb_real(real.float(), noise)
        d_gp = losses.gradient_penalty(lambda x: trainer.D_eager(x)[0], real.float(), other, alpha)
    loss = cfg.lambda_adv * d_adv + cfg.lambda_gp * d_gp + cfg.lambda_cls_d * d_cls
    trainer.opt_D.zero_grad(set_to_none=True)
    trainer.scaler_D.scale(loss).backward()
    trainer.scaler_D.step(trainer.opt_D)
    trainer.scaler_D.update()
    return _detached(D_LOSSES, loss, d_adv, d_gp, d_cls)


def g_step(
    trainer: Trainer,
    real: torch.Tensor,
    target: torch.Tensor,
    target_enc: torch.Tensor,
    source_enc: torch.Tensor,
    warmup: bool = False,
) -> dict[str, torch.Tensor]:
    """One G update (editing and reconstruction together). ``target``: (B,n) {0,1}
    shuffled labels the edit must show; ``warmup``: optimise reconstruction only.
    Returns detached losses."""
    cfg = trainer.cfg
    set_requires_grad(trainer.G, True)
    set_requires_grad(trainer.D, False)
    real = trainer.precision.layout(real)
    with trainer.precision.autocast():
        out = trainer.G_train(real, target_enc, source_enc)
        adv, cls = trainer.D_train(out.edited)
    g_adv = losses.g_adv_loss(cfg.mode, adv.float())
    g_cls = losses.attr_bce(cls.float(), target)
    g_rec = losses.reconstruction_l1(out.reconstructed.float(), real.float())
    g_keep = losses.reconstruction_l1(out.edited.float(), real.float())  # how far edits move
    loss = cfg.lambda_rec * g_rec
    if not warmup:  # reconstruction warm-up: the edit terms join after `rec_warmup` steps
        loss = loss + cfg.lambda_adv * g_adv + cfg.lambda_cls_g * g_cls
        if cfg.lambda_keep:
            loss = loss + cfg.lambda_keep * g_keep
    trainer.opt_G.zero_grad(set_to_none=True)
    trainer.scaler_G.scale(loss).backward()
    trainer.scaler_G.step(trainer.opt_G)
    trainer.scaler_G.update()
    return _detached(G_LOSSES, loss, g_adv, g_cls, g_rec, g_keep)


def _detached(names: tuple[str, ...], *values: torch.Tensor) -> dict[str, torch.Tensor]:
    """``{name: value.detach()}``: one step's losses under their names."""
    return {name: v.detach() for name, v in zip(names, values, strict=True)}


def ema_decay(decay: float, step: int) -> float:
    """The decay used after (0-based) step ``step``: ``min(decay, (1 + step) / (10 + step))``.

    Without the ramp, an EMA of 0.999 still weighs the random initial weights by
    0.999**500 = 61% after 500 steps: its sample grids were noise while G's were
    already faces (measured on the bundled model's run, docs/recipe.md).
    """
    return min(decay, (1 + step) / (10 + step))


@torch.no_grad()
def ema_update(ema: nn.Module, model: nn.Module, decay: float) -> None:
    """``ema = decay * ema + (1 - decay) * model`` for parameters; buffers copied."""
    for pe, p in zip(ema.parameters(), model.parameters()):
        pe.lerp_(p.detach(), 1.0 - decay)
    for be, b in zip(ema.buffers(), model.buffers()):
        be.copy_(b)


def build_trainer(cfg: Config, device: torch.device) -> Trainer:
    """Fresh G, D (identical on every rank), optimisers, scalers and random streams,
    in the precision and layout the (resolved) config names."""
    from intergan.models import build_discriminator, build_generator

    t = cfg.train
    precision = Precision(t.amp, t.channels_last, device)
    torch.manual_seed(t.seed)  # same initial weights on every rank
    G = precision.layout(build_generator(cfg.model).to(device))
    D = precision.layout(build_discriminator(cfg.model).to(device))
    G_ema = copy.deepcopy(G).requires_grad_(False) if t.ema > 0 else None
    # G only, after the EMA copy (which runs in eval mode only); same parameters and
    # buffers. Not D: the penalty's double backward has no SyncBatchNorm derivative
    # (pytorch/pytorch#61222), so a batch-norm D normalises per process.
    if dist.sync_batch_norm(G, device, t.sync_bn):
        G = nn.SyncBatchNorm.convert_sync_batchnorm(G)
    G_wrapped, D_wrapped = dist.wrap(G, device), dist.wrap(D, device)
    seed = dist.rank_seed(t.seed)
    _seed_all(seed)
    compiled = torch.compile if t.compile else (lambda f: f)
    return Trainer(
        cfg=t,
        precision=precision,
        G=G,
        D=D,
        G_train=compiled(G_wrapped),
        # no gradient, so no DDP; the edited stream alone where the streams are not
        # joined by CTI (batch norm then normalises the edited batch on its own)
        G_edit=compiled(G.edit_for_d),
        D_train=compiled(D_wrapped),
        D_eager=D_wrapped,
        G_ema=G_ema,
        opt_G=_adam(G, t, device),
        opt_D=_adam(D, t, device),
        scaler_G=precision.scaler(),
        scaler_D=precision.scaler(),
        rng=torch.Generator().manual_seed(seed),
        rng_device=torch.Generator(device).manual_seed(seed + 2**32),
        joint_d_batch=not has_batch_norm(D),
    )


def run_step(trainer: Trainer, stream: BatchStream, step: int, emit: EventHook) -> dict:
    """Step ``step``: set the lr, n_d D updates, one G update, the EMA. Losses (detached)."""
    for opt in (trainer.opt_G, trainer.opt_D):
        for group in opt.param_groups:
            group["lr"] = lr_at(trainer.cfg, step)
    d_logs = []
    for _ in range(n_d_at(trainer.cfg, step)):
        real, source, _, target_enc, source_enc = _batch(trainer, stream)
        d_logs.append(d_step(trainer, real, source, target_enc, source_enc))
    emit("after_d", step, trainer)
    real, _, target, target_enc, source_enc = _batch(trainer, stream)
    logs = g_step(
        trainer, real, target, target_enc, source_enc, warmup=step < trainer.cfg.rec_warmup
    )
    dist.average_buffers(trainer.G)
    dist.average_buffers(trainer.D)
    if trainer.G_ema is not None:
        ema_update(trainer.G_ema, trainer.G, ema_decay(trainer.cfg.ema, step))
    return {k: torch.stack([d[k] for d in d_logs]).mean() for k in d_logs[0]} | logs


def _batch(trainer: Trainer, stream: BatchStream):
    images, labels = stream.next(trainer.rng)
    target, target_enc, source_enc = make_targets(labels, trainer.cfg, trainer.rng)
    device = trainer.device
    real = to_model(images.to(device, non_blocking=True))
    return real, labels.to(device), target.to(device), target_enc.to(device), source_enc.to(device)


def _seed_all(seed: int) -> None:
    torch.manual_seed(seed)
    np.random.seed(seed % 2**32)
    random.seed(seed)


def _adam(model: torch.nn.Module, train_cfg: TrainConfig, device: torch.device):
    """Adam with the run's rate and betas; fused (one kernel per parameter tensor) on
    the CPU and CUDA, where torch's default runs several elementwise ops per tensor:
    an update of 29 M parameters took 17 ms instead of 152 ms on the 2-core CPU
    (docs/benchmarks.md; about 4% of AttGAN's 128 px step was the optimizer). A
    resumed run keeps what its checkpoint's optimizer used."""
    fused = True if device.type in ("cpu", "cuda") else None
    return torch.optim.Adam(
        model.parameters(), lr=train_cfg.lr, betas=(train_cfg.beta1, train_cfg.beta2), fused=fused
    )
