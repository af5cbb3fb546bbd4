"""Image and distribution metrics: Frechet distance, PSNR, SSIM (optionally masked).

Definitions (what the tests check against references):
- ``frechet_distance``: ``|mu1 - mu2|^2 + tr(S1 + S2 - 2 (S1 S2)^(1/2))`` between two
  Gaussians, as in pytorch-fid. The trace of the matrix square root comes from
  ``scipy.linalg.sqrtm`` when scipy is installed (pytorch-fid's route, with its
  ``eps`` retry for a singular product), else from a symmetric eigen-decomposition,
  which needs only numpy: ``tr (S1 S2)^(1/2) = sum sqrt(eig(S1^(1/2) S2 S1^(1/2)))``.
- ``FeatureStats``: streaming mean and unbiased covariance (``np.cov`` convention,
  divide by N - 1) in float64, merged batch by batch (Chan et al.).
- ``psnr``: ``10 log10(data_range^2 / MSE)`` per image, MSE over all channels and
  pixels (or over the pixels of a mask); identical images give ``inf``.
- ``ssim``: per image, the mean over channels and pixels of the local SSIM map with
  an 11 px Gaussian window (sigma 1.5, truncated at 3.5 sigma), K1 0.01, K2 0.03,
  population (not sample) covariances, and the 5 px border cropped, exactly like
  ``skimage.metrics.structural_similarity(a, b, channel_axis=-1,
  gaussian_weights=True, sigma=1.5, use_sample_covariance=False, data_range=R)``.
  With a mask, the mean runs over the mask's pixels inside the cropped area.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import torch
import torch.nn.functional as F

SSIM_SIGMA = 1.5
SSIM_TRUNCATE = 3.5
SSIM_RADIUS = int(SSIM_TRUNCATE * SSIM_SIGMA + 0.5)  # 5 -> an 11 px window
SSIM_K1, SSIM_K2 = 0.01, 0.03
PSNR_CAP_DB = 120.0  # inf (identical images) when averaging; above any finite uint8 PSNR to 1024 px


# --------------------------------------------------------------------------- Frechet
def _has_scipy() -> bool:
    try:
        import scipy.linalg  # noqa: F401
    except ImportError:
        return False
    return True


def _trace_sqrt_eigh(s1: np.ndarray, s2: np.ndarray) -> float:
    """tr((S1 S2)^(1/2)) for symmetric PSD S1, S2 via two eigen-decompositions."""
    w, v = np.linalg.eigh(s1)
    root1 = (v * np.sqrt(np.clip(w, 0, None))) @ v.T  # S1^(1/2), symmetric
    m = root1 @ s2 @ root1
    m = (m + m.T) / 2  # symmetric up to rounding; same eigenvalues as S1 S2
    return float(np.sqrt(np.clip(np.linalg.eigvalsh(m), 0, None)).sum())


def _trace_sqrt_scipy(s1: np.ndarray, s2: np.ndarray, eps: float) -> float:
    """tr((S1 S2)^(1/2)) with scipy's sqrtm, retrying with ``eps`` on the diagonal."""
    from scipy import linalg

    with warnings.catch_warnings():  # few samples -> singular covariances; handled below
        warnings.simplefilter("ignore", linalg.LinAlgWarning)
        covmean = linalg.sqrtm(s1 @ s2)
    if not np.isfinite(covmean).all():
        warnings.warn(
            f"Frechet distance: singular covariance product; adding {eps} to the diagonals",
            stacklevel=3,
        )
        offset = np.eye(s1.shape[0]) * eps
        covmean = linalg.sqrtm((s1 + offset) @ (s2 + offset))
    if np.iscomplexobj(covmean):
        imag = np.abs(np.diagonal(covmean).imag).max()
        if imag > 1e-3:
            raise ValueError(f"Frechet distance: matrix square root has imaginary part {imag}")
        covmean = covmean.real
    return float(np.trace(covmean))


def frechet_distance(
    mu1: np.ndarray,
    sigma1: np.ndarray,
    mu2: np.ndarray,
    sigma2: np.ndarray,
    method: str = "auto",
    eps: float = 1e-6,
) -> float:
    """Frechet distance between N(mu1, sigma1) and N(mu2, sigma2).

    mu: (d,), sigma: (d, d). ``method``: "scipy" (scipy.linalg.sqrtm), "eigh"
    (numpy only) or "auto" (scipy when installed, else eigh).
    """
    mu1, mu2 = (
        np.atleast_1d(np.asarray(mu1, np.float64)),
        np.atleast_1d(np.asarray(mu2, np.float64)),
    )
    s1, s2 = (
        np.atleast_2d(np.asarray(sigma1, np.float64)),
        np.atleast_2d(np.asarray(sigma2, np.float64)),
    )
    if mu1.shape != mu2.shape or s1.shape != s2.shape or s1.shape != (mu1.size, mu1.size):
        raise ValueError(
            f"Frechet distance: shapes differ (mu {mu1.shape} vs {mu2.shape}, "
            f"sigma {s1.shape} vs {s2.shape})"
        )
    if method == "auto":
        method = "scipy" if _has_scipy() else "eigh"
    if method == "scipy":
        tr = _trace_sqrt_scipy(s1, s2, eps)
    elif method == "eigh":
        tr = _trace_sqrt_eigh(s1, s2)
    else:
        raise ValueError(f"unknown Frechet method {method!r}; use auto, scipy or eigh")
    diff = mu1 - mu2
    return float(diff @ diff + np.trace(s1) + np.trace(s2) - 2 * tr)


