"""What the web editor does between the browser and the ``Editor``, without Gradio.

The page keeps one ``Opened`` per visitor: the uploaded picture, which face is
being edited, and the judge's estimate of its attributes. Every slider move calls
``edit_opened`` with the slider values; only sliders the user moved away from
their starting point become edit targets, so an untouched page shows the
model's reconstruction of the photo.

Slider scale: the editor's intensity (``v * test_int`` becomes the target entry;
+-1 is the paper's test-time edit, beyond extrapolates). A slider starts at the
judge's probability ``p`` mapped to ``2p - 1``: a confident "yes" starts near +1,
a confident "no" near -1.
"""

from __future__ import annotations

import functools
import hashlib
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from intergan.editing.align import crop_face
from intergan.editing.editor import Editor
from intergan.editing.faces import Face, FaceDetector, default_detector
from intergan.editing.io import DEFAULT_MAX_PIXELS, load_image
from intergan.errors import UserError
from intergan.images import to_model

SLIDER_MIN, SLIDER_MAX, SLIDER_STEP = -1.5, 1.5, 0.05
MOVED = 1e-6  # a slider further than this from its start is an edit target
CLOSEUP_SIDE = 256  # pixels of the face close-up the page shows for aligned photos


@dataclass
class Opened:
    """One visitor's picture and its analysis, kept in the page's session state.

    image: (H, W, 3) or (H, W, 4) uint8 as uploaded (alpha kept, EXIF applied);
    path: the file it came from; align: whether the face pipeline runs; face:
    index of the edited face among ``n_faces`` (left to right); estimate: the
    judge's probability per attribute (``None`` when the model has no judge).
    """

    image: np.ndarray
    path: str
    align: bool
    face: int
    n_faces: int
    attrs: list[str]
    estimate: dict[str, float] | None
    start: dict[str, float] = field(init=False)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # names its download

    def __post_init__(self) -> None:
        est = self.estimate or {}
        self.start = {a: slider_start(est[a]) if a in est else 0.0 for a in self.attrs}

    @property
    def name(self) -> str:
        return Path(self.path).stem

    @property
    def source(self) -> dict[str, int]:
        """Binary source attributes for the editor (all absent without a judge)."""
        return {a: int(p > 0.5) for a, p in (self.estimate or {}).items()}


def slider_start(p: float) -> float:
    """Judge probability in [0, 1] -> slider value ``2p - 1``, on the slider's grid."""
    return round(round((2 * float(p) - 1) / SLIDER_STEP) * SLIDER_STEP, 2)


def targets_from_sliders(opened: Opened, values: dict[str, float]) -> dict[str, float]:
    """The edit targets: sliders moved away from their start, as {attr: intensity}."""
    unknown = sorted(set(values) - set(opened.start))
    if unknown:
        raise UserError(f"unknown slider(s) {', '.join(unknown)}")
    return {
        a: float(v)
        for a, v in values.items()
        if v is not None and abs(float(v) - opened.start[a]) > MOVED
    }


class MemoDetector:
    """A ``FaceDetector`` that remembers the faces of the last few photos.

    Every slider move re-edits the same photo; detection on a large photo costs
    more than the edit itself, so it runs once per photo. The wrapped detector is
    built on first use (like the editor's own default). Not thread-safe: the web
    page runs one model request at a time.
    """

    def __init__(self, make: Callable[[], FaceDetector] = default_detector, keep: int = 4):
        self._make, self._inner, self.keep = make, None, keep
        self._memo: OrderedDict[bytes, list[Face]] = OrderedDict()

    def detect(self, image: np.ndarray) -> list[Face]:
        key = hashlib.blake2b(np.ascontiguousarray(image).data, digest_size=16)
        key.update(repr(image.shape).encode())
        k = key.digest()
        if k not in self._memo:
            if self._inner is None:
                self._inner = self._make()
            self._memo[k] = self._inner.detect(image)
            while len(self._memo) > self.keep:
                self._memo.popitem(last=False)
        self._memo.move_to_end(k)
        return self._memo[k]


