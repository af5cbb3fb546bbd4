"""What the web editor does between the browser and the ``Editor``, without Gradio.

The page keeps one ``Opened`` per visitor: the uploaded picture, which face is
being edited, the judge's estimate of its attributes and the editing session
(``Editor.open``: detection, alignment, the estimate and the generator's encoder
run once per picture). Every slider move calls ``edit_opened`` with the slider
values, which runs only the generator's label-dependent part and the paste-back;
only sliders the user moved away from their starting point become edit targets,
so an untouched page shows the model's reconstruction of the photo.

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

from intergan.editing.align import crop_face
from intergan.editing.crops import FaceIndexError, NoFaceError
from intergan.editing.editor import Editor
from intergan.editing.faces import Face, FaceDetector, default_detector
from intergan.editing.io import DEFAULT_MAX_PIXELS, load_image
from intergan.editing.labels import MAX_INTENSITY
from intergan.editing.session import EditSession
from intergan.errors import UserError

SLIDER_MIN, SLIDER_MAX, SLIDER_STEP = -MAX_INTENSITY, MAX_INTENSITY, 0.05
MOVED = 1e-6  # a slider further than this from its start is an edit target
CLOSEUP_SIDE = 256  # pixels of the face close-up the page shows for aligned photos


@dataclass
class Opened:
    """One visitor's picture and its analysis, kept in the page's session state.

    image: (H, W, 3) or (H, W, 4) uint8 as uploaded (alpha kept, EXIF applied);
    path: the file it came from; align: whether the face pipeline runs; face:
    index of the edited face among ``n_faces`` (left to right); estimate: the
    judge's probability per attribute (``None`` when the model has no judge);
    session: the ``EditSession`` slider moves edit (``session_for``).
    """

    image: np.ndarray
    path: str
    align: bool
    face: int
    n_faces: int
    attrs: list[str]
    estimate: dict[str, float] | None
    session: EditSession | None = field(default=None, repr=False, compare=False)
    start: dict[str, float] = field(init=False)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # names its download
    # what every view of this picture shows unchanged (made on first use)
    before: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

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
    face = face if align else 0
    try:
        sess = _open(editor, image, align, face)
    except NoFaceError:
        raise UserError(
            f"no face found in {Path(path).name}; use a photo with a visible, roughly "
            "frontal face, or untick 'Detect and align the face' for a picture already "
            "cropped to a face like the samples"
        ) from None
    except FaceIndexError:
        face, sess = 0, _open(editor, image, align, 0)
    n_faces = len(sess.faces[0]) if align else 1
    est = sess.estimate()[0] if editor.judge is not None else None
    return Opened(image, str(path), align, face, n_faces, list(editor.attrs), est, sess)


def _open(editor: Editor, image: np.ndarray, align: bool, face: int) -> EditSession:
    return editor.open(
        image,
        source=None if editor.judge is not None else {},  # no judge: all absent
        align=align,
        face_index=face if align else None,
    )


def session_for(editor: Editor, opened: Opened) -> EditSession:
    """The editing session of ``opened`` with ``editor``; a new one when the picture
    has none yet or it belongs to another model."""
    if opened.session is None or opened.session.editor is not editor:
        opened.session = _open(editor, opened.image, opened.align, opened.face)
    return opened.session


def edit_opened(editor: Editor, opened: Opened, values: dict[str, float]) -> np.ndarray:
    """The full picture with the slider edits applied: (H, W, 3 or 4) uint8."""
    targets = targets_from_sliders(opened, values)
    return session_for(editor, opened).edit(targets)


def face_closeup(
    editor: Editor, opened: Opened, edited: np.ndarray, side: int = CLOSEUP_SIDE
) -> tuple[np.ndarray, np.ndarray] | None:
    """The edited face zoomed in: (before, after) crops (side, side, 3) uint8 in the
    model's framing, or ``None`` when the picture was not aligned."""
    if not opened.align:
        return None
    face = session_for(editor, opened).faces[0][opened.face]
    key = f"closeup{side}"
    if key not in opened.before:
        rgb = np.ascontiguousarray(opened.image[..., :3])
        opened.before[key] = crop_face(rgb, face, editor.framing, side)[0]
    after, _ = crop_face(np.ascontiguousarray(edited[..., :3]), face, editor.framing, side)
    return opened.before[key], after