class FeatureStats:
    """Streaming mean and covariance of feature vectors (float64, CPU).

    ``update(features)`` with (B, d) tensors or arrays, in any number of batches;
    ``mean`` (d,) and ``cov`` (d, d) (divides by N - 1, like ``np.cov``).
    """

    def __init__(self) -> None:
        self.n = 0
        self._mean: np.ndarray | None = None
        self._m2: np.ndarray | None = None  # sum of outer products of deviations

    def update(self, features: torch.Tensor | np.ndarray) -> None:
        if isinstance(features, torch.Tensor):
            features = features.detach().to("cpu", torch.float64).numpy()
        x = np.asarray(features, np.float64)
        if x.ndim != 2:
            raise ValueError(f"FeatureStats.update expects (B, d) features, got {x.shape}")
        nb = x.shape[0]
        if nb == 0:
            return
        mb = x.mean(axis=0)
        dev = x - mb
        m2b = dev.T @ dev
        if self._mean is None:
            self.n, self._mean, self._m2 = nb, mb, m2b
            return
        if mb.shape != self._mean.shape:
            raise ValueError(f"feature size changed from {self._mean.size} to {mb.size}")
        n = self.n + nb
        delta = mb - self._mean
        self._mean = self._mean + delta * (nb / n)
        self._m2 = self._m2 + m2b + np.outer(delta, delta) * (self.n * nb / n)
        self.n = n

    @property
    def mean(self) -> np.ndarray:
        if self._mean is None:
            raise ValueError("FeatureStats is empty")
        return self._mean

    @property
    def cov(self) -> np.ndarray:
        if self._m2 is None or self.n < 2:
            raise ValueError("FeatureStats needs at least 2 samples for a covariance")
        return self._m2 / (self.n - 1)

    def frechet_distance(self, other: FeatureStats, method: str = "auto") -> float:
        """Frechet distance between this set's Gaussian and ``other``'s."""
        return frechet_distance(self.mean, self.cov, other.mean, other.cov, method=method)


# --------------------------------------------------------------------------- PSNR / SSIM
def _check_pair(a: torch.Tensor, b: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    if a.shape != b.shape or a.dim() != 4:
        raise ValueError(
            f"expected two (B, C, H, W) tensors of one shape, got {a.shape}, {b.shape}"
        )
    return a.to(torch.float64), b.to(torch.float64)


def _mask_tensor(
    mask: torch.Tensor | np.ndarray, batch: int, h: int, w: int, device
) -> torch.Tensor:
    """A (H, W) or (B, H, W) boolean mask as a float64 (B, 1, H, W) tensor."""
    m = torch.as_tensor(np.asarray(mask) if not isinstance(mask, torch.Tensor) else mask)
    if m.dim() == 2:
        m = m.expand(batch, h, w)
    if m.shape != (batch, h, w):
        raise ValueError(f"mask shape {tuple(m.shape)} does not match images ({batch}, {h}, {w})")
    return m.to(device=device, dtype=torch.float64)[:, None]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor | None) -> torch.Tensor:
    """Per-image mean of (B, C, H, W) ``values`` over channels and (masked) pixels."""
    if mask is None:
        return values.mean(dim=(1, 2, 3))
    weight = mask.expand_as(values)
    total = weight.sum(dim=(1, 2, 3))
    return (values * weight).sum(dim=(1, 2, 3)) / total  # nan where the mask is empty


