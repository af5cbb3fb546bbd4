"""Elements of the head: background, clothes, skin, skin marks and hair.

Each element is ``fn(ctx, A) -> list[Layer]`` with ``A`` the full {name: 0/1}
attribute dict. ``render.ELEMENTS`` lists the attributes each element reads; the
region masks are derived from that list, so an element must read no others.
"""

from __future__ import annotations

import math

import numpy as np

from intergan.data.synthfaces.raster import (
    F32,
    Layer,
    coverage,
    ellipse_d,
    rgb,
    superellipse_d,
    value_noise,
    value_noise_1d,
)
from intergan.data.synthfaces.scene import Ctx


def background(c: Ctx, A: dict) -> list[Layer]:
    """Patterned wall: stripes, checks, dots or mottled noise, with fine grain."""
    I, F = c.id, c.F
    U, V, f = F.U, F.V, F32(I["bg_freq"])
    pat = I["bg_pattern"]
    if pat == 0:
        ca, sa = F32(math.cos(I["bg_angle"])), F32(math.sin(I["bg_angle"]))
        t = np.clip(np.sin(f * F32(3.1416) * (U * ca + V * sa)) * F32(2) + F32(0.5), 0, 1)
    elif pat == 1:
        t = np.clip(np.sin(f * F32(1.6) * U) * np.sin(f * F32(1.6) * V) * F32(4) + F32(0.5), 0, 1)
    elif pat == 2:
        gu, gv = (U * f * F32(0.6)) % 1 - F32(0.5), (V * f * F32(0.6)) % 1 - F32(0.5)
        t = np.clip((F32(0.09) - gu * gu - gv * gv) * F32(60), 0, 1)
    else:
        t = value_noise(c.grid_bg, U * f, V * f) * F32(0.6)
        t = t + F32(0.4) * value_noise(c.grid_bg, U * f * F32(3) + 9, V * f * F32(3))
    grain = F32(0.9) + F32(0.12) * value_noise(c.grid_fine, U * F32(45), V * F32(45))
    col = rgb(I["bg2"]) * t[..., None] + rgb(I["bg"]) * (F32(1) - t)[..., None]
    col = col * (grain * (F32(1.05) - F32(0.1) * (V + 1) * F32(0.5)))[..., None]
    return [Layer((slice(None), slice(None)), np.ones_like(U), np.clip(col, 0, 1))]


def shirt(c: Ctx, A: dict) -> list[Layer]:
    """Shoulders and a crew-neck top, with a woven texture."""
    sl = c.F.box(-1.8, 0.5, 1.8, 2.2)
    x, y = c.F.xy(sl)
    nw = c.id["neck_w"]
    d = np.maximum(ellipse_d(x, y, 0, 1.28, 1.05, 0.62), -ellipse_d(x, y, 0, 0.66, nw + 0.05, 0.12))
    weave = value_noise(c.grid_fine, x * F32(80), y * F32(80))
    col = (F32(0.85) + F32(0.15) * weave)[..., None] * rgb(c.id["shirt"])
    return [Layer(sl, coverage(d, c.px), col)]


def _cut_face(c: Ctx, sl, x, y, d):
    """Remove a hair shape from where the face or neck always hides it (tight masks)."""
    core = np.maximum(c.face_dist(sl, 0), c.face_dist(sl, 1))
    neck = np.maximum(np.abs(x) - F32(c.id["neck_w"]), F32(0.2) - y)
    return np.maximum(d, -(np.minimum(core, neck) + F32(3 * c.px)))


def hair_back(c: Ctx, A: dict) -> list[Layer]:
    """Long hair behind the head and neck (women only; none when bald)."""
    if A["Bald"] or A["Male"]:
        return []
    I, a = c.id, c.a
    L, vol = I["long_len"], I["hair_vol"]
    sl = c.F.box(-a - vol - 0.2, -I["face_top"] - vol - 0.05, a + vol + 0.2, L + 0.05)
    x, y = c.F.xy(sl)
    wave = F32(I["wave_amp"]) * np.sin(y * F32(I["wave_freq"]))
    head = ellipse_d(x, y, 0, 0, a + vol + 0.03, I["face_top"] + vol)
    side = np.maximum(np.abs(x) + wave - F32(a + vol + 0.05) - F32(0.08) * y, y - F32(L))
    side = np.maximum(side, F32(-0.2) - y)
    d = _cut_face(c, sl, x, y, np.minimum(head, side))
    col = c.hair(sl, A, x * F32(110) + wave * F32(200)) * F32(0.85)
    return [Layer(sl, coverage(d, c.px), col)]


def neck(c: Ctx, A: dict) -> list[Layer]:
    sl = c.F.box(-0.3, 0.1, 0.3, 2.2)
    x, y = c.F.xy(sl)
    d = np.maximum(np.abs(x) - F32(c.id["neck_w"]), F32(0.15) - y)
    shadow = F32(1) - F32(0.3) * np.exp(-(((y - F32(0.5)) * F32(9)) ** 2))
    return [Layer(sl, coverage(d, c.px), c.skin(sl, A["Pale_Skin"], 0.85) * shadow[..., None])]


def ears(c: Ctx, A: dict) -> list[Layer]:
    out = []
    for s in (-1, 1):
        ex = s * (c.a * 0.97)
        sl = c.F.box(ex - 0.08, -0.1, ex + 0.08, 0.16)
        x, y = c.F.xy(sl)
        d = ellipse_d(x, y, ex, 0.03, 0.05, 0.09)
        inner = ellipse_d(x, y, ex + s * 0.012, 0.035, 0.025, 0.06)
        col = c.skin(sl, A["Pale_Skin"], 0.88)
        col = col * (F32(1) - F32(0.3) * coverage(inner, c.px * 2))[..., None]
        out.append(Layer(sl, coverage(d, c.px), col))
    return out


