"""``render`` and ``region_mask``: compositing the elements in order, and the
pixels each attribute owns.

``ELEMENTS`` lists every element in painting order with the attributes it reads.
An attribute's region is, per element that reads it, the set of pixels where the
element's paint (its total alpha and premultiplied colour) differs between the
attribute off and on, for every combination of the element's other attributes.
Because the masks come from the same code that paints, flipping an attribute can
change pixels only inside its mask (the locality contract, tested for all 13).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from itertools import product

import numpy as np

from intergan.attributes import CELEBA_ATTRS, check_attr_name
from intergan.data.synthfaces import features as fe
from intergan.data.synthfaces import head as hd
from intergan.data.synthfaces.identity import ATTRS, HAIR, VERSION, full_attrs
from intergan.data.synthfaces.raster import F32, Layer
from intergan.data.synthfaces.scene import Ctx
from intergan.errors import UserError

COLOURS = HAIR
# (element, attributes it reads), in painting order (back to front).
ELEMENTS: tuple[tuple[Callable[[Ctx, dict], list[Layer]], tuple[str, ...]], ...] = (
    (hd.background, ()),
    (hd.hair_back, ("Bald", "Male", *COLOURS)),
    (hd.neck, ("Pale_Skin",)),
    (hd.shirt, ()),
    (hd.ears, ("Pale_Skin",)),
    (hd.face, ("Male", "Pale_Skin")),
    (hd.marks, ()),
    (fe.age_marks, ("Young",)),
    (fe.beard, ("No_Beard", "Male")),
    (fe.nose, ()),
    (fe.eyes, ("Male",)),
    (fe.brows, ("Bushy_Eyebrows", "Male", "Young")),
    (fe.mouth, ("Mouth_Slightly_Open", "Male")),
    (fe.mustache, ("Mustache",)),
    (hd.hair_cap, ("Bald", *COLOURS)),
    (hd.side_locks, ("Bald", "Male", *COLOURS)),
    (hd.bangs, ("Bald", "Bangs", *COLOURS)),
    (hd.bald_shine, ("Bald",)),
    (fe.glasses, ("Eyeglasses",)),
)


def _check(identity: Mapping, size: int) -> None:
    if not isinstance(identity, Mapping) or identity.get("version") != VERSION:
        raise UserError(
            f"identity must be a SynthFaces identity dict with version {VERSION} "
            "(from sample_identity or load_identities)"
        )
    if not isinstance(size, int) or size < 8:
        raise UserError(f"size must be an integer >= 8, got {size!r}")


def _attrs(attrs: Mapping[str, float]) -> dict[str, int]:
    for k in attrs:
        check_attr_name(k, CELEBA_ATTRS)  # CelebA names outside the 13 are ignored
    return full_attrs(attrs)


def _paint(img: np.ndarray, layers: list[Layer]) -> None:
    for L in layers:
        view = img[L.sl]
        view += (L.colour - view) * L.alpha[..., None]


def render(identity: Mapping, attrs: Mapping[str, float], size: int) -> np.ndarray:
    """Render one face: uint8 (size, size, 3).

    ``attrs``: {name: 0/1} over the 13 default attributes (missing names = 0, so
    No_Beard and Young should usually be given). A pure function of its inputs:
    the same arguments give the same bytes.
    """
    _check(identity, size)
    A = _attrs(attrs)
    ctx = Ctx(dict(identity), size)
    img = np.zeros((size, size, 3), F32)
    for fn, _ in ELEMENTS:
        _paint(img, fn(ctx, A))
    return (np.clip(img, 0, 1) * F32(255) + F32(0.5)).astype(np.uint8)


def _effect(ctx: Ctx, fn, A: dict) -> tuple[np.ndarray, np.ndarray]:
    """An element's paint as the images it makes over black and over white."""
    s = ctx.size
    out = []
    for base in (0.0, 1.0):
        img = np.full((s, s, 3), base, F32)
        _paint(img, fn(ctx, A))
        out.append(img)
    return out[0], out[1]


def region_mask(identity: Mapping, attr: str, size: int) -> np.ndarray:
    """Pixels that ``attr`` can change, whatever the other attributes: bool (size, size)."""
    _check(identity, size)
    check_attr_name(attr, ATTRS)
    ctx = Ctx(dict(identity), size)
    mask = np.zeros((size, size), bool)
    for fn, deps in ELEMENTS:
        if attr not in deps:
            continue
        others = [d for d in deps if d != attr]
        for bits in product((0, 1), repeat=len(others)):
            A = {a: 0 for a in ATTRS} | dict(zip(others, bits))
            off0, off1 = _effect(ctx, fn, A | {attr: 0})
            on0, on1 = _effect(ctx, fn, A | {attr: 1})
            mask |= np.any((off0 != on0) | (off1 != on1), axis=-1)
    return mask
