"""GAN and attribute losses as small pure functions over tensors.

docs/design.md section 3. Every function takes tensors and returns a scalar tensor;
loss weights (15, 100, 10, ...) and schedules live in ``training/steps.py``.

Shapes: ``adv`` scores are (B, 1) raw critic outputs (no sigmoid); attribute
``logits`` and binary ``labels`` are (B, n_attrs); images are (B, 3, H, W).
Adversarial modes (``intergan.config.MODES``, the values ``--mode`` allows): ``wgan``
(WGAN-GP), ``lsgan``, ``dcgan`` (with a DRAGAN-style penalty around real samples).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
import torch.nn.functional as F


# --- WGAN-GP -------------------------------------------------------------------------
def wgan_d_loss(real_adv: torch.Tensor, fake_adv: torch.Tensor) -> torch.Tensor:
    """Critic loss: minus the Wasserstein estimate ``E[D(real)] - E[D(fake)]``."""
    return fake_adv.mean() - real_adv.mean()


def wgan_g_loss(fake_adv: torch.Tensor) -> torch.Tensor:
    """Generator loss: raise the critic's score of fakes."""
    return -fake_adv.mean()


# --- LSGAN ---------------------------------------------------------------------------
def lsgan_d_loss(real_adv: torch.Tensor, fake_adv: torch.Tensor) -> torch.Tensor:
    """Least squares: real scores towards 1, fake scores towards 0."""
    return F.mse_loss(real_adv, torch.ones_like(real_adv)) + F.mse_loss(
        fake_adv, torch.zeros_like(fake_adv)
    )


def lsgan_g_loss(fake_adv: torch.Tensor) -> torch.Tensor:
    """Least squares: fake scores towards 1."""
    return F.mse_loss(fake_adv, torch.ones_like(fake_adv))


# --- DCGAN (non-saturating, logits) --------------------------------------------------
def dcgan_d_loss(real_adv: torch.Tensor, fake_adv: torch.Tensor) -> torch.Tensor:
    """Binary cross-entropy on logits: real -> 1, fake -> 0."""
    return F.binary_cross_entropy_with_logits(
        real_adv, torch.ones_like(real_adv)
    ) + F.binary_cross_entropy_with_logits(fake_adv, torch.zeros_like(fake_adv))


def dcgan_g_loss(fake_adv: torch.Tensor) -> torch.Tensor:
    """Non-saturating generator loss: ``-log sigmoid(D(fake))``."""
    return F.binary_cross_entropy_with_logits(fake_adv, torch.ones_like(fake_adv))


_D_LOSSES = {"wgan": wgan_d_loss, "lsgan": lsgan_d_loss, "dcgan": dcgan_d_loss}
_G_LOSSES = {"wgan": wgan_g_loss, "lsgan": lsgan_g_loss, "dcgan": dcgan_g_loss}


def d_adv_loss(mode: str, real_adv: torch.Tensor, fake_adv: torch.Tensor) -> torch.Tensor:
    """The discriminator's adversarial loss for ``mode`` (one of ``intergan.config.MODES``)."""
    return _D_LOSSES[mode](real_adv, fake_adv)


def g_adv_loss(mode: str, fake_adv: torch.Tensor) -> torch.Tensor:
    """The generator's adversarial loss for ``mode`` (one of ``intergan.config.MODES``)."""
    return _G_LOSSES[mode](fake_adv)


# --- penalties -----------------------------------------------------------------------
def gradient_penalty(
    critic: Callable[[torch.Tensor], torch.Tensor],
    real: torch.Tensor,
    other: torch.Tensor,
    alpha: torch.Tensor,
) -> torch.Tensor:
    """``E[(||grad_x critic(x)||_2 - 1)^2]`` at ``x = real + alpha * (other - real)``.

    ``critic`` maps images (B, 3, H, W) to scores (B, 1); ``alpha`` is (B, 1, 1, 1)
    in [0, 1]. For WGAN-GP ``other`` is the fake batch; for the DRAGAN-style penalty
    it is :func:`perturb_real` of the real batch. The graph is kept
    (``create_graph``) so the penalty trains the critic. Call it in float32: the
    squared gradient norm overflows or underflows easily in half precision.
    """
    x = (real.detach() + alpha * (other.detach() - real.detach())).requires_grad_(True)
    score = critic(x)
    (grad,) = torch.autograd.grad(score.sum(), x, create_graph=True)
    norm = grad.flatten(1).norm(2, dim=1)  # (B,)
    return ((norm - 1) ** 2).mean()


def perturb_real(real: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
    """DRAGAN's perturbed real batch: ``real + 0.5 * std(real) * noise``.

    ``noise`` has ``real``'s shape, uniform in [0, 1) (as in AttGAN's DRAGAN
    penalty); pass it in so the caller controls the random generator.
    """
    return real + 0.5 * real.std() * noise


# --- attributes and reconstruction ---------------------------------------------------
def attr_bce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean binary cross-entropy of attribute ``logits`` against {0,1} ``labels``."""
    return F.binary_cross_entropy_with_logits(logits, labels)


def reconstruction_l1(reconstructed: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """Mean absolute pixel error between an output image (the reconstruction, or the
    edit for `g_keep`) and the input."""
    return F.l1_loss(reconstructed, real)
