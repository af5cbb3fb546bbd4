"""The GAN and attribute losses on inputs whose values are known by hand."""

import math

import pytest
import torch

from intergan import losses
from intergan.config import MODES


def _col(*values):
    return torch.tensor(values, dtype=torch.float32)[:, None]  # (B, 1)


def test_wgan_values():
    real, fake = _col(3.0, 3.0), _col(0.0, 2.0)  # means 3 and 1
    assert losses.wgan_d_loss(real, fake).item() == pytest.approx(-2.0)
    assert losses.wgan_g_loss(fake).item() == pytest.approx(-1.0)


def test_lsgan_values():
    # real scores (1, 0): squared errors to 1 are (0, 1); fake scores (0, 2) to 0: (0, 4)
    real, fake = _col(1.0, 0.0), _col(0.0, 2.0)
    assert losses.lsgan_d_loss(real, fake).item() == pytest.approx(0.5 + 2.0)
    # fake (0, 2) towards 1: squared errors (1, 1)
    assert losses.lsgan_g_loss(fake).item() == pytest.approx(1.0)


def test_dcgan_values():
    zero = _col(0.0, 0.0)  # sigmoid(0) = 1/2: each BCE term is log 2
    assert losses.dcgan_d_loss(zero, zero).item() == pytest.approx(2 * math.log(2))
    assert losses.dcgan_g_loss(zero).item() == pytest.approx(math.log(2))
    # a confident, correct discriminator has almost no loss; the generator pays
    assert losses.dcgan_d_loss(_col(20.0), _col(-20.0)).item() < 1e-6
    assert losses.dcgan_g_loss(_col(-20.0)).item() == pytest.approx(20.0, rel=1e-6)


@pytest.mark.parametrize("mode", MODES)
def test_mode_dispatch_matches_the_named_functions(mode):
    real, fake = torch.randn(4, 1), torch.randn(4, 1)
    d = getattr(losses, f"{mode}_d_loss")(real, fake)
    g = getattr(losses, f"{mode}_g_loss")(fake)
    assert torch.equal(losses.d_adv_loss(mode, real, fake), d)
    assert torch.equal(losses.g_adv_loss(mode, fake), g)


def _linear_critic(w):
    return lambda x: (x.flatten(1) * w.flatten()).sum(1, keepdim=True)  # (B, 1)


def test_gradient_penalty_of_unit_norm_linear_critic_is_zero():
    g = torch.Generator().manual_seed(0)
    w = torch.randn(3, 4, 4, generator=g)
    w = w / w.norm()  # gradient of x -> <w, x> is w everywhere: norm exactly 1
    real, fake = torch.randn(5, 3, 4, 4, generator=g), torch.randn(5, 3, 4, 4, generator=g)
    alpha = torch.rand(5, 1, 1, 1, generator=g)
    gp = losses.gradient_penalty(_linear_critic(w), real, fake, alpha)
    assert gp.item() == pytest.approx(0.0, abs=1e-10)


def test_gradient_penalty_value_and_gradient_for_norm_two():
    w = torch.zeros(3, 2, 2)
    w[0, 0, 0] = 2.0  # gradient norm 2: penalty (2 - 1)^2 = 1
    w.requires_grad_(True)
    real, fake = torch.randn(3, 3, 2, 2), torch.randn(3, 3, 2, 2)
    gp = losses.gradient_penalty(_linear_critic(w), real, fake, torch.rand(3, 1, 1, 1))
    assert gp.item() == pytest.approx(1.0)
    # the penalty trains the critic: d/dw (|w| - 1)^2 = 2 (|w| - 1) w / |w| = (2, 0, ...)
    gp.backward()
    assert w.grad[0, 0, 0].item() == pytest.approx(2.0)
    assert w.grad.abs().sum().item() == pytest.approx(2.0)


def test_gradient_penalty_evaluates_the_interpolates():
    seen = []

    def critic(x):
        seen.append(x.detach().clone())
        return x.flatten(1).sum(1, keepdim=True)

    real, fake = torch.zeros(2, 3, 2, 2), torch.ones(2, 3, 2, 2)
    alpha = torch.tensor([0.25, 0.75])[:, None, None, None]
    losses.gradient_penalty(critic, real, fake, alpha)
    assert torch.allclose(seen[0][0], torch.full((3, 2, 2), 0.25))
    assert torch.allclose(seen[0][1], torch.full((3, 2, 2), 0.75))


def test_perturb_real_scales_noise_by_half_the_std():
    real = torch.tensor([-1.0, 1.0]).repeat(8).reshape(4, 1, 2, 2)
    noise = torch.ones_like(real)
    out = losses.perturb_real(real, noise)
    assert torch.allclose(out - real, torch.full_like(real, 0.5 * real.std().item()))


def test_attribute_bce_and_l1_by_hand():
    logits = torch.tensor([[0.0, 0.0]])
    assert losses.attr_bce(logits, torch.tensor([[1.0, 0.0]])).item() == pytest.approx(math.log(2))
    # logit 2 for label 1: log(1 + e^-2); logit 2 for label 0: log(1 + e^2)
    got = losses.attr_bce(torch.tensor([[2.0, 2.0]]), torch.tensor([[1.0, 0.0]])).item()
    assert got == pytest.approx((math.log1p(math.exp(-2)) + math.log1p(math.exp(2))) / 2)
    rec, real = torch.zeros(1, 3, 2, 2), torch.zeros(1, 3, 2, 2)
    rec[0, 0, 0, 0] = 1.2  # one pixel off by 1.2 out of 12
    assert losses.reconstruction_l1(rec, real).item() == pytest.approx(0.1)
