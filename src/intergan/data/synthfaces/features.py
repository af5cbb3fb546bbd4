"""Elements of the face: age marks, beard, nose, eyes, brows, mouth, mustache, glasses.

Same conventions as ``head.py``: ``fn(ctx, A) -> list[Layer]``; the attributes an
element reads are listed next to it in ``render.ELEMENTS``.
"""

from __future__ import annotations

import numpy as np

from intergan.data.synthfaces.raster import (
    F32,
    Layer,
    coverage,
    ellipse_d,
    mix,
    rgb,
    segment_d,
    superellipse_d,
    value_noise,
)
from intergan.data.synthfaces.scene import Ctx

DARK = rgb((0.22, 0.12, 0.09))
GREY_BROW = rgb((0.66, 0.64, 0.62))
SHADOW = rgb((0.35, 0.2, 0.3))
LIPSTICK = rgb((0.72, 0.1, 0.2))


def _union(segs, x, y) -> np.ndarray:
    d = np.full(x.shape, 1.0, F32)
    for s in segs:
        d = np.minimum(d, segment_d(x, y, *s))
    return d


def age_marks(c: Ctx, A: dict) -> list[Layer]:
    """Young=0: forehead lines, crow's feet, eye bags, smile lines, age spots."""
    if A["Young"]:
        return []
    I, a = c.id, c.a
    ex, ey, my, mw = I["eye_sep"], I["eye_y"], I["mouth_y"], I["mouth_w"]
    tip = ey + I["nose_len"]
    sl = c.F.box(-a, I["hairline"], a, my + 0.16)
    x, y = c.F.xy(sl)
    segs = []
    for k in range(3):
        y0 = c.brow_y() - 0.05 - 0.035 * k
        segs += [(-0.16, y0 + 0.01, 0.0, y0, 0.006), (0.0, y0, 0.16, y0 + 0.01, 0.006)]
    for s in (-1, 1):
        ox = s * (ex + 0.07)
        segs += [(ox, ey + dy * 0.3, ox + s * 0.045, ey + dy, 0.005) for dy in (-0.03, 0, 0.03)]
        segs += [(s * (I["nose_w"] + 0.02), tip - 0.02, s * (mw + 0.035), my + 0.03, 0.008)]
        segs += [(s * (mw + 0.035), my + 0.03, s * (mw + 0.03), my + 0.11, 0.006)]
        segs += [(s * (ex - 0.05), ey + 0.05, s * (ex + 0.05), ey + 0.05, 0.007)]
    d = _union(segs, x, y)
    sd = np.full(x.shape, 1.0, F32)
    for sx, sy in c.age_spots:
        sd = np.minimum(sd, ellipse_d(x, y, sx * 0.25, -0.2 + abs(sy) * 0.35, 0.012, 0.012))
    alpha = np.maximum(coverage(d, c.px * 1.5) * F32(0.6), coverage(sd, c.px) * F32(0.4))
    return [Layer(sl, alpha * c.face_core(sl), DARK)]


def beard(c: Ctx, A: dict) -> list[Layer]:
    """No_Beard=0: a full beard on the cheeks, jaw and chin, following the jaw shape."""
    if A["No_Beard"]:
        return []
    I, a = c.id, c.a
    sl = c.F.box(-a - 0.03, -0.05, a + 0.03, I["face_low"] + 0.1)
    x, y = c.F.xy(sl)
    n = value_noise(c.grid_hair, x * F32(120), y * F32(40))
    top = F32(0.02) + F32(0.2) * (F32(1) - np.abs(x * F32(1 / a)) ** 1.5)
    top = top + F32(0.03) * value_noise(c.grid_hair, x * F32(30), F32(5))
    d = np.maximum(c.face_dist(sl, A["Male"]) - F32(0.015), top - y)
    alpha = coverage(d, c.px * 1.5) * (F32(0.7) + F32(0.3) * n)
    col = (c.shade(sl) * (F32(0.7) + F32(0.6) * n))[..., None] * rgb(I["beard"])
    return [Layer(sl, alpha, col)]


def nose(c: Ctx, A: dict) -> list[Layer]:
    I = c.id
    ey, nw = I["eye_y"], I["nose_w"]
    tip = ey + I["nose_len"]
    sl = c.F.box(-nw - 0.05, ey, nw + 0.05, tip + 0.04)
    x, y = c.F.xy(sl)
    lx = -1 if I["light"][0] > 0 else 1  # the shaded side of the nose
    side = segment_d(x, y, lx * 0.03, ey + 0.03, lx * nw * 0.9, tip - 0.015, 0.009)
    wings = np.minimum(
        ellipse_d(x, y, -nw * 0.8, tip, 0.02, 0.025), ellipse_d(x, y, nw * 0.8, tip, 0.02, 0.025)
    )
    wing_line = np.abs(wings) - F32(0.003)
    nostrils = np.minimum(
        ellipse_d(x, y, -nw * 0.45, tip + 0.012, 0.016, 0.009),
        ellipse_d(x, y, nw * 0.45, tip + 0.012, 0.016, 0.009),
    )
    shadow = np.maximum(coverage(side, c.px * 3) * F32(0.45), coverage(wing_line, c.px) * F32(0.5))
    shadow = np.maximum(shadow, coverage(nostrils, c.px) * F32(0.75))
    hi = coverage(ellipse_d(x, y, 0, tip - 0.01, 0.015, 0.012), c.px * 3) * F32(0.18)
    return [Layer(sl, shadow, DARK), Layer(sl, hi, rgb((1, 1, 1)))]


