"""The web editor's callbacks: what each page event does, as plain methods.

Each method takes the page's current values and returns the updates for its
outputs (in the order ``web._wire`` lists them). Every failure becomes a
message in the page's status line and a warning toast; nothing escapes to
Gradio, so the server keeps serving. The visitor's state is a token; the picture
behind it lives in the server's ``store.Store`` (bounded; an expired picture is a
message). Models are loaded by their menu name only (``catalog.Catalog``).
"""

from __future__ import annotations

import html
import logging
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from intergan.app import session, views
from intergan.app.catalog import Catalog
from intergan.app.offline import gr
from intergan.app.session import Opened
from intergan.app.store import Store
from intergan.attributes import CELEBA_ATTRS
from intergan.editing.editor import Editor
from intergan.editing.io import DEFAULT_MAX_PIXELS
from intergan.editing.paste import check_blend
from intergan.errors import UserError

log = logging.getLogger(__name__)
N_SLIDERS = len(CELEBA_ATTRS)


def label(attr: str, p: float | None = None) -> str:
    """Slider label: the attribute, and the judge's probability once a photo is open."""
    name = attr.replace("_", " ")
    return name if p is None else f"{name} ({p:.2f})"


class Handlers:
    """The page's callbacks. Each turns an exception into a message in the page.
    One lock serialises the model work (the editor and its detector are not
    thread-safe; Gradio runs unqueued events in parallel threads)."""

    def __init__(self, catalog: Catalog, store: Store, max_pixels: int = DEFAULT_MAX_PIXELS):
        self.catalog, self.store, self.max_pixels = catalog, store, max_pixels
        self.lock = threading.RLock()

    # -- helpers ---------------------------------------------------------------------
    def editor(self, model: str) -> Editor:
        """The (cached, shared) editor of menu entry ``model``, editing pictures up to
        at least the page's pixel limit (opened photos were checked against it). A
        listed model that fails to load is reported by name; the details (with its
        path) go to the server's log."""
        path = self.catalog.path(model)
        try:
            editor = session.load_editor(str(path))
        except Exception:  # noqa: BLE001 - the message could name server paths
            log.exception("loading model %r (%s) failed", model, path)
            raise UserError(f"model {model!r} could not be loaded; see the server log") from None
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

    def file(self, opened: Opened, image: np.ndarray, name: str) -> str:
        """``image`` as file ``name`` in the picture's own folder, overwritten by the
        next edit (Gradio serves a copy, so that is safe)."""
        return views.write(self.store.folder(opened.token) / name, image)

    def compare(self, opened: Opened, edited: np.ndarray) -> tuple[str, str]:
        """The before/after pair, shrunk for display: the "before" written once per
        picture, the "after" redrawn over the edited face only."""
        if "preview" not in opened.before:
            small = views.preview(opened.image)
            opened.before["preview_array"] = small
            opened.before["preview"] = self.file(opened, small, views.shown_name(small, "before"))
        small = views.after_preview(opened.before["preview_array"], opened.image, edited)
        path = self.store.folder(opened.token) / views.shown_name(small, "after")
        return opened.before["preview"], views.write(path, small)

    def extras(self, token: str | None, model: str) -> list[Any]:
        """After an edit is shown: the face close-up (aligned faces only), the download
        file and the sliders a conflict rule lowered (``Opened.lowered``).

        Outputs: close-up, download, sliders."""
        try:
            with self.lock:
                opened = self.store.get(token)
                editor = self.editor(model)
                edited = opened.last if opened.last is not None else opened.image
                lowered, opened.lowered = opened.lowered, {}
                sliders = [gr.Slider(value=opened.values[a]) if a in lowered else gr.skip()
                           for a in CELEBA_ATTRS]  # fmt: skip
                return [self.closeup(editor, opened, edited), self.download(opened, edited),
                        *sliders]  # fmt: skip
        except Exception as err:  # noqa: BLE001 - every failure becomes a message
            self.fail(err)
            return [gr.skip()] * (2 + N_SLIDERS)

    def closeup(self, editor: Editor, opened: Opened, edited: np.ndarray) -> Any:
        closeup = session.face_closeup(editor, opened, edited)
        if closeup is not None:
            if "closeup_file" not in opened.before:
                opened.before["closeup_file"] = self.file(opened, closeup[0], "face_before.png")
            closeup = (opened.before["closeup_file"], self.file(opened, closeup[1], "face.png"))
        return gr.ImageSlider(value=closeup, visible=closeup is not None)

    def download(self, opened: Opened, edited: np.ndarray) -> str:
        """The edited full picture for the download button: JPEG (quality 95) for JPEG
        uploads, PNG (alpha kept) for anything else."""
        jpeg = Path(opened.path).suffix.lower() in (".jpg", ".jpeg")
        return self.file(opened, edited, f"{opened.name}_edited.{'jpg' if jpeg else 'png'}")

    @staticmethod
    def sliders(attrs: list[str], opened: Opened | None) -> list[Any]:
        """Updates for every slider: the model's attributes visible, set to their start."""
        out = []
        for a in CELEBA_ATTRS:
            if a not in attrs:
                out.append(gr.Slider(visible=False))
            elif opened is None:
                out.append(gr.Slider(value=0.0, visible=True, label=label(a)))
            else:
                p = None if opened.estimate is None else opened.estimate[a]
                out.append(gr.Slider(value=opened.start[a], visible=True, label=label(a, p)))
        return out

    def synthetic_note(self, opened: Opened, model: str) -> str:
        """For an aligned photo that is not one of our samples, edited by a model
        trained on SynthFaces only: the line that says so (else "")."""
        from intergan.models.export import SYNTHETIC_NOTE, synthetic_only

        sample = Path(opened.path).name.startswith("sample_")
        if opened.align and not sample and synthetic_only(str(self.catalog.path(model))):
            return " · **note:** " + html.escape(SYNTHETIC_NOTE)
        return ""

    @staticmethod
    def status(opened: Opened, targets: dict[str, float], lowered: dict[str, str]) -> str:
        """One line: which picture, which face, which edits (and what a rule lowered)."""
        h, w = opened.image.shape[:2]
        if not opened.align:
            where = "not aligned"
        elif opened.n_faces > 1:
            where = f"face {opened.face} of {opened.n_faces} (numbered from 0, left to right)"
        else:
            where = "one face"
        edits = ", ".join(f"{a} {v:+.2f}" for a, v in targets.items()) or "none (reconstruction)"
        line = f"**{html.escape(opened.name)}** · {w}×{h} px · {where} · edits: {edits}"
        if targets:
            line += f" · blend {opened.blend}"
        for b, a in lowered.items():
            line += f" · {a} up lowers {b} (conflict rule)"
        if opened.estimate is None:
            line += " · no judge with this model: tick what the photo shows"
        return line

    # -- events ----------------------------------------------------------------------
    def open(
        self,
        path: str | None,
        align: bool,
        face: int,
        model: str,
        token: str | None = None,
        blend: str | None = None,
    ) -> list[Any]:
        """Upload, sample pick, alignment or face change -> fresh analysis and sliders.
        The visitor's previous picture (``token``) is dropped; ``blend``: the page's
        blend (``paste.BLENDS``; ``None``: the default).

        Outputs: token, before/after, close-up, download, status, face menu, face
        overview, "this photo shows" toggles, sliders.
        """
        if not path:
            return [gr.skip()] * (8 + N_SLIDERS)
        try:
            with self.lock:
                editor = self.editor(model)
                self.store.drop(token)
                opened = session.open_photo(editor, path, align, int(face or 0), self.max_pixels)
                opened.blend = check_blend(blend)
                opened.last = session.edit_opened(editor, opened, {})
                self.store.put(opened.token, opened)
                return self.opened_view(editor, opened, model)
        except Exception as err:  # noqa: BLE001 - every failure becomes a message
            hidden = gr.ImageSlider(value=None, visible=False)
            cleared = [None, None, hidden, None, self.fail(err), gr.Dropdown(visible=False)]
            return cleared + [gr.Image(visible=False), gr.skip()] + [gr.skip()] * N_SLIDERS

    def opened_view(self, editor: Editor, opened: Opened, model: str) -> list[Any]:
        edited = opened.last
        faces = [(f"face {k}" + (" (leftmost)" * (k == 0)), k) for k in range(opened.n_faces)]
        many = opened.n_faces > 1
        overview = None
        if many:
            image = views.faces_overview(opened.image, opened.boxes, opened.face)
            overview = self.file(opened, image, "faces.jpg")
        shows = gr.CheckboxGroup(choices=[(label(a), a) for a in editor.attrs], value=opened.shows)
        return [
            opened.token,
            self.compare(opened, edited),
            self.closeup(editor, opened, edited),
            self.download(opened, edited),
            self.status(opened, {}, {}) + self.synthetic_note(opened, model),
            gr.Dropdown(choices=faces, value=opened.face, visible=many),
            gr.Image(value=overview, visible=many),
            shows,
            *self.sliders(editor.attrs, opened),
        ]

    def edit(self, token: str | None, model: str, blend: str, *values: float) -> list[Any]:
        """Every slider's value (``CELEBA_ATTRS`` order) -> the edit (see ``render``)."""
        return self.render(token, model, blend, lambda o: dict(zip(CELEBA_ATTRS, values)))

    def move(self, attr: str, token: str | None, model: str, blend: str, value: float):
        """Slider ``attr`` moved to ``value`` (the others as the server last set them)."""
        return self.render(token, model, blend, lambda o: {**o.values, attr: value})

    def rerender(self, token: str | None, model: str, blend: str) -> list[Any]:
        """The blend changed, or the sliders were reset: the edit of the kept values."""
        return self.render(token, model, blend, lambda o: dict(o.values))

    def render(
        self, token: str | None, model: str, blend: str, values: Callable[[Opened], dict]
    ) -> list[Any]:
        """Slider values (``values(opened)``) -> before/after and status line, conflicting
        sliders lowered (``extras`` shows their new values).

        Outputs: before/after, status.
        """
        try:
            t0 = time.perf_counter()
            with self.lock:
                opened = self.store.get(token)
                editor = self.editor(model)
                opened.blend = check_blend(blend)
                asked = values(opened)
                sliders = {a: float(asked[a]) for a in editor.attrs if a in asked}
                off = session.off_value(editor)
                settled, lowered = session.settle_conflicts(
                    sliders, opened.values, opened.start, off
                )
                targets = session.targets_from_sliders(opened, settled)
                edited = session.edit_opened(editor, opened, settled)
                opened.values, opened.last = settled, edited
                opened.lowered.update(lowered)
                t1 = time.perf_counter()
                compare = self.compare(opened, edited)
        except Exception as err:  # noqa: BLE001
            return [gr.skip(), self.fail(err)]
        t2 = time.perf_counter()
        log.debug("web timings ms: edit=%.1f view=%.1f callback=%.1f",
                  1000 * (t1 - t0), 1000 * (t2 - t1), 1000 * (t2 - t0))  # fmt: skip
        status = self.status(opened, targets, lowered) + self.synthetic_note(opened, model)
        return [compare, status]

    def restate(self, token: str | None, model: str, shows: list[str] | None) -> list[Any]:
        """The "this photo shows" toggles changed -> the edit again from that source
        (without a judge the sliders restart from it).

        Outputs: before/after, status, sliders.
        """
        try:
            with self.lock:
                opened = self.store.get(token)
                editor = self.editor(model)
                session.restate(editor, opened, list(shows or []))
                targets = session.targets_from_sliders(opened, opened.values)
                opened.last = session.edit_opened(editor, opened, opened.values)
                compare = self.compare(opened, opened.last)
        except Exception as err:  # noqa: BLE001
            return [gr.skip(), self.fail(err)] + [gr.skip()] * N_SLIDERS
        restarted = opened.estimate is None
        sliders = self.sliders(editor.attrs, opened) if restarted else [gr.skip()] * N_SLIDERS
        status = self.status(opened, targets, {}) + self.synthetic_note(opened, model)
        return [compare, status, *sliders]

    def pick_face(self, token: str | None, model: str, x: float, y: float) -> list[Any]:
        """A click on the face overview at (x, y) of its image -> that face opened."""
        try:
            opened = self.store.get(token)
        except UserError as err:
            return [gr.skip()] * 4 + [self.fail(err)] + [gr.skip()] * (3 + N_SLIDERS)
        k = views.scale_of(opened.image.shape, 768)
        face = views.face_at(opened.boxes, x / k, y / k)
        if face is None or face == opened.face:
            return [gr.skip()] * (8 + N_SLIDERS)
        return self.open(opened.path, opened.align, face, model, token, opened.blend)

    def reopen(self, token: str | None, align: bool, face: int, model: str) -> list[Any]:
        """Alignment ticked or another face chosen -> the same picture opened again."""
        try:
            opened = self.store.get(token)
        except UserError as err:
            return [gr.skip()] * 4 + [self.fail(err)] + [gr.skip()] * (3 + N_SLIDERS)
        return self.open(opened.path, align, face, model, token, opened.blend)

    def reset(self, token: str | None, model: str) -> list[Any]:
        """Sliders back to their start (the judge's estimate, or the toggles)."""
        try:
            opened = self.store.get(token)
        except UserError:
            return [gr.skip()] * N_SLIDERS
        opened.restart()
        return self.sliders(opened.attrs, opened)

    def load_model(self, model: str, token: str | None) -> list[Any]:
        """Switch to menu entry ``model``; one that fails keeps the current one and
        says why (by name: no path is shown or taken). The open picture is dropped.

        Outputs: model state, token, before/after, close-up, download, status, model
        line, face menu, face overview, toggles, sliders.
        """
        try:
            editor = self.editor(model)
        except Exception as err:  # noqa: BLE001
            return [gr.skip()] * 5 + [self.fail(err)] + [gr.skip()] * (4 + N_SLIDERS)
        self.store.drop(token)
        msg = f"Loaded **{html.escape(model)}**. Open a photo or pick a sample."
        hidden = gr.ImageSlider(value=None, visible=False)
        shows = gr.CheckboxGroup(choices=[(label(a), a) for a in editor.attrs], value=[])
        return [model, None, None, hidden, None, msg, model_line(model, editor),
                gr.Dropdown(visible=False), gr.Image(visible=False), shows,
                *self.sliders(editor.attrs, None)]  # fmt: skip


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
