"""Per-(identity, size) rendering context: frames, lighting, textures, shared shapes.

Everything here depends on the identity and the image size only, never on the
attributes; attribute-dependent shapes (the jaw) take the attribute explicitly.
"""

from __future__ import annotations

import math

import numpy as np

from intergan.data.synthfaces.raster import (
    F32,
    Frame,
    coverage,
    mix,
    rgb,
    superellipse_d,
    value_noise,
    value_noise_1d,
)

PALE = rgb((0.97, 0.90, 0.87))
HAIR_RGB = {
    "Black_Hair": rgb((0.10, 0.08, 0.07)),
    "Blond_Hair": rgb((0.88, 0.74, 0.44)),
    "Brown_Hair": rgb((0.42, 0.25, 0.13)),
}
GREY_HAIR, RED_HAIR = rgb((0.72, 0.71, 0.70)), rgb((0.66, 0.28, 0.12))


class Ctx:
    """Frames, lighting and texture lattices for one identity at one size."""

    def __init__(self, ident: dict, size: int) -> None:
        self.id = ident
        self.size = size
        sx, sy = ident["shift"]
        self.F = Frame(size, cx=sx, cy=0.1 + sy, roll=ident["roll"], scale=1.4 * ident["scale"])
        self.px = self.F.px
        self.a = ident["face_w"]
        g = np.random.default_rng(ident["seed"])
        self.grid_skin = g.random((64, 64), dtype=F32)
        self.grid_fine = g.random((64, 64), dtype=F32)
        self.grid_bg = g.random((64, 64), dtype=F32)
        self.grid_hair = g.random((64, 64), dtype=F32)
        self.line_hair = g.random(1024, dtype=F32)
        self.age_spots = g.uniform(-1, 1, (5, 2))
        self._cache: dict[str, np.ndarray] = {}

    # -- identity-only fields (cached on the full image, sliced per layer) --------
    def shade(self, sl) -> np.ndarray:
        """Lambertian shading of a head-sized ellipsoid, (h, w) around 1."""
        if "shade" not in self._cache:
            X, Y = self.F.X, self.F.Y
            nx, ny = X * F32(1 / (self.a * 1.3)), (Y + F32(0.05)) * F32(1 / 0.85)
            t = nx * nx + ny * ny
            k = np.where(t > 0.97, np.sqrt(F32(0.97) / np.maximum(t, 1e-6)), F32(1))
            nx, ny = nx * k, ny * k
            nz = np.sqrt(np.maximum(F32(1) - nx * nx - ny * ny, F32(0)))
            lx, ly, lz = self.id["light"]
            n = math.sqrt(lx * lx + ly * ly + lz * lz)
            dot = (nx * F32(lx) + ny * F32(ly) + nz * F32(lz)) * F32(1 / n)
            self._cache["shade"] = F32(0.5) + F32(0.6) * np.clip(dot, 0, 1)
        return self._cache["shade"][sl]

    def skin_tex(self, sl) -> np.ndarray:
        """Skin pores and blotches: multiplicative texture around 1, (h, w)."""
        if "skin" not in self._cache:
            X, Y = self.F.X, self.F.Y
            n1 = value_noise(self.grid_skin, X * F32(9), Y * F32(9))
            n2 = value_noise(self.grid_fine, X * F32(60), Y * F32(60))
            self._cache["skin"] = F32(0.9) + F32(0.08) * n1 + F32(0.1) * n2
        return self._cache["skin"][sl]

    def skin(self, sl, pale: int, k: float = 1.0) -> np.ndarray:
        """Skin colour field (h, w, 3): base tone (or pale) x shading x texture."""
        base = rgb(self.id["skin"])
        if pale:
            base = mix(base, PALE, 0.7)
        f = self.shade(sl) * self.skin_tex(sl) * F32(k)
        return f[..., None] * base

    def hair_rgb(self, A: dict) -> np.ndarray:
        """Hair base colour: the mean of the active hair colours, else grey or red."""
        on = [HAIR_RGB[h] for h in HAIR_RGB if A[h]]
        if on:
            c = sum(on) / F32(len(on))
        else:
            c = GREY_HAIR if self.id["alt_hair_grey"] else RED_HAIR
        return np.clip(c * F32(self.id["hair_tint"]), 0, 1)

    def hair(self, sl, A: dict, s: np.ndarray) -> np.ndarray:
        """Hair colour field (h, w, 3) with strands along the 1-D coordinate ``s``."""
        n = F32(0.6) * value_noise_1d(self.line_hair, s) + F32(0.4) * value_noise_1d(
            self.line_hair, s * F32(3.1) + F32(77)
        )
        base = self.hair_rgb(A)
        tex = (F32(0.55) + F32(0.75) * n) * self.shade(sl)
        return tex[..., None] * base + (F32(0.07) * n * n)[..., None]

    # -- shared shapes -------------------------------------------------------------
    def face_d(self, x: np.ndarray, y: np.ndarray, male: int) -> np.ndarray:
        """Signed distance to the head outline (skull + face); Male squares the jaw."""
        I = self.id
        up = superellipse_d(x, y, 0, 0, self.a, I["face_top"], 2.4)
        p = I["chin_p"] + (2.2 if male else 0.0)
        low = I["face_low"] + (0.03 if male else 0.0)
        lo = superellipse_d(x, y, 0, 0, self.a, low, p)
        return np.where(y < 0, up, lo)

    def face_dist(self, sl, male: int) -> np.ndarray:
        """``face_d`` on the pixel window ``sl`` (cached over the head's box)."""
        key = f"face{int(male)}"
        if key not in self._cache:
            I = self.id
            hb = self.F.box(-self.a - 0.1, -I["face_top"] - 0.1, self.a + 0.1, 0.75)
            full = np.ones((self.size, self.size), F32)
            full[hb] = self.face_d(*self.F.xy(hb), male)
            self._cache[key] = full
        return self._cache[key][sl]

    def face_core(self, sl) -> np.ndarray:
        """Coverage of the face part common to both jaw shapes (for marks on the skin)."""
        d = np.maximum(self.face_dist(sl, 0), self.face_dist(sl, 1))
        return coverage(d + F32(0.01), self.px)

    def brow_y(self) -> float:
        return self.id["eye_y"] - 0.09