def _almond(x, y, cx: float, cy: float, rx: float, ry: float):
    """Eye opening: intersection of two circular arcs through the corners."""
    r1 = (rx * rx + ry * ry) / (2 * ry)
    ry2 = ry * 0.8
    r2 = (rx * rx + ry2 * ry2) / (2 * ry2)
    d1 = np.sqrt((x - F32(cx)) ** 2 + (y - F32(cy - ry + r1)) ** 2) - F32(r1)
    d2 = np.sqrt((x - F32(cx)) ** 2 + (y - F32(cy + ry2 - r2)) ** 2) - F32(r2)
    return np.maximum(d1, d2), d1


def eyes(c: Ctx, A: dict) -> list[Layer]:
    """Eyes with iris texture and a glint; Male=0 adds eyeliner and eye shadow.

    Both eyes are drawn at once in mirrored coordinates (|x|, y).
    """
    I = c.id
    liner = 1.0 if A["Male"] else 1.8
    cx, cy, k = I["eye_sep"], I["eye_y"], I["eye_size"]
    rx, ry = 0.066 * k, 0.032 * k
    sl = c.F.box(-cx - rx - 0.03, cy - ry - 0.04, cx + rx + 0.03, cy + ry + 0.04)
    x, y = c.F.xy(sl)
    x = np.abs(x)
    eye, upper = _almond(x, y, cx, cy, rx, ry)
    lid_zone = np.maximum(ellipse_d(x, y, cx, cy - ry * 0.5, rx * 1.15, ry * 1.6), y - F32(cy))
    sock = coverage(lid_zone, c.px * 2)
    out = [Layer(sl, sock * F32(0.15 if A["Male"] else 0.45), DARK if A["Male"] else SHADOW)]
    out.append(Layer(sl, coverage(eye, c.px), rgb((0.93, 0.9, 0.87)) * F32(0.9)))
    ir = 0.026 * k
    iris = np.maximum(ellipse_d(x, y, cx, cy + 0.002, ir, ir), eye)
    rad = value_noise(c.grid_fine, np.arctan2(y - F32(cy), x - F32(cx)) * F32(8), F32(3))
    icol = (F32(0.7) + F32(0.5) * rad)[..., None] * rgb(I["iris"])
    pupil = np.maximum(ellipse_d(x, y, cx, cy + 0.002, ir * 0.45, ir * 0.45), eye)
    pa = coverage(pupil, c.px)[..., None]
    icol = icol * (F32(1) - pa) + rgb((0.03, 0.02, 0.02)) * pa
    out.append(Layer(sl, coverage(iris, c.px), icol))
    glint = ellipse_d(x, y, cx + 0.008, cy - 0.008, 0.005, 0.005)
    out.append(Layer(sl, coverage(glint, c.px) * F32(0.8), rgb((1, 1, 1))))
    above = y - F32(cy)  # lid lines only on the upper arc
    lid = np.maximum(np.abs(upper) - F32(0.006 * k * liner), np.abs(x - F32(cx)) - F32(rx * 1.05))
    lid = np.maximum(lid, above)
    fold = np.maximum(np.abs(upper - F32(0.016)) - F32(0.003), np.abs(x - F32(cx)) - F32(rx))
    fold = np.maximum(fold, above + F32(0.01))
    alpha = np.maximum(coverage(lid, c.px), coverage(fold, c.px * 1.5) * F32(0.4))
    out.append(Layer(sl, alpha, rgb((0.08, 0.05, 0.04))))
    return out


def brows(c: Ctx, A: dict) -> list[Layer]:
    """Eyebrows: Bushy thickens them, Male lowers and flattens, Young=0 greys them.

    Both brows at once in mirrored coordinates (|x|, y).
    """
    I = c.id
    male, bushy = A["Male"], A["Bushy_Eyebrows"]
    th0 = (0.042 if bushy else 0.013) + (0.004 if male else 0.0)
    arch = 0.012 if male else 0.028
    by = c.brow_y() + (0.012 if male else 0.0)
    colour = rgb(I["brow"]) if A["Young"] else mix(rgb(I["brow"]), GREY_BROW, 0.6)
    bx, L = I["eye_sep"] + 0.01, 0.08
    sl = c.F.box(-bx - L - 0.03, by - 0.09, bx + L + 0.03, by + 0.06)
    x, y = c.F.xy(sl)
    n = value_noise(c.grid_hair, x * F32(150), y * F32(50))
    x = np.abs(x)
    t = (x - F32(bx)) * F32(1 / L)
    yc = F32(by) - F32(arch) * (F32(1) - t * t)
    th = F32(th0) * (F32(1) - F32(0.3) * (t + F32(1)))
    fuzz = F32(0.012 if bushy else 0.004) * n
    d = np.maximum(np.abs(y - yc - F32(th0 * 0.3)) - th - fuzz, np.abs(x - F32(bx)) - F32(L))
    alpha = coverage(d, c.px) * (F32(0.75) + F32(0.25) * n)
    colour = colour * F32(0.7 if bushy else 1.0)
    return [Layer(sl, alpha, colour * (F32(0.8) + F32(0.4) * n)[..., None])]


