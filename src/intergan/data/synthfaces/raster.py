"""Vectorised rasterisation helpers: coordinate frames, coverage, noise, layers.

Every element of a SynthFaces image is drawn as a *layer*: a pixel window, an
alpha (coverage) array and a colour (constant or per-pixel). Shapes are given as
approximate signed distances ``d`` in face units (negative inside); coverage is the
analytic anti-aliasing ``clip(0.5 - d / px, 0, 1)`` with ``px`` the pixel size in
face units. All arrays are float32 so rendering is fast and deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

F32 = np.float32


@dataclass
class Layer:
    """One paint step: ``img[sl] = img[sl] * (1 - alpha) + colour * alpha``."""

    sl: tuple[slice, slice]
    alpha: np.ndarray  # (h, w) float32 in [0, 1]
    colour: np.ndarray  # (3,) or (h, w, 3) float32 in [0, 1]


@dataclass
class Frame:
    """Pixel grids for one (identity, size): image frame U, V and face frame X, Y.

    Image frame: [-1, 1] across the image, y down. Face frame: image frame shifted by
    the face centre, rotated by the head roll and divided by the face scale.
    """

    size: int
    cx: float
    cy: float
    roll: float
    scale: float
    U: np.ndarray = field(init=False)
    V: np.ndarray = field(init=False)
    X: np.ndarray = field(init=False)
    Y: np.ndarray = field(init=False)
    px: float = field(init=False)

    def __post_init__(self) -> None:
        s = self.size
        t = ((np.arange(s, dtype=np.float64) + 0.5) * (2.0 / s) - 1.0).astype(F32)
        self.U, self.V = np.meshgrid(t, t)  # (S, S) each, V down
        c, n = math.cos(self.roll), math.sin(self.roll)
        du, dv = self.U - F32(self.cx), self.V - F32(self.cy)
        inv = F32(1.0 / self.scale)
        self.X = (F32(c) * du + F32(n) * dv) * inv
        self.Y = (F32(-n) * du + F32(c) * dv) * inv
        self.px = 2.0 / (s * self.scale)

    def box(self, x0: float, y0: float, x1: float, y1: float) -> tuple[slice, slice]:
        """Pixel window covering the face-frame rectangle [x0,x1] x [y0,y1] (plus 2 px)."""
        c, n = math.cos(self.roll), math.sin(self.roll)
        us, vs = [], []
        for x, y in ((x0, y0), (x0, y1), (x1, y0), (x1, y1)):
            us.append(self.cx + self.scale * (c * x - n * y))
            vs.append(self.cy + self.scale * (n * x + c * y))
        s = self.size

        def rng(lo: float, hi: float) -> slice:
            a = max(0, int(math.floor((lo + 1) * s / 2 - 0.5)) - 2)
            b = min(s, int(math.ceil((hi + 1) * s / 2 - 0.5)) + 3)
            return slice(a, max(a, b))

        return rng(min(vs), max(vs)), rng(min(us), max(us))

    def xy(self, sl: tuple[slice, slice]) -> tuple[np.ndarray, np.ndarray]:
        return self.X[sl], self.Y[sl]


def coverage(d: np.ndarray, px: float) -> np.ndarray:
    """Anti-aliased coverage of the region ``d < 0`` (d in face units)."""
    return np.clip(F32(0.5) - d * F32(1.0 / px), F32(0.0), F32(1.0))


def ellipse_d(x: np.ndarray, y: np.ndarray, cx: float, cy: float, rx: float, ry: float):
    """Approximate signed distance to an axis-aligned ellipse."""
    r = np.sqrt(((x - F32(cx)) / F32(rx)) ** 2 + ((y - F32(cy)) / F32(ry)) ** 2)
    return (r - F32(1.0)) * F32(min(rx, ry))


def superellipse_d(x, y, cx: float, cy: float, rx: float, ry: float, p: float):
    """Approximate signed distance to ``|x/rx|^p + |y/ry|^p <= 1``."""
    ax = np.abs((x - F32(cx)) * F32(1.0 / rx)) + F32(1e-6)
    ay = np.abs((y - F32(cy)) * F32(1.0 / ry)) + F32(1e-6)
    r = (ax ** F32(p) + ay ** F32(p)) ** F32(1.0 / p)
    return (r - F32(1.0)) * F32(min(rx, ry))


def segment_d(x, y, x0: float, y0: float, x1: float, y1: float, half_width: float):
    """Signed distance to a line segment of the given half width (a capsule)."""
    dx, dy = x1 - x0, y1 - y0
    ll = dx * dx + dy * dy or 1e-9
    t = np.clip(((x - F32(x0)) * F32(dx) + (y - F32(y0)) * F32(dy)) * F32(1.0 / ll), 0, 1)
    ex = x - F32(x0) - t * F32(dx)
    ey = y - F32(y0) - t * F32(dy)
    return np.sqrt(ex * ex + ey * ey) - F32(half_width)


def value_noise(grid: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Smooth 2-D value noise in [0, 1] from a periodic lattice ``grid`` (n, n), n = 2^k."""
    n = grid.shape[0]
    m = n - 1
    xf, yf = np.floor(x), np.floor(y)
    tx, ty = x - xf, y - yf
    tx = tx * tx * (F32(3) - F32(2) * tx)
    ty = ty * ty * (F32(3) - F32(2) * ty)
    xi = xf.astype(np.int32) & m
    yi = (yf.astype(np.int32) & m) * n
    x1, y1 = (xi + 1) & m, (yi + n) & (n * n - 1)
    g = grid.reshape(-1)
    a, b = g.take(yi + xi), g.take(yi + x1)
    c, d = g.take(y1 + xi), g.take(y1 + x1)
    ab = a + (b - a) * tx
    return ab + (c + (d - c) * tx - ab) * ty


def value_noise_1d(line: np.ndarray, s: np.ndarray) -> np.ndarray:
    """Smooth 1-D value noise in [0, 1] from a periodic lattice ``line`` (n,), n = 2^k."""
    m = line.shape[0] - 1
    sf = np.floor(s)
    t = s - sf
    t = t * t * (F32(3) - F32(2) * t)
    i = sf.astype(np.int32) & m
    a, b = line.take(i), line.take((i + 1) & m)
    return a + (b - a) * t


def rgb(values) -> np.ndarray:
    """A colour as a float32 (3,) array."""
    return np.asarray(values, dtype=F32)


def mix(a, b, t: float):
    """Linear blend ``a * (1 - t) + b * t`` (arrays or colours)."""
    return a * F32(1.0 - t) + b * F32(t)
