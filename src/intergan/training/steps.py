"""One discriminator step and one generator step (docs/design.md section 3).

Generator: ``L_adv + 15 * BCE(cls(G(x,t,s)), t) + 100 * |G_rec(x) - x|_1``.
Discriminator: ``L_adv + 10 * GP + 1 * BCE(cls(x), s)``.

``d_step`` and ``g_step`` are short and separate; each flips ``requires_grad``
explicitly so the other network gets no gradients. Each returns its losses, detached,
under the names ``D_LOSSES`` / ``G_LOSSES``. Mixed precision (``amp``) only
wraps the forward passes on CUDA; the gradient penalty always runs in float32 with
autocast off (its squared gradient norm is fragile in half precision), and fp16
uses a GradScaler per optimizer.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from dataclasses import dataclass

import torch
from torch import nn

from intergan import losses
from intergan.attributes import encode
from intergan.config import TrainConfig

# The losses each step returns (and the run logs), by name: the weighted total the
# optimizer steps on, then its terms (adversarial, gradient penalty, attribute
# classification, reconstruction), unweighted.
D_LOSSES = ("d_loss", "d_adv", "d_gp", "d_cls")  # d_step
G_LOSSES = ("g_loss", "g_adv", "g_cls", "g_rec", "g_keep")  # g_step
LOSS_NAMES = D_LOSSES + G_LOSSES  # one logged step, in stats.jsonl order
BAR_LOSSES = (D_LOSSES[0], G_LOSSES[0], G_LOSSES[3])  # the progress bar's: totals and g_rec


@dataclass
class Trainer:
    """Everything a step touches. ``G``/``D`` are the plain modules (saved and
    EMA-averaged); ``G_run``/``D_run`` the wrapped ones used for forward passes
    (DistributedDataParallel and/or compiled); ``D_penalty`` is ``D`` as wrapped for the
    penalty, never compiled (compiled graphs lack double backward)."""

    cfg: TrainConfig
    device: torch.device
    G: nn.Module
    D: nn.Module
    G_run: nn.Module
    D_run: nn.Module
    D_penalty: nn.Module
    opt_G: torch.optim.Optimizer
    opt_D: torch.optim.Optimizer
    scaler_G: torch.amp.GradScaler
    scaler_D: torch.amp.GradScaler
    rng: torch.Generator  # CPU: flips, target shuffles and jitter
    rng_device: torch.Generator  # on `device`: penalty interpolation and DRAGAN noise
    G_fake: Callable[..., torch.Tensor] | None = None  # (real, t_enc, s_enc) -> edited
    G_ema: nn.Module | None = None
    joint_d_batch: bool = True  # real and fake through D as one 2B batch (False with batch norm)
    # keep_d_scale: (conv weight, per-filter norm to hold) for D's normalised convs
    d_scales: list[tuple[torch.Tensor, torch.Tensor]] | None = None

    @property
    def amp_dtype(self) -> torch.dtype | None:
        return {"bf16": torch.bfloat16, "fp16": torch.float16}.get(self.cfg.amp)

    def autocast(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, dtype=self.amp_dtype)

    def full_precision(self) -> contextlib.AbstractContextManager:
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(self.device.type, enabled=False)


def filter_scales(D: nn.Module) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``keep_d_scale``'s targets: each normalised conv of ``D`` with the norms of its
    filters now (at initialisation, the same on every rank and on every resume)."""
    return [
        (conv.weight, conv.weight.detach().flatten(1).norm(dim=1).clone())
        for conv in D.normalised_convs()
    ]


@torch.no_grad()
def hold_filter_scales(scales: list[tuple[torch.Tensor, torch.Tensor]]) -> None:
    """Rescale every filter to its target norm. A norm layer follows each, so D computes
    the same function; what is held is the step size relative to the weights, which
    otherwise grows as Adam lets these filters shrink (docs/recipe.md, section 5)."""
    for weight, target in scales:
        now = weight.flatten(1).norm(dim=1).clamp_min(1e-12)
        weight.mul_((target / now).view(-1, *([1] * (weight.dim() - 1))).to(weight.dtype))


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


def _prepare(trainer: Trainer, real: torch.Tensor) -> torch.Tensor:
    if trainer.cfg.channels_last:
        return real.contiguous(memory_format=torch.channels_last)
    return real


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
    real = _prepare(trainer, real)
    with torch.no_grad(), trainer.autocast():
        fake = trainer.G_fake(real, target_enc, source_enc)  # only the edited stream is needed
    b = real.shape[0]
    with trainer.autocast():
        if trainer.joint_d_batch:  # one pass of 2B: same result with per-sample (instance) norms
            adv, cls = trainer.D_run(torch.cat([real, fake.to(real.dtype)]))
            adv_real, adv_fake, cls_real = adv[:b], adv[b:], cls[:b]
        else:  # batch statistics must not mix real and fake images
            adv_real, cls_real = trainer.D_run(real)
            adv_fake, _ = trainer.D_run(fake)
    d_adv = losses.d_adv_loss(cfg.mode, adv_real.float(), adv_fake.float())
    d_cls = losses.attr_bce(cls_real.float(), source)
    alpha = torch.rand(b, 1, 1, 1, device=trainer.device, generator=trainer.rng_device)
    with trainer.full_precision():
        if cfg.mode == "wgan":  # interpolates between real and edited images
            other = fake.float()
        else:  # DRAGAN: around the real samples
            noise = torch.rand(real.shape, device=trainer.device, generator=trainer.rng_device)
            other = losses.perturb_real(real.float(), noise)
        d_gp = losses.gradient_penalty(
            lambda x: trainer.D_penalty(x)[0], real.float(), other, alpha
        )
    loss = cfg.lambda_adv * d_adv + cfg.lambda_gp * d_gp + cfg.lambda_cls_d * d_cls
    trainer.opt_D.zero_grad(set_to_none=True)
    trainer.scaler_D.scale(loss).backward()
    trainer.scaler_D.step(trainer.opt_D)
    trainer.scaler_D.update()
    if trainer.d_scales:
        hold_filter_scales(trainer.d_scales)
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
    real = _prepare(trainer, real)
    with trainer.autocast():
        out = trainer.G_run(real, target_enc, source_enc)
        adv, cls = trainer.D_run(out.edited)
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
