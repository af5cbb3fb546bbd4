"""The web editor's callbacks: what each page event does, as plain methods.

Each method takes the page's current values and returns the updates for its
outputs (in the order ``web._wire`` lists them). Every failure becomes a
message in the page's status line and a warning toast; nothing escapes to
Gradio, so the server keeps serving.
"""

from __future__ import annotations

import html
import logging
import os
import re
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from intergan.app import session
from intergan.app.offline import gr
from intergan.app.session import Opened
from intergan.attributes import CELEBA_ATTRS
from intergan.editing.editor import Editor
from intergan.editing.io import Photo, save_image
from intergan.errors import UserError

log = logging.getLogger(__name__)

PREVIEW_SIDE = 1024  # before/after shown at most this large; the download is full size
# [chosen, measured in docs/editing.md] every slider move writes the download and the
# shown images: PNG at zlib level 1 (a 1024x768 photo in ~80 ms instead of ~285 ms at
# Pillow's default, files ~10% larger); previews above EXACT_PIXELS are shown as JPEG
# q95 (~3 ms); smaller ones (the model's own small faces) stay exact PNG pixels.
PNG_LEVEL = 1
EXACT_PIXELS = 512 * 512


def label(attr: str, p: float | None = None) -> str:
    """Slider label: the attribute, and the judge's probability once a photo is open."""
    name = attr.replace("_", " ")
    return name if p is None else f"{name} ({p:.2f})"


