"""Metric code against references: scipy for Frechet distance, scikit-image for PSNR/SSIM."""

from __future__ import annotations

import hashlib
import math
import sys

import numpy as np
import pytest
import torch

from intergan.errors import UserError
from intergan.evaluation import metrics

scipy_linalg = pytest.importorskip("scipy.linalg")
skm = pytest.importorskip("skimage.metrics")


def _scipy_fd(mu1, s1, mu2, s2) -> float:
    covmean = scipy_linalg.sqrtm(s1 @ s2).real
    d = mu1 - mu2
    return float(d @ d + np.trace(s1) + np.trace(s2) - 2 * np.trace(covmean))


def _random_cov(rng, d):
    a = rng.normal(size=(d, d))
    return a @ a.T / d + 0.1 * np.eye(d)


@pytest.mark.parametrize("method", ["eigh", "scipy", "auto"])
def test_frechet_matches_scipy_on_known_gaussians(method):
    rng = np.random.default_rng(0)
    d = 16
    mu1, mu2 = rng.normal(size=d), rng.normal(size=d)
    s1, s2 = _random_cov(rng, d), _random_cov(rng, d)
    ours = metrics.frechet_distance(mu1, s1, mu2, s2, method=method)
    assert ours == pytest.approx(_scipy_fd(mu1, s1, mu2, s2), rel=1e-8, abs=1e-8)
    # Closed form for diagonal covariances: |dmu|^2 + sum (sqrt(a) - sqrt(b))^2.
    a, b = rng.uniform(0.5, 2, d), rng.uniform(0.5, 2, d)
    closed = float((mu1 - mu2) @ (mu1 - mu2) + ((np.sqrt(a) - np.sqrt(b)) ** 2).sum())
    got = metrics.frechet_distance(mu1, np.diag(a), mu2, np.diag(b), method=method)
    assert got == pytest.approx(closed, rel=1e-10)


def test_frechet_of_identical_sets_is_zero_even_when_singular():
    rng = np.random.default_rng(1)
    x = rng.normal(size=(10, 32))  # 10 samples in 32-d: a singular covariance
    stats = metrics.FeatureStats()
    stats.update(x)
    assert stats.frechet_distance(stats, method="eigh") == pytest.approx(0, abs=1e-6)
    other = metrics.FeatureStats()
    other.update(x + 1.0)  # shifted by 1 in every dimension: FD = 32
    assert metrics.frechet_distance(
        stats.mean, stats.cov, other.mean, other.cov, method="eigh"
    ) == pytest.approx(32.0, abs=1e-6)


def test_frechet_rejects_mismatched_shapes():
    with pytest.raises(ValueError, match="shapes differ"):
        metrics.frechet_distance(np.zeros(3), np.eye(3), np.zeros(4), np.eye(4))