@functools.lru_cache(maxsize=2)
def load_editor(model: str) -> Editor:
    """The editor for a model name or folder, cached: the page reuses loaded models."""
    model = str(model).strip()
    if not model:
        raise UserError("no model given: enter a model name (e.g. synthfaces-64) or a folder")
    return Editor.from_pretrained(model, detector=MemoDetector())


def _model_crop(editor: Editor, rgb: np.ndarray, align: bool, face: Face | None) -> torch.Tensor:
    """The (1, 3, S, S) crop in [-1, 1] the model sees: aligned face or centre square."""
    if align:
        crop, _ = crop_face(rgb, face, editor.framing, editor.size)
    else:
        h, w = rgb.shape[:2]
        side = min(h, w)
        y0, x0 = (h - side) // 2, (w - side) // 2
        square = Image.fromarray(rgb[y0 : y0 + side, x0 : x0 + side])
        crop = np.asarray(square.resize((editor.size, editor.size), Image.BICUBIC))
    return to_model(torch.from_numpy(np.array(crop)).permute(2, 0, 1)[None])  # a writable copy


def estimate(editor: Editor, rgb: np.ndarray, align: bool, face: Face | None):
    """The judge's probability per model attribute for one face, or ``None`` (no judge)."""
    judge = editor.judge
    if judge is None:
        return None
    x = _model_crop(editor, rgb, align, face)
    s = judge.img_size
    x = torch.nn.functional.interpolate(x, size=(s, s), mode="bilinear", antialias=True)
    probs = judge.predict(x.to(judge.device))[0].cpu()
    return {a: float(probs[judge.attrs.index(a)]) for a in editor.attrs}


def open_photo(
    editor: Editor,
    path: str | Path,
    align: bool = True,
    face: int = 0,
    max_pixels: int = DEFAULT_MAX_PIXELS,
) -> Opened:
    """Read an uploaded file, find its faces and estimate the chosen face's attributes.

    Raises ``UserError`` for files that are not images, images over
    ``max_pixels`` and photos with no face. An out-of-range ``face`` picks face 0.
    """
    photo = load_image(path, max_pixels=max_pixels)
    image = photo.rgb if photo.alpha is None else np.dstack([photo.rgb, photo.alpha])
    faces: list[Face] = []
    if align:
        faces = editor.find_faces(photo.rgb)
        if not faces:
            raise UserError(
                f"no face found in {Path(path).name}; use a photo with a visible, roughly "
                "frontal face, or untick 'Detect and align the face' for a picture already "
                "cropped to a face like the samples"
            )
        face = face if 0 <= face < len(faces) else 0
    else:
        face = 0
    est = estimate(editor, photo.rgb, align, faces[face] if faces else None)
    return Opened(image, str(path), align, face, max(len(faces), 1), list(editor.attrs), est)


def edit_opened(editor: Editor, opened: Opened, values: dict[str, float]) -> np.ndarray:
    """The full picture with the slider edits applied: (H, W, 3 or 4) uint8."""
    targets = targets_from_sliders(opened, values)
    return editor.edit(
        opened.image,
        targets,
        source=opened.source,
        align=opened.align,
        face_index=opened.face if opened.align else None,
    )


def face_closeup(
    editor: Editor, opened: Opened, edited: np.ndarray, side: int = CLOSEUP_SIDE
) -> tuple[np.ndarray, np.ndarray] | None:
    """The edited face zoomed in: (before, after) crops (side, side, 3) uint8 in the
    model's framing, or ``None`` when the picture was not aligned."""
    if not opened.align:
        return None
    rgb = np.ascontiguousarray(opened.image[..., :3])
    face = editor.find_faces(rgb)[opened.face]  # remembered since the photo was opened
    before, _ = crop_face(rgb, face, editor.framing, side)
    after, _ = crop_face(np.ascontiguousarray(edited[..., :3]), face, editor.framing, side)
    return before, after
