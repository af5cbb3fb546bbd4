"""Face alignment: the similarity transform from a photo to a model's training crop.

A *framing* says where the eyes and mouth sit in the crops a model was trained
on, as fractions of the crop side. Aligning a detected face means finding the
rotation + uniform scale + shift (a similarity transform, no shear) that moves
its eyes and mouth there. Framings are named constants so that a user who knows
a dataset's exact numbers changes them in one place.

Transforms are 3x3 float64 matrices acting on column vectors (x, y, 1) in pixel
coordinates with pixel centres at integer positions + 0.5 (PIL's convention).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image

from intergan.editing.faces import Face
from intergan.errors import UserError


@dataclass(frozen=True)
class Framing:
    """Eye and mouth positions of a training crop, in [0, 1] of the crop side.

    rule: ``template`` fits a similarity transform to the three points (least
    squares); ``celebahq`` uses the CelebA-HQ/FFHQ crop rule (Karras et al.),
    which derives the crop square from the eye and eye-to-mouth vectors and only
    uses the points below to document where they land on an average face.
    """

    name: str
    eye_left: tuple[float, float]  # image-left eye
    eye_right: tuple[float, float]
    mouth: tuple[float, float]  # centre of the mouth
    rule: str = "template"
    source: str = ""  # where the numbers come from

    def points(self, size: int) -> np.ndarray:
        """(3, 2) target positions in pixels of a ``size`` x ``size`` crop."""
        return np.array([self.eye_left, self.eye_right, self.mouth], np.float64) * size


# CelebA "aligned & cropped" (178x218) has its 5 landmarks near fixed places: about
# eyes (69, 111) and (108, 111), mouth corners (72, 152) and (105, 152) [chosen:
# approximate means of list_landmarks_align_celeba.txt]. The data pipeline then
# takes the centred 170x170 square (offset 4, 24), so in that crop:
CELEBA = Framing(
    "celeba",
    eye_left=((69 - 4) / 170, (111 - 24) / 170),
    eye_right=((108 - 4) / 170, (111 - 24) / 170),
    mouth=((88.5 - 4) / 170, (152 - 24) / 170),
    source="CelebA aligned images, centre crop 170 (approximate mean landmarks)",
)
# CelebA-HQ crops: side = max(2 * eye distance, 1.8 * eye-to-mouth distance) * 2,
# centred 0.1 eye-to-mouth below the eye midpoint. On an average face (eye-to-mouth
# about 1.1 eye distances) that puts the eyes at y 0.4725, 0.25 apart, mouth at 0.7475.
CELEBAHQ = Framing(
    "celebahq",
    eye_left=(0.375, 0.4725),
    eye_right=(0.625, 0.4725),
    mouth=(0.5, 0.7475),
    rule="celebahq",
    source="CelebA-HQ / FFHQ alignment rule (progressive GAN dataset tool)",
)
# SynthFaces renders (intergan.data.synthfaces) place the face frame at image
# coordinates u = shift_x + 1.4 * scale * X, v = 0.1 + shift_y + 1.4 * scale * Y
# (u, v in [-1, 1], before the head roll), with eyes at X = +-eye_sep, Y = eye_y and
# the mouth at Y = mouth_y. The identity means (eye_sep 0.15, eye_y -0.04,
# mouth_y 0.30, scale 1, shift 0) give, as fractions of the image side:
SYNTHFACES = Framing(
    "synthfaces",
    eye_left=((1 - 1.4 * 0.15) / 2, (1 + 0.1 - 1.4 * 0.04) / 2),
    eye_right=((1 + 1.4 * 0.15) / 2, (1 + 0.1 - 1.4 * 0.04) / 2),
    mouth=(0.5, (1 + 0.1 + 1.4 * 0.30) / 2),
    source="SynthFaces renderer geometry, identity means (intergan.data.synthfaces)",
)
FRAMINGS: dict[str, Framing] = {f.name: f for f in (CELEBA, CELEBAHQ, SYNTHFACES)}


def register_framing(framing: Framing) -> None:
    """Add a framing (e.g. one measured from a dataset's renders) under its name."""
    FRAMINGS[framing.name] = framing


def get_framing(name: str) -> Framing:
    if name not in FRAMINGS:
        raise UserError(f"unknown framing {name!r}; choose one of {', '.join(FRAMINGS)}")
    return FRAMINGS[name]


def synthfaces_landmarks(identity: dict, size: int) -> tuple[np.ndarray, np.ndarray]:
    """True eye centres (2, 2) and mouth centre (2,) of a SynthFaces render, in pixels
    (image-left eye first), from the renderer's geometry described above."""
    sx, sy = identity["shift"]
    k, c, s = 1.4 * identity["scale"], np.cos(identity["roll"]), np.sin(identity["roll"])

    def px(x: float, y: float) -> list[float]:
        u, v = sx + k * (c * x - s * y), 0.1 + sy + k * (s * x + c * y)
        return [(u + 1) * size / 2, (v + 1) * size / 2]

    ex, ey = identity["eye_sep"], identity["eye_y"]
    return np.array([px(-ex, ey), px(ex, ey)]), np.array(px(0.0, identity["mouth_y"]))


def similarity_fit(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 similarity transform mapping points ``src`` (N, 2) onto ``dst`` (N, 2)
    in the least-squares sense (Umeyama 1991, no reflection)."""
    src, dst = np.asarray(src, np.float64), np.asarray(dst, np.float64)
    mu_s, mu_d = src.mean(0), dst.mean(0)
    s, d = src - mu_s, dst - mu_d
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.diag([1.0, np.sign(np.linalg.det(u @ vt)) or 1.0])
    rot = u @ sign @ vt
    scale = np.trace(np.diag(sig) @ sign) / (s**2).sum(1).mean()
    m = np.eye(3)
    m[:2, :2] = scale * rot
    m[:2, 2] = mu_d - scale * rot @ mu_s
    return m


def _celebahq_matrix(eyes: np.ndarray, mouth: np.ndarray, size: int) -> np.ndarray:
    eye_avg = eyes.mean(0)
    eye_to_eye = eyes[1] - eyes[0]
    eye_to_mouth = mouth - eye_avg
    x = eye_to_eye - np.array([-eye_to_mouth[1], eye_to_mouth[0]])  # minus rot90
    x /= np.hypot(*x)
    x *= max(np.hypot(*eye_to_eye) * 2.0, np.hypot(*eye_to_mouth) * 1.8)
    y = np.array([-x[1], x[0]])  # x turned 90 degrees (image y points down)
    c = eye_avg + eye_to_mouth * 0.1
    quad = np.stack([c - x - y, c + x - y, c + x + y])  # top-left, top-right, bottom-right
    return similarity_fit(quad, np.array([[0, 0], [size, 0], [size, size]], np.float64))


def align_matrix(face: Face, framing: Framing, size: int) -> np.ndarray:
    """Photo -> crop transform (3x3) putting ``face`` into ``framing`` at ``size`` px."""
    eyes, mouth = face.eyes.astype(np.float64), face.mouth.astype(np.float64)
    if framing.rule == "celebahq":
        return _celebahq_matrix(eyes, mouth, size)
    src = np.vstack([eyes, mouth[None]])
    return similarity_fit(src, framing.points(size))


def transform_points(m: np.ndarray, pts: np.ndarray) -> np.ndarray:
    """Apply a 3x3 transform to (N, 2) points."""
    pts = np.asarray(pts, np.float64)
    return pts @ m[:2, :2].T + m[:2, 2]


def warp(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """Sample the ``size`` x ``size`` crop of ``image`` (H, W, C uint8) under photo->crop
    transform ``m``. Areas outside the photo repeat its edge pixels; strong
    down-scaling first shrinks the photo by an integer factor so the crop does not alias.
    """
    m = np.asarray(m, np.float64)
    scale = np.sqrt(abs(np.linalg.det(m[:2, :2])))
    k = int(1 / scale) if scale < 0.5 else 1
    src = image
    if k > 1:
        h, w = image.shape[:2]
        src = np.asarray(Image.fromarray(image).reduce(k))
        m = m @ np.diag([w / src.shape[1], h / src.shape[0], 1.0])
    # Pad with edge pixels so that crops reaching past the photo see a plausible border.
    corners = transform_points(np.linalg.inv(m), [[0, 0], [size, 0], [0, size], [size, size]])
    h, w = src.shape[:2]
    pad = int(np.ceil(max(0, -corners.min(), corners[:, 0].max() - w, corners[:, 1].max() - h)))
    pad = min(pad, 4 * max(h, w))
    if pad:
        src = np.pad(src, ((pad, pad), (pad, pad), (0, 0)), mode="edge")
        m = m @ np.array([[1, 0, -pad], [0, 1, -pad], [0, 0, 1]], np.float64)
    inv = np.linalg.inv(m)  # PIL wants crop -> photo coefficients
    coeffs = tuple(inv[:2].reshape(-1))
    out = Image.fromarray(src).transform((size, size), Image.AFFINE, coeffs, Image.BICUBIC)
    return np.asarray(out)


def crop_face(
    image: np.ndarray, face: Face, framing: Framing, size: int
) -> tuple[np.ndarray, np.ndarray]:
    """The aligned crop (size, size, 3) uint8 and its photo->crop transform."""
    m = align_matrix(face, framing, size)
    return warp(image, m, size), m


def framing_for_config(cfg) -> Framing:
    """The framing a model was trained in, from its ``Config.data``.

    The one its run recorded from the data (``data.framing``) first. Runs without one
    (older runs, data without a record) are guessed: built-in SynthFaces (empty
    ``data.path``) -> ``synthfaces``; CelebA-HQ (``data.format`` or a path naming
    it) -> ``celebahq``; CelebA -> ``celeba``; other data: ``celebahq`` at 256 px and
    above, else ``celeba``. Pass ``framing=`` (``--framing``) when this is wrong.
    """
    recorded = getattr(cfg.data, "framing", "")
    if recorded:
        if recorded not in FRAMINGS:
            raise UserError(
                f"the model was trained on faces in the {recorded!r} framing, which this "
                f"intergan does not know (it knows {', '.join(FRAMINGS)}); pass --framing "
                "(framing=) or register it with editing.align.register_framing"
            )
        return FRAMINGS[recorded]
    path = str(cfg.data.path).lower().replace("-", "").replace("_", "")
    fmt = cfg.data.format
    if not cfg.data.path or "synth" in path:
        return get_framing("synthfaces")
    if fmt == "celebahq" or "celebahq" in path:
        return CELEBAHQ
    if fmt == "celeba" or "celeba" in path:
        return CELEBA
    return CELEBAHQ if cfg.model.img_size >= 256 else CELEBA