def test_streaming_stats_equal_numpy_over_uneven_batches():
    rng = np.random.default_rng(2)
    x = rng.normal(loc=3.0, size=(103, 7))
    stats = metrics.FeatureStats()
    for chunk in (x[:1], x[1:50], torch.from_numpy(x[50:51]), x[51:]):
        stats.update(chunk)
    assert stats.n == 103
    np.testing.assert_allclose(stats.mean, x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(stats.cov, np.cov(x, rowvar=False), rtol=1e-10)


def _images(seed, b=3, h=32, w=40):
    g = torch.Generator().manual_seed(seed)
    return torch.rand(b, 3, h, w, generator=g)


def _hwc(t):
    return t.permute(1, 2, 0).double().numpy()


@pytest.mark.parametrize("data_range", [1.0, 255.0])
def test_psnr_and_ssim_match_scikit_image(data_range):
    a = _images(0) * data_range
    b = (a + _images(1) * 0.2 * data_range).clamp(0, data_range)
    ours_p = metrics.psnr(a, b, data_range)
    ours_s = metrics.ssim(a, b, data_range)
    for i in range(a.shape[0]):
        ref_p = skm.peak_signal_noise_ratio(_hwc(a[i]), _hwc(b[i]), data_range=data_range)
        ref_s = skm.structural_similarity(
            _hwc(a[i]),
            _hwc(b[i]),
            channel_axis=-1,
            gaussian_weights=True,
            sigma=1.5,
            use_sample_covariance=False,
            data_range=data_range,
        )
        assert float(ours_p[i]) == pytest.approx(ref_p, rel=1e-10)
        assert float(ours_s[i]) == pytest.approx(ref_s, abs=1e-10)


def test_identical_images_give_ssim_one_and_psnr_inf():
    a = _images(3)
    assert torch.allclose(metrics.ssim(a, a, 1.0), torch.ones(3, dtype=torch.float64))
    p = metrics.psnr(a, a, 1.0)
    assert torch.isinf(p).all() and (p > 0).all()
    assert metrics.mean_psnr(torch.tensor([math.inf, 20.0])) == pytest.approx(70.0)  # inf -> 120


def test_masked_metrics_use_only_the_mask():
    a = _images(4, b=2)
    b = a.clone()
    b[:, :, :, 20:] = 1 - b[:, :, :, 20:]  # change only the right half
    left = torch.zeros(32, 40, dtype=torch.bool)
    left[:, :14] = True  # far enough from column 20 that no SSIM window reaches it
    assert torch.isinf(metrics.psnr(a, b, 1.0, mask=left)).all()
    assert torch.allclose(metrics.ssim(a, b, 1.0, mask=left), torch.ones(2, dtype=torch.float64))
    right = ~left
    # Masked PSNR equals PSNR of the cropped region.
    expected = metrics.psnr(a[..., 14:], b[..., 14:], 1.0)
    assert torch.allclose(metrics.psnr(a, b, 1.0, mask=right), expected)
    # Per-image masks, one of them empty: nan, which the averages skip.
    masks = torch.stack([right, torch.zeros_like(right)])
    p = metrics.psnr(a, b, 1.0, mask=masks)
    assert not torch.isnan(p[0]) and torch.isnan(p[1])
    assert metrics.mean_psnr(p) == pytest.approx(float(p[0]))


def test_ssim_rejects_images_smaller_than_the_window():
    a = torch.rand(1, 3, 8, 8)
    with pytest.raises(ValueError, match="at least 11"):
        metrics.ssim(a, a, 1.0)


def _random_fid_weights(path):
    """A file of FID Inception weights of the right shapes and random values."""
    from intergan.evaluation import inception

    torch.manual_seed(0)
    net = inception.fid_inception_v3()
    for m in net.modules():  # BN statistics far from the defaults exercise every layer
        if isinstance(m, torch.nn.BatchNorm2d):
            m.running_mean.uniform_(-0.1, 0.1)
            m.running_var.uniform_(0.5, 1.5)
    torch.save(net.state_dict(), path)
    return net.state_dict()


def test_fid_inception_matches_pytorch_fid_architecture(tmp_path, monkeypatch):
    """Same random weights in both networks give the same features (no download)."""
    pf = pytest.importorskip("pytorch_fid.inception")
    from intergan.evaluation import inception

    path = tmp_path / inception.FID_WEIGHTS_NAME
    state = _random_fid_weights(path)
    # this file is not the real one: accept its own hash, computed here
    monkeypatch.setattr(
        inception, "FID_WEIGHTS_SHA256", hashlib.sha256(path.read_bytes()).hexdigest()[:8]
    )
    ours = inception.load_fid_inception(path)
    monkeypatch.setattr(pf, "load_state_dict_from_url", lambda *a, **k: state)
    ref = pf.InceptionV3([pf.InceptionV3.BLOCK_INDEX_BY_DIM[2048]]).eval()
    x = torch.rand(2, 3, 64, 64) * 2 - 1
    with torch.no_grad():
        expected = ref((x + 1) / 2)[0].flatten(1)
    got = ours.features(x)
    assert got.shape == (2, inception.FID_FEATURE_DIM)
    torch.testing.assert_close(got, expected, rtol=1e-4, atol=1e-5)


def test_inception_weights_errors_name_the_flag(tmp_path, monkeypatch):
    pytest.importorskip("pytorch_fid.inception")
    from intergan.evaluation import inception

    with pytest.raises(UserError, match="--inception-weights.*does not exist"):
        inception.load_fid_inception(tmp_path / "missing.pth")
    # Random weights of the right shapes, under the right name. Before: loaded, and
    # `evaluate` reported "FID (Inception-v3) 0.000".
    fake = tmp_path / inception.FID_WEIGHTS_NAME
    _random_fid_weights(fake)
    digest = hashlib.sha256(fake.read_bytes()).hexdigest()
    assert inception.sha256_of(fake) == digest
    with pytest.raises(UserError, match=rf"not pytorch-fid's .*: its SHA-256 begins {digest[:8]}, "
                                        "that file's begins 6726825d"):  # fmt: skip
        inception.load_fid_inception(fake)
    bad = tmp_path / "bad.pth"  # the expected hash, but not the network's weights
    torch.save({"conv.weight": torch.zeros(1)}, bad)
    monkeypatch.setattr(inception, "FID_WEIGHTS_SHA256", inception.sha256_of(bad)[:8])
    with pytest.raises(UserError, match=r"--inception-weights: cannot load .*bad\.pth"):
        inception.load_fid_inception(bad)


def test_standard_fid_without_pytorch_fid_names_the_extra(tmp_path, monkeypatch):
    from intergan.evaluation import inception

    path = tmp_path / "w.pth"
    path.write_bytes(b"weights")
    monkeypatch.setattr(inception, "FID_WEIGHTS_SHA256", inception.sha256_of(path)[:8])
    monkeypatch.setitem(sys.modules, "pytorch_fid", None)  # not installed
    with pytest.raises(
        UserError, match=r"--inception-weights needs .*pip install 'intergan\[fid\]'"
    ):
        inception.load_fid_inception(path)


def test_standard_errors_of_means_and_ratios():
    rng = np.random.default_rng(0)
    x = rng.normal(size=50)
    # one value per image: the textbook std / sqrt(n)
    assert metrics.mean_se(torch.tensor(x)) == pytest.approx(x.std(ddof=1) / math.sqrt(50))
    # a share of successes: sqrt(p (1 - p) / (n - 1))
    hits = torch.tensor([1.0] * 30 + [0.0] * 20)
    assert metrics.mean_se(hits) == pytest.approx(math.sqrt(0.6 * 0.4 / 49))
    # several edits per image form one cluster: identical values within each image
    # carry no more information than one value per image
    rows = torch.tensor(x).unsqueeze(1).repeat(1, 13)
    assert metrics.mean_se(rows) == pytest.approx(metrics.mean_se(torch.tensor(x)))
    # a ratio of sums with unequal counts, against the delta-method formula by hand
    t, c = np.array([3.0, 5.0, 0.0, 7.0]), np.array([4.0, 6.0, 2.0, 8.0])
    r = t.sum() / c.sum()
    by_hand = math.sqrt(4 / 3 * ((t - r * c) ** 2).sum()) / c.sum()
    assert metrics.ratio_se(torch.tensor(t), torch.tensor(c)) == pytest.approx(by_hand)
    # nan entries are skipped, inf PSNRs are capped as in mean_psnr, too few images give nan
    with_nan = torch.tensor([[1.0, math.nan], [3.0, 5.0], [math.nan, math.nan]])
    assert metrics.mean_se(with_nan) == pytest.approx(
        metrics.ratio_se(torch.tensor([1.0, 8.0]), torch.tensor([1.0, 2.0]))
    )
    capped = metrics.mean_se(torch.tensor([math.inf, 20.0]), cap_db=120.0)
    assert capped == pytest.approx(metrics.mean_se(torch.tensor([120.0, 20.0])))
    assert math.isnan(metrics.mean_se(torch.tensor([3.0])))
    assert metrics.mean_se(torch.full((5,), 2.0)) == 0.0