def mouth(c: Ctx, A: dict) -> list[Layer]:
    """Lips; Mouth_Slightly_Open parts them to show teeth and a dark gap; Male=0 adds lipstick."""
    I = c.id
    my, mw, op = I["mouth_y"], I["mouth_w"], 0.065 if A["Mouth_Slightly_Open"] else 0.0
    sl = c.F.box(-mw - 0.03, my - 0.06, mw + 0.03, my + op + 0.07)
    x, y = c.F.xy(sl)
    up = np.maximum(ellipse_d(x, y, 0, my + 0.004, mw, 0.03), y - F32(my))
    lo = np.maximum(ellipse_d(x, y, 0, my + op, mw * 0.88, 0.04), F32(my + op) - y)
    lips = np.minimum(up, lo)
    n = value_noise(c.grid_fine, x * F32(90), y * F32(20))
    lip = rgb(I["lip"]) if A["Male"] else mix(rgb(I["lip"]), LIPSTICK, 0.5)
    col = (c.shade(sl) * (F32(0.85) + F32(0.25) * n))[..., None] * lip
    out = [Layer(sl, coverage(lips, c.px), col)]
    if op:
        gap = ellipse_d(x, y, 0, my + op / 2, mw * 0.8, op / 2 + 0.006)
        out.append(Layer(sl, coverage(gap, c.px), rgb((0.22, 0.05, 0.06))))
        teeth = np.maximum(gap + F32(0.003), y - F32(my + op * 0.45))
        out.append(Layer(sl, coverage(teeth, c.px), rgb((0.93, 0.9, 0.84))))
    else:
        line = np.maximum(np.abs(y - F32(my + 0.002)) - F32(0.004), np.abs(x) - F32(mw * 0.95))
        out.append(Layer(sl, coverage(line, c.px) * F32(0.7), rgb((0.25, 0.08, 0.08))))
    return out


def mustache(c: Ctx, A: dict) -> list[Layer]:
    if not A["Mustache"]:
        return []
    I = c.id
    my, mw = I["mouth_y"], I["mouth_w"]
    sl = c.F.box(-mw - 0.06, my - 0.08, mw + 0.06, my + 0.06)
    x, y = c.F.xy(sl)
    yc = F32(my - 0.03) + F32(2.2) * x * x
    th = F32(0.024) - F32(0.06) * np.abs(x)
    n = value_noise(c.grid_hair, x * F32(160), y * F32(30))
    d = np.maximum(np.abs(y - yc) - th - F32(0.006) * n, np.abs(x) - F32(mw + 0.035))
    alpha = coverage(d, c.px) * (F32(0.8) + F32(0.2) * n)
    col = (c.shade(sl) * (F32(0.6) + F32(0.6) * n))[..., None] * rgb(I["beard"])
    return [Layer(sl, alpha, col)]


def glasses(c: Ctx, A: dict) -> list[Layer]:
    """Eyeglasses: tinted lenses, a frame, a bridge and temple arms to the ears."""
    if not A["Eyeglasses"]:
        return []
    I, a = c.id, c.a
    ex, ey, p = I["eye_sep"], I["eye_y"] + 0.005, I["glasses_shape"]
    rx, ry, th = 0.082, 0.06, 0.011
    sl = c.F.box(-a - 0.03, ey - ry - 0.04, a + 0.03, ey + ry + 0.04)
    x, y = c.F.xy(sl)
    lens = np.minimum(
        superellipse_d(x, y, -ex, ey, rx, ry, p), superellipse_d(x, y, ex, ey, rx, ry, p)
    )
    by = ey - ry * 0.3
    arms = [(-ex + rx * 0.9, by, ex - rx * 0.9, by, th * 0.8)]
    arms += [(s * (ex + rx * 0.95), by, s * (a + 0.01), by + 0.01, th * 0.7) for s in (-1, 1)]
    frame = np.minimum(np.abs(lens) - F32(th), _union(arms, x, y))
    shine = np.abs((x - y * F32(0.8)) % F32(0.16) - F32(0.05)) < F32(0.012)
    tint = F32(I["glasses_tint"]) * (F32(1) - F32(0.5) * shine)
    out = [Layer(sl, coverage(lens, c.px) * tint, rgb((0.12, 0.14, 0.2)))]
    out.append(Layer(sl, coverage(lens, c.px) * F32(0.25) * shine, rgb((1, 1, 1))))
    out.append(Layer(sl, coverage(frame, c.px), rgb(I["glasses_rgb"])))
    return out