class Handlers:
    """The page's callbacks. Each turns an exception into a message in the page."""

    def __init__(self, max_pixels: int, download_dir: Path) -> None:
        self.max_pixels = max_pixels
        self.download_dir = download_dir

    # -- helpers ---------------------------------------------------------------------
    def editor(self, model: str) -> Editor:
        """The (cached, shared) editor of ``model``, editing pictures up to at least the
        page's pixel limit (opened photos were checked against it)."""
        editor = session.load_editor(model)
        limit = self.max_pixels or None  # 0: no limit
        if editor.max_pixels is not None and (limit is None or limit > editor.max_pixels):
            editor.max_pixels = limit
        return editor

    @staticmethod
    def fail(err: Exception) -> str:
        """Show ``err`` as a warning toast; return the status line's error text.

        The page never shows the server's paths: a file in a temporary folder (an
        upload, a sample) is named by its file name alone.
        """
        if isinstance(err, UserError):
            msg = str(err)
        else:  # a bug: keep serving, log the traceback, tell the user something useful
            log.exception("web editor callback failed")
            msg = f"internal error ({type(err).__name__}: {err}); see the server log"
        msg = hide_server_paths(msg)
        gr.Warning(html.escape(msg), duration=10)
        return f"**Error:** {html.escape(msg)}"

    def save(self, opened: Opened, edited: np.ndarray) -> str:
        """Write the edited full picture for the download button: JPEG (quality 95) for
        JPEG uploads, PNG (alpha kept) for anything else."""
        jpeg = Path(opened.path).suffix.lower() in (".jpg", ".jpeg")
        name = f"{opened.name}_edited.{'jpg' if jpeg else 'png'}"
        return self.write(opened, edited, name)

    def write(self, opened: Opened, image: np.ndarray, name: str) -> str:
        """``image`` (H, W, 3|4) uint8 as file ``name`` in the picture's own folder,
        overwritten by the next edit (Gradio serves a copy, so that is safe)."""
        folder = self.download_dir / opened.token
        folder.mkdir(exist_ok=True)
        path = folder / name
        rgb, alpha = (image[..., :3], image[..., 3]) if image.shape[-1] == 4 else (image, None)
        save_image(path, Photo(np.ascontiguousarray(rgb), alpha), 95, png_level=PNG_LEVEL)
        return str(path)

    def shown(self, opened: Opened, image: np.ndarray, name: str) -> str:
        """A display copy of ``image`` (shrunk by ``preview``): exact PNG up to
        ``EXACT_PIXELS`` or with alpha, JPEG q95 above."""
        small = preview(image)
        exact = small.shape[0] * small.shape[1] <= EXACT_PIXELS or small.shape[-1] == 4
        return self.write(opened, small, f"{name}.{'png' if exact else 'jpg'}")

    @staticmethod
    def sliders(attrs: list[str], opened: Opened | None) -> list[Any]:
        """Updates for every slider: the model's attributes visible, set to their start."""
        out = []
        for a in CELEBA_ATTRS:
            if a not in attrs:
                out.append(gr.Slider(visible=False))
            elif opened is None or opened.estimate is None:
                out.append(gr.Slider(value=0.0, visible=True, label=label(a)))
            else:
                p = opened.estimate[a]
                out.append(gr.Slider(value=opened.start[a], visible=True, label=label(a, p)))
        return out

    @staticmethod
    def synthetic_note(opened: Opened, model: str) -> str:
        """For an aligned photo that is not one of our samples, edited by a model
        trained on SynthFaces only: the line that says so (else "")."""
        from intergan.models.export import SYNTHETIC_NOTE, synthetic_only

        sample = Path(opened.path).name.startswith("sample_")
        if opened.align and not sample and synthetic_only(model):
            return " · **note:** " + html.escape(SYNTHETIC_NOTE)
        return ""

    @staticmethod
    def status(opened: Opened, targets: dict[str, float]) -> str:
        """One line: which picture, which face, which edits."""
        h, w = opened.image.shape[:2]
        where = f"face {opened.face + 1} of {opened.n_faces}" if opened.align else "not aligned"
        edits = ", ".join(f"{a} {v:+.2f}" for a, v in targets.items()) or "none (reconstruction)"
        line = f"**{html.escape(opened.name)}** · {w}×{h} px · {where} · edits: {edits}"
        if opened.estimate is None:
            line += " · no judge with this model: sliders start at 0"
        return line

    def view(self, editor: Editor, opened: Opened, edited: np.ndarray) -> list[Any]:
        """Updates for the before/after (shrunk for display; the download keeps full
        size) and the face close-up (shown only for aligned faces), as files: what
        does not change between slider moves is written once per picture."""
        if "preview" not in opened.before:
            opened.before["preview"] = self.shown(opened, opened.image, "before")
        compare = (opened.before["preview"], self.shown(opened, edited, "after"))
        closeup = session.face_closeup(editor, opened, edited)
        if closeup is not None:
            if "closeup_file" not in opened.before:
                opened.before["closeup_file"] = self.write(opened, closeup[0], "face_before.png")
            closeup = (opened.before["closeup_file"], self.write(opened, closeup[1], "face.png"))
        return [compare, gr.ImageSlider(value=closeup, visible=closeup is not None)]

    # -- events ----------------------------------------------------------------------
    def open(self, path: str | None, align: bool, face: int, model: str) -> list[Any]:
        """Upload, sample pick, alignment or face change -> fresh analysis and sliders.

        Outputs: opened state, before/after, close-up, download, status, face picker,
        sliders.
        """
        if not path:
            return [gr.skip()] * (6 + len(CELEBA_ATTRS))
        try:
            editor = self.editor(model)
            opened = session.open_photo(editor, path, align, int(face or 0), self.max_pixels)
            edited = session.edit_opened(editor, opened, {})
        except Exception as err:  # noqa: BLE001 - every failure becomes a message
            hidden = gr.ImageSlider(value=None, visible=False)
            cleared = [None, None, hidden, None, self.fail(err), gr.Dropdown(visible=False)]
            return cleared + [gr.skip()] * len(CELEBA_ATTRS)
        faces = [(f"face {k + 1}", k) for k in range(opened.n_faces)]
        face_dd = gr.Dropdown(choices=faces, value=opened.face, visible=opened.n_faces > 1)
        return [
            opened,
            *self.view(editor, opened, edited),
            self.save(opened, edited),
            self.status(opened, {}) + self.synthetic_note(opened, model),
            face_dd,
            *self.sliders(editor.attrs, opened),
        ]

    def edit(self, opened: Opened | None, model: str, *values: float) -> list[Any]:
        """Sliders moved -> before/after, close-up, download and status line."""
        if opened is None:
            return [gr.skip()] * 3 + ["Upload a photo or pick a sample first."]
        try:
            editor = self.editor(model)
            sliders = {a: v for a, v in zip(CELEBA_ATTRS, values) if a in editor.attrs}
            targets = session.targets_from_sliders(opened, sliders)
            edited = session.edit_opened(editor, opened, sliders)
        except Exception as err:  # noqa: BLE001
            return [gr.skip()] * 3 + [self.fail(err)]
        return [
            *self.view(editor, opened, edited),
            self.save(opened, edited),
            self.status(opened, targets) + self.synthetic_note(opened, model),
        ]

    def reset(self, opened: Opened | None, model: str) -> list[Any]:
        """Sliders back to the judge's estimate."""
        return self.sliders(session.load_editor(model).attrs, opened)

    def load_model(self, model: str) -> list[Any]:
        """Switch models; a bad name or path keeps the current one and says why.

        Outputs: model state, opened state, before/after, close-up, status, model
        line, sliders.
        """
        try:
            editor = session.load_editor(model)
        except Exception as err:  # noqa: BLE001
            return [gr.skip()] * 4 + [self.fail(err)] + [gr.skip()] * (1 + len(CELEBA_ATTRS))
        msg = f"Loaded **{html.escape(model)}**. Open a photo or pick a sample."
        hidden = gr.ImageSlider(value=None, visible=False)
        return [model.strip(), None, None, hidden, msg, model_line(model, editor)] + (
            self.sliders(editor.attrs, None)
        )


def model_line(name: str, editor: Editor) -> str:
    """One line describing the loaded model, under the page title."""
    m = editor.config.model
    judge = "judge classifier included" if editor.judge is not None else "no judge classifier"
    backend = getattr(editor.backend, "name", type(editor.backend).__name__)
    return (
        f"Model **{html.escape(name.strip())}**: {m.variant}, {m.preset} preset, "
        f"{editor.size} px, {len(editor.attrs)} attributes, {judge}; runs on {backend}"
    )


def hide_server_paths(msg: str) -> str:
    """``msg`` with the folders of every path under a temporary folder removed."""
    roots = {r for r in (tempfile.gettempdir(), os.environ.get("GRADIO_TEMP_DIR")) if r}
    roots |= {os.path.realpath(r) for r in roots}
    for root in sorted(roots, key=len, reverse=True):  # /tmp/x before /tmp
        msg = re.sub(re.escape(root.rstrip(os.sep)) + r"/(?:[^\s/]+/)*", "", msg)
    return msg


def preview(image: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """``image`` shrunk so its long side is at most ``max_side`` (for display only)."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    k = max_side / max(h, w)
    small = Image.fromarray(image).resize((round(w * k), round(h * k)), Image.LANCZOS)
    return np.asarray(small)
