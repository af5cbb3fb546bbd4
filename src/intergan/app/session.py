"""What the web editor does between the browser and the ``Editor``, without Gradio.

The page keeps one ``Opened`` per visitor (in ``store.Store``): the uploaded
picture, which face is being edited, the judge's estimate of its attributes, what
the photo shows (the "this photo shows" toggles: the source attributes every edit
starts from) and the editing session (``Editor.open``: detection, alignment, the
estimate and the generator's encoder run once per picture). Every slider move
calls ``edit_opened`` with the slider values, which runs only the generator's
label-dependent part and the paste-back; only sliders the user moved away from
their starting point become edit targets, so an untouched page shows the model's
reconstruction of the photo.

Slider scale: the editor's intensity (``v * test_int`` becomes the target entry;
+-1 is the paper's test-time edit, beyond extrapolates). A slider starts at the
judge's probability ``p`` mapped to ``2p - 1`` (a confident "yes" near +1, a
confident "no" near -1); without a judge, at +1 for what the toggles say the photo
shows and -1 for the rest. Raising a slider above 0 lowers the sliders its conflict
rules switch off (``settle_conflicts``), to the value the rule gives them.
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

from intergan.attributes import CONFLICTS
from intergan.editing.align import crop_face
from intergan.editing.crops import FaceIndexError, NoFaceError
from intergan.editing.editor import Editor
from intergan.editing.faces import Face, FaceDetector, default_detector
from intergan.editing.io import DEFAULT_MAX_PIXELS, load_image
from intergan.editing.labels import MAX_INTENSITY
from intergan.editing.paste import DEFAULT_BLEND
from intergan.editing.session import EditSession
from intergan.errors import UserError

SLIDER_MIN, SLIDER_MAX, SLIDER_STEP = -MAX_INTENSITY, MAX_INTENSITY, 0.05
MOVED = 1e-6  # a slider further than this from its start is an edit target
CLOSEUP_SIDE = 256  # pixels of the face close-up the page shows for aligned photos


@dataclass
class Opened:
    """One visitor's picture and its analysis, kept in the page's ``store.Store``.

    image: (H, W, 3) or (H, W, 4) uint8 as uploaded (alpha kept, EXIF applied);
    path: the file it came from; align: whether the face pipeline runs; face:
    index of the edited face among ``n_faces`` (numbered from 0, left to right);
    boxes: the faces' boxes (x0, y0, x1, y1) in the picture (empty when not
    aligned); estimate: the judge's probability per attribute (``None`` when the
    model has no judge); shows: the attributes the photo shows (the source of every
    edit: the judge's "yes" answers, or what the visitor ticked); session: the
    ``EditSession`` slider moves edit (``session_for``).
    """

    image: np.ndarray
    path: str
    align: bool
    face: int
    n_faces: int
    attrs: list[str]
    estimate: dict[str, float] | None
    shows: list[str] = field(default_factory=list)
    session: EditSession | None = field(default=None, repr=False, compare=False)
    boxes: list[tuple[float, float, float, float]] = field(default_factory=list)
    start: dict[str, float] = field(init=False)
    values: dict[str, float] = field(init=False)  # the sliders after the last move
    lowered: dict[str, str] = field(default_factory=dict)  # by a rule, not yet shown
    last: np.ndarray | None = field(default=None, repr=False, compare=False)  # last edit
    blend: str = DEFAULT_BLEND  # how edits go back into the photo (``paste.BLENDS``)
    token: str = field(default_factory=lambda: uuid.uuid4().hex)  # names its folder
    # what every view of this picture shows unchanged (made on first use)
    before: dict[str, np.ndarray] = field(default_factory=dict, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.restart()

    def restart(self) -> None:
        """Sliders back to their start: the judge's estimate, else the toggles."""
        if self.estimate is not None:
            self.start = {a: slider_start(self.estimate[a]) for a in self.attrs}
        else:
            self.start = {a: 1.0 if a in self.shows else -1.0 for a in self.attrs}
        self.values = dict(self.start)

    @property
    def name(self) -> str:
        return Path(self.path).stem

    @property
    def source(self) -> dict[str, int]:
        """Binary source attributes for the editor: what the toggles say."""
        return {a: int(a in self.shows) for a in self.attrs}

    @property
    def nbytes(self) -> int:
        """Bytes this picture holds, roughly: the upload, the session's own copy of it,
        the last edit and the paste-back plan (measured in docs/editing.md)."""
        held = 2 * self.image.nbytes + (0 if self.last is None else self.last.nbytes)
        return held + PLAN_BYTES_PER_PIXEL * sum(
            (x1 - x0) * (y1 - y0) for x0, y0, x1, y1 in self.boxes
        )


# the paste-back plan (grid, mask, keep over the crop's footprint, several times the
# face's box) and the paste's buffers, per pixel of the face's box: fitted so that a
# 19 MP photo counts what it held (235 MB, docs/editing.md "Web editor")
PLAN_BYTES_PER_PIXEL = 64


def slider_start(p: float) -> float:
    """Judge probability in [0, 1] -> slider value ``2p - 1``, on the slider's grid."""
    return on_grid(2 * float(p) - 1)


def on_grid(v: float) -> float:
    """``v`` rounded to the sliders' step and clipped to their range."""
    return round(min(max(round(v / SLIDER_STEP) * SLIDER_STEP, SLIDER_MIN), SLIDER_MAX), 2)


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


def off_value(editor: Editor) -> float:
    """The slider value of an attribute a conflict rule switches off: its encoded
    "absent" label ``-thres_int`` in slider units (``/ test_int``), on the grid."""
    return on_grid(-editor.labels.thres_int / editor.labels.test_int)


def settle_conflicts(
    values: dict[str, float], previous: dict[str, float], start: dict[str, float], off: float
) -> tuple[dict[str, float], dict[str, str]]:
    """Slider values after a move, with no two conflicting edit targets above 0.

    Each slider that changed since ``previous`` and is above 0 sets every slider its
    rule in ``intergan.attributes.CONFLICTS`` switches off, and that is above 0, to
    ``off`` (the value the rule gives it, so the edit is the one the raised slider
    alone makes). Then, should two targets (sliders away from ``start``) still
    clash, the higher one wins the same way. Returns the new values and {lowered
    attribute: the one that lowered it}.
    """
    out = dict(values)
    moved = [a for a in out if abs(out[a] - previous.get(a, out[a])) > MOVED]
    targets = {a for a in out if abs(out[a] - start.get(a, out[a])) > MOVED}
    rest = sorted(targets - set(moved), key=lambda a: -out[a])
    lowered: dict[str, str] = {}
    for a in moved + rest:
        if out[a] <= 0:
            continue
        for other in CONFLICTS.get(a, ()):
            if other in out and out[other] > 0 and (a in moved or other in targets):
                out[other] = off
                lowered[other] = a
    return out, lowered


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

    What the photo shows starts as the judge's "yes" answers (p > 0.5), or nothing
    when the model has no judge (``restate`` changes it). Raises ``UserError`` for
    files that are not images, images over ``max_pixels`` and photos with no face.
    An out-of-range ``face`` picks face 0.
    """
    photo = load_image(path, max_pixels=max_pixels)
    image = photo.rgb if photo.alpha is None else np.dstack([photo.rgb, photo.alpha])
    face = face if align else 0
    source = None if editor.judge is not None else {}  # no judge: nothing shown
    try:
        sess = _open(editor, image, align, face, source)
    except NoFaceError:
        raise UserError(
            f"no face found in {Path(path).name}; use a photo with a visible, roughly "
            "frontal face, or untick 'Detect and align the face' for a picture already "
            "cropped to a face like the samples"
        ) from None
    except FaceIndexError:
        face, sess = 0, _open(editor, image, align, 0, source)
    found = sess.faces[0] if align else []
    est = sess.estimate()[0] if editor.judge is not None else None
    shows = [a for a, p in (est or {}).items() if p > 0.5]
    opened = Opened(image, str(path), align, face, max(len(found), 1), list(editor.attrs),
                    est, shows, sess, [tuple(map(float, f.box)) for f in found])  # fmt: skip
    return opened


def restate(editor: Editor, opened: Opened, shows: list[str]) -> None:
    """The photo shows ``shows`` (the toggles): a new session with that source; without
    a judge the sliders restart from it."""
    unknown = sorted(set(shows) - set(opened.attrs))
    if unknown:
        raise UserError(f"unknown attribute(s) {', '.join(unknown)} for this model")
    opened.shows = [a for a in opened.attrs if a in shows]
    opened.session = _open(editor, opened.image, opened.align, opened.face, opened.source)
    if opened.estimate is None:
        opened.restart()


def _open(
    editor: Editor, image: np.ndarray, align: bool, face: int, source: dict | None
) -> EditSession:
    return editor.open(image, source=source, align=align, face_index=face if align else None)


def session_for(editor: Editor, opened: Opened) -> EditSession:
    """The editing session of ``opened`` with ``editor``; a new one (with the photo's
    stated source) when the picture has none yet or it belongs to another model."""
    if opened.session is None or opened.session.editor is not editor:
        opened.session = _open(editor, opened.image, opened.align, opened.face, opened.source)
    return opened.session


def edit_opened(editor: Editor, opened: Opened, values: dict[str, float]) -> np.ndarray:
    """The full picture with the slider edits applied with the picture's blend:
    (H, W, 3 or 4) uint8."""
    targets = targets_from_sliders(opened, values)
    return session_for(editor, opened).edit(targets, blend=opened.blend)


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