def face(c: Ctx, A: dict) -> list[Layer]:
    """The skin of the head: skull, forehead, cheeks and jaw (Male: square jaw)."""
    I, a = c.id, c.a
    sl = c.F.box(-a - 0.02, -I["face_top"] - 0.02, a + 0.02, I["face_low"] + 0.05)
    x, y = c.F.xy(sl)
    d = c.face_dist(sl, A["Male"])
    return [Layer(sl, coverage(d, c.px), c.skin(sl, A["Pale_Skin"]))]


def marks(c: Ctx, A: dict) -> list[Layer]:
    """Moles and freckles: identity detail, on the part of the face every jaw shares."""
    I, a = c.id, c.a
    sl = c.F.box(-a, -0.45, a, 0.5)
    x, y = c.F.xy(sl)
    d = np.full(x.shape, 1.0, F32)
    for mx, my, r in I["moles"]:
        d = np.minimum(d, ellipse_d(x, y, mx, my, r, r))
    alpha = coverage(d, c.px) * F32(0.85)
    if I["freckles"]:
        n = value_noise(c.grid_fine, x * F32(70) + F32(17), y * F32(70))
        zone = coverage(ellipse_d(x, y, 0, 0.1, 0.3, 0.12), c.px * 6)
        spots = np.clip((n - F32(1 - I["freckles"] / 100)) * F32(8), 0, 1)
        alpha = np.maximum(alpha, spots * zone * F32(0.35))
    return [Layer(sl, alpha * c.face_core(sl), rgb((0.30, 0.17, 0.11)))]


def hair_cap(c: Ctx, A: dict) -> list[Layer]:
    """Hair on the skull above the hairline, strands radiating from the parting."""
    if A["Bald"]:
        return []
    I, a, vol = c.id, c.a, c.id["hair_vol"]
    sl = c.F.box(-a - vol - 0.02, -I["face_top"] - vol - 0.02, a + vol + 0.02, 0.15)
    x, y = c.F.xy(sl)
    head = superellipse_d(x, y, 0, 0, a + vol, I["face_top"] + vol, 2.4)
    jag = F32(0.015) * value_noise_1d(c.line_hair, x * F32(90))
    wave = F32(I["wave_amp"]) * np.sin(x * F32(I["wave_freq"]))
    line = F32(I["hairline"]) + F32(0.44) * (x * F32(1 / a)) ** 2 + jag + wave
    d = np.maximum(head, y - line)
    part = F32(I["parting"])
    s = np.arctan2(x - part, y + F32(0.9)) * F32(110)
    col = c.hair(sl, A, s)
    gap = F32(1) - F32(0.45) * np.exp(-(((x - part) * F32(1 / 0.012)) ** 2)) * (y < line - 0.1)
    return [Layer(sl, coverage(d, c.px), col * gap[..., None])]


def side_locks(c: Ctx, A: dict) -> list[Layer]:
    """Long hair falling in front of the ears and shoulders (women only)."""
    if A["Bald"] or A["Male"]:
        return []
    I, a, vol = c.id, c.a, c.id["hair_vol"]
    L = I["long_len"]
    sl = c.F.box(-a - vol - 0.2, -0.35, a + vol + 0.2, L + 0.05)
    x, y = c.F.xy(sl)
    wave = F32(I["wave_amp"]) * np.sin(y * F32(I["wave_freq"]))
    ax = np.abs(x) + wave
    d = np.maximum(ax - F32(a + vol + 0.03) - F32(0.1) * np.maximum(y, 0), F32(a - 0.05) - ax)
    end = F32(L) - F32(0.02) * value_noise_1d(c.line_hair, x * F32(120))
    d = np.maximum(np.maximum(d, y - end), F32(-0.3) - y)
    col = c.hair(sl, A, x * F32(130) + wave * F32(150))
    return [Layer(sl, coverage(d, c.px), col)]


def bangs(c: Ctx, A: dict) -> list[Layer]:
    """A fringe over the forehead down to just above the eyebrows."""
    if A["Bald"] or not A["Bangs"]:
        return []
    I, a, vol = c.id, c.a, c.id["hair_vol"]
    sl = c.F.box(-a - vol, I["hairline"] - 0.2, a + vol, c.brow_y() + 0.03)
    x, y = c.F.xy(sl)
    head = superellipse_d(x, y, 0, 0, a + vol, I["face_top"] + vol, 2.4)
    jag = F32(0.025) * value_noise_1d(c.line_hair, x * F32(70) + F32(300))
    edge = F32(c.brow_y() - 0.03) + jag + F32(0.12) * (x * F32(1 / a)) ** 4
    d = np.maximum(np.maximum(head, y - edge), F32(I["hairline"] - 0.15) - y)
    col = c.hair(sl, A, x * F32(150) + y * F32(20))
    return [Layer(sl, coverage(d, c.px), col)]


def bald_shine(c: Ctx, A: dict) -> list[Layer]:
    """A highlight on the bare scalp."""
    if not A["Bald"]:
        return []
    I = c.id
    lx = float(np.clip(I["light"][0], -0.5, 0.5)) * 0.3
    sl = c.F.box(lx - 0.2, -I["face_top"], lx + 0.2, -0.35)
    x, y = c.F.xy(sl)
    d = ellipse_d(x, y, lx, -I["face_top"] + 0.12, 0.13, 0.06)
    alpha = coverage(d, c.px * 5) * F32(0.35) * c.face_core(sl)
    return [Layer(sl, alpha, rgb((1.0, 0.97, 0.92)))]