def psnr(
    a: torch.Tensor,
    b: torch.Tensor,
    data_range: float,
    mask: torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Per-image PSNR in dB, shape (B,) float64.

    a, b: (B, C, H, W) with values spanning ``data_range`` (255 for uint8, 2 for
    [-1, 1]); mask: optional bool (H, W) or (B, H, W), True = pixels that count.
    Identical images (or regions) give ``inf``; an empty mask gives ``nan``.
    """
    a, b = _check_pair(a, b)
    m = None if mask is None else _mask_tensor(mask, a.shape[0], a.shape[2], a.shape[3], a.device)
    mse = _masked_mean((a - b) ** 2, m)
    return 10 * torch.log10(data_range**2 / mse)  # mse 0 -> inf


def _gaussian_window(device) -> torch.Tensor:
    x = torch.arange(-SSIM_RADIUS, SSIM_RADIUS + 1, dtype=torch.float64, device=device)
    w = torch.exp(-0.5 * (x / SSIM_SIGMA) ** 2)
    return w / w.sum()


def _filter_valid(x: torch.Tensor, window: torch.Tensor) -> torch.Tensor:
    """Separable Gaussian filter without padding: (B, C, H, W) -> (B, C, H-10, W-10).

    skimage filters with reflect padding and then crops the 5 px border, so the
    values it keeps never touch the padding: a valid convolution gives the same.
    """
    c = x.shape[1]
    k = window.numel()
    x = F.conv2d(x, window.view(1, 1, k, 1).expand(c, 1, k, 1), groups=c)
    return F.conv2d(x, window.view(1, 1, 1, k).expand(c, 1, 1, k), groups=c)


def ssim_map(a: torch.Tensor, b: torch.Tensor, data_range: float) -> torch.Tensor:
    """Local SSIM, (B, C, H-10, W-10) float64 (the 5 px border is cropped)."""
    a, b = _check_pair(a, b)
    side = 2 * SSIM_RADIUS + 1
    if min(a.shape[2:]) < side:
        raise ValueError(f"SSIM needs images of at least {side} x {side} px, got {tuple(a.shape)}")
    win = _gaussian_window(a.device)
    ux, uy = _filter_valid(a, win), _filter_valid(b, win)
    vx = _filter_valid(a * a, win) - ux * ux
    vy = _filter_valid(b * b, win) - uy * uy
    vxy = _filter_valid(a * b, win) - ux * uy
    c1, c2 = (SSIM_K1 * data_range) ** 2, (SSIM_K2 * data_range) ** 2
    num = (2 * ux * uy + c1) * (2 * vxy + c2)
    den = (ux * ux + uy * uy + c1) * (vx + vy + c2)
    return num / den


def ssim(
    a: torch.Tensor,
    b: torch.Tensor,
    data_range: float,
    mask: torch.Tensor | np.ndarray | None = None,
) -> torch.Tensor:
    """Per-image SSIM, shape (B,) float64, matching scikit-image (see module doc).

    a, b: (B, C, H, W), H and W >= 11; mask: optional bool (H, W) or (B, H, W):
    the mean runs over masked pixels at least 5 px from the border (windows near
    the mask's edge still see pixels outside it). An empty mask gives ``nan``.
    """
    smap = ssim_map(a, b, data_range)
    if mask is None:
        return _masked_mean(smap, None)
    r = SSIM_RADIUS
    m = _mask_tensor(mask, a.shape[0], a.shape[2], a.shape[3], smap.device)[:, :, r:-r, r:-r]
    return _masked_mean(smap, m)


def mean_psnr(values: torch.Tensor | list[float], cap_db: float = PSNR_CAP_DB) -> float:
    """Average of per-image PSNRs with ``inf`` (identical images) counted as ``cap_db``.

    ``nan`` entries (empty masks) are skipped; returns ``nan`` when none remain.
    """
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    v = v[~torch.isnan(v)].clamp(max=cap_db)
    return float(v.mean()) if v.numel() else math.nan


def nan_mean(values: torch.Tensor | list[float]) -> float:
    """Mean that skips ``nan`` entries; ``nan`` when all are."""
    v = torch.as_tensor(values, dtype=torch.float64).flatten()
    v = v[~torch.isnan(v)]
    return float(v.mean()) if v.numel() else math.nan


def ratio_se(totals: torch.Tensor, counts: torch.Tensor) -> float:
    """Standard error of ``sum(totals) / sum(counts)`` with images as the sampling unit.

    totals, counts: (n,) per image (e.g. attributes kept and attributes checked, or a
    sum of per-edit PSNRs and the number of edits). Edits of one image are correlated,
    so the image is the unit: the linearised (delta-method) variance of a ratio
    estimator, ``sqrt(n / (n - 1) * sum((t_i - R c_i)^2)) / sum(c_i)``. With one value
    per image it is the usual ``std / sqrt(n)``. Images with ``counts == 0`` are
    dropped; ``nan`` when fewer than two remain.
    """
    t = torch.as_tensor(totals, dtype=torch.float64).flatten()
    c = torch.as_tensor(counts, dtype=torch.float64).flatten()
    keep = c > 0
    t, c = t[keep], c[keep]
    n = t.numel()
    if n < 2:
        return math.nan
    r = t.sum() / c.sum()
    return float(torch.sqrt(n / (n - 1) * ((t - r * c) ** 2).sum()) / c.sum())


def mean_se(values: torch.Tensor, cap_db: float | None = None) -> float:
    """Standard error of the mean of ``values`` (n,) or (n, k): rows are images.

    With (n, k), the k values of a row (one per edited attribute) are one cluster
    (``ratio_se``). ``nan`` entries are skipped as in ``mean_psnr`` / ``nan_mean``;
    ``cap_db`` clamps PSNRs (``inf`` = identical images) the way ``mean_psnr`` does.
    """
    v = torch.as_tensor(values, dtype=torch.float64)
    v = v.reshape(v.shape[0], -1) if v.ndim else v.reshape(1, 1)
    if cap_db is not None:
        v = v.clamp(max=cap_db)
    ok = ~torch.isnan(v)
    return ratio_se(torch.where(ok, v, torch.zeros_like(v)).sum(1), ok.sum(1))
