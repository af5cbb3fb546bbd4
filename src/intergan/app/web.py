"""The web editor: a Gradio page over ``intergan.editing.Editor``.

Upload a photo (or pick a built-in SynthFaces sample); the face pipeline finds
and aligns the face and the judge classifier estimates its attributes; one
slider per attribute starts at that estimate; moving sliders re-renders the
edited photo, shown before/after and offered as a download (PNG, or JPEG for
JPEG uploads).

Offline by construction: analytics off, a theme with system fonts only (no web
font download), no share link, bound to 127.0.0.1 unless ``--host`` says
otherwise. Problems a user can fix (not an image, too large, no face, a model
that does not exist) appear in the page's status line and as a warning toast;
the server keeps serving.

Run: ``intergan demo --serve`` or ``python -m intergan.app.web --model NAME``.
"""

from __future__ import annotations

import argparse
import html
import logging
import os
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"  # before gradio is imported: no telemetry

import gradio as gr  # noqa: E402
import numpy as np  # noqa: E402
from PIL import Image  # noqa: E402

from intergan.app import samples, session  # noqa: E402
from intergan.app.session import Opened  # noqa: E402
from intergan.app.web_args import add_arguments  # noqa: E402
from intergan.attributes import CELEBA_ATTRS  # noqa: E402
from intergan.editing.editor import Editor  # noqa: E402
from intergan.editing.io import DEFAULT_MAX_PIXELS, Photo, save_image  # noqa: E402
from intergan.errors import UserError  # noqa: E402

log = logging.getLogger(__name__)

DEFAULT_MODEL = "synthfaces-64"
PREVIEW_SIDE = 1024  # before/after shown at most this large; the download is full size
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
CSS = """
#status { min-height: 2.6em; }
#compare img, #samples img { image-rendering: pixelated; }  /* small faces: show real pixels */
#status p, #model-info p { margin: 0; }
#model-info { color: var(--body-text-color-subdued); font-size: 0.9em; }
.attr-slider .min_value, .attr-slider .max_value { display: none; }
.attr-slider { padding: 6px 10px !important; }
.attr-slider input[type=number] { width: 5.5em; }
#samples .grid-wrap { height: auto !important; min-height: 0 !important; }
#samples .grid-container {
  padding-top: 8px; grid-template-columns: repeat(3, minmax(0, 1fr)) !important;
}
#samples .thumbnail-item { min-width: 0 !important; width: 100%; aspect-ratio: 1; }
footer { display: none !important; }
"""


def theme() -> gr.themes.Theme:
    """Gradio's default look with system fonts: nothing is fetched from a font CDN."""
    return gr.themes.Default(
        primary_hue="blue", font=SYSTEM_FONTS, font_mono=MONO_FONTS, radius_size="sm"
    )


def _label(attr: str, p: float | None = None) -> str:
    """Slider label: the attribute, and the judge's probability once a photo is open."""
    name = attr.replace("_", " ")
    return name if p is None else f"{name} ({p:.2f})"


class Handlers:
    """The page's callbacks. Each turns an exception into a message in the page."""

    def __init__(self, max_pixels: int, download_dir: Path) -> None:
        self.max_pixels = max_pixels
        self.download_dir = download_dir

    # -- helpers ---------------------------------------------------------------------
    @staticmethod
    def fail(err: Exception) -> str:
        """Show ``err`` as a warning toast; return the status line's error text."""
        if isinstance(err, UserError):
            msg = str(err)
        else:  # a bug: keep serving, log the traceback, tell the user something useful
            log.exception("web editor callback failed")
            msg = f"internal error ({type(err).__name__}: {err}); see the server log"
        gr.Warning(html.escape(msg), duration=10)
        return f"**Error:** {html.escape(msg)}"

    def save(self, opened: Opened, edited: np.ndarray) -> str:
        """Write the edited full picture for the download button: JPEG (quality 95) for
        JPEG uploads, PNG (alpha kept) for anything else."""
        jpeg = Path(opened.path).suffix.lower() in (".jpg", ".jpeg")
        name = f"{opened.name}_edited.{'jpg' if jpeg else 'png'}"
        folder = self.download_dir / opened.token  # one file per opened picture, overwritten
        folder.mkdir(exist_ok=True)
        path = folder / name  # Gradio serves a copy, so overwriting it later is safe
        rgb, alpha = (edited[..., :3], edited[..., 3]) if edited.shape[-1] == 4 else (edited, None)
        save_image(path, Photo(np.ascontiguousarray(rgb), alpha), quality=95)
        return str(path)

    @staticmethod
    def sliders(attrs: list[str], opened: Opened | None) -> list[Any]:
        """Updates for every slider: the model's attributes visible, set to their start."""
        out = []
        for a in CELEBA_ATTRS:
            if a not in attrs:
                out.append(gr.Slider(visible=False))
            elif opened is None or opened.estimate is None:
                out.append(gr.Slider(value=0.0, visible=True, label=_label(a)))
            else:
                p = opened.estimate[a]
                out.append(gr.Slider(value=opened.start[a], visible=True, label=_label(a, p)))
        return out

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

    def _view(self, opened: Opened, edited: np.ndarray) -> tuple:
        """The before/after pair, shrunk for display (the download keeps full size)."""
        return preview(opened.image), preview(edited)

    # -- events ----------------------------------------------------------------------
    def open(self, path: str | None, align: bool, face: int, model: str) -> list[Any]:
        """Upload, sample pick, alignment or face change -> fresh analysis and sliders.

        Outputs: opened state, before/after, download, status, face picker, sliders.
        """
        if not path:
            return [gr.skip()] * (5 + len(CELEBA_ATTRS))
        try:
            editor = session.load_editor(model)
            opened = session.open_photo(editor, path, align, int(face or 0), self.max_pixels)
            edited = session.edit_opened(editor, opened, {})
        except Exception as err:  # noqa: BLE001 - every failure becomes a message
            cleared = [None, None, None, self.fail(err), gr.Dropdown(visible=False)]
            return cleared + [gr.skip()] * len(CELEBA_ATTRS)
        faces = [(f"face {k + 1}", k) for k in range(opened.n_faces)]
        face_dd = gr.Dropdown(choices=faces, value=opened.face, visible=opened.n_faces > 1)
        return [
            opened,
            self._view(opened, edited),
            self.save(opened, edited),
            self.status(opened, {}),
            face_dd,
        ] + self.sliders(editor.attrs, opened)

    def edit(self, opened: Opened | None, model: str, *values: float) -> list[Any]:
        """Sliders moved -> before/after, download and status line."""
        if opened is None:
            return [gr.skip(), gr.skip(), "Upload a photo or pick a sample first."]
        try:
            editor = session.load_editor(model)
            sliders = {a: v for a, v in zip(CELEBA_ATTRS, values) if a in editor.attrs}
            targets = session.targets_from_sliders(opened, sliders)
            edited = session.edit_opened(editor, opened, sliders)
        except Exception as err:  # noqa: BLE001
            return [gr.skip(), gr.skip(), self.fail(err)]
        return [self._view(opened, edited), self.save(opened, edited), self.status(opened, targets)]

    def reset(self, opened: Opened | None, model: str) -> list[Any]:
        """Sliders back to the judge's estimate."""
        return self.sliders(session.load_editor(model).attrs, opened)

    def load_model(self, model: str) -> list[Any]:
        """Switch models; a bad name or path keeps the current one and says why.

        Outputs: model state, opened state, before/after, status, model line, sliders.
        """
        try:
            editor = session.load_editor(model)
        except Exception as err:  # noqa: BLE001
            return [gr.skip()] * 3 + [self.fail(err)] + [gr.skip()] * (1 + len(CELEBA_ATTRS))
        msg = f"Loaded **{html.escape(model)}**. Open a photo or pick a sample."
        return [model.strip(), None, None, msg, model_line(model, editor)] + self.sliders(
            editor.attrs, None
        )


def model_line(name: str, editor: Editor) -> str:
    """One line describing the loaded model, under the page title."""
    m = editor.config.model
    judge = "judge classifier included" if editor.judge is not None else "no judge classifier"
    return (
        f"Model **{html.escape(name.strip())}**: {m.variant}, {m.preset} preset, "
        f"{editor.size} px, {len(editor.attrs)} attributes, {judge}"
    )


def preview(image: np.ndarray, max_side: int = PREVIEW_SIDE) -> np.ndarray:
    """``image`` shrunk so its long side is at most ``max_side`` (for display only)."""
    h, w = image.shape[:2]
    if max(h, w) <= max_side:
        return image
    k = max_side / max(h, w)
    small = Image.fromarray(image).resize((round(w * k), round(h * k)), Image.LANCZOS)
    return np.asarray(small)


@dataclass
class Page:
    """The page's components that the events read and write."""

    model: gr.State
    opened: gr.State
    upload: gr.File
    align: gr.Checkbox
    face: gr.Dropdown
    gallery: gr.Gallery
    model_box: gr.Textbox
    load: gr.Button
    info: gr.Markdown
    status: gr.Markdown
    compare: gr.ImageSlider
    download: gr.DownloadButton
    reset: gr.Button
    sliders: list[gr.Slider]


def _photo_column(model: str, sample_paths: list[str]) -> tuple:
    upload = gr.File(
        label="Photo (JPEG, PNG, WebP)", file_count="single", height=150, elem_id="upload"
    )
    align = gr.Checkbox(
        value=True,
        label="Detect and align the face",
        info="untick for pictures already cropped like the samples",
    )
    face = gr.Dropdown(label="Face", choices=[("face 1", 0)], value=0, visible=False)
    gallery = gr.Gallery(
        sample_paths,
        label="Samples (SynthFaces)",
        columns=3,
        height="auto",
        allow_preview=False,
        object_fit="contain",
        buttons=[],
        elem_id="samples",
    )
    with gr.Accordion("Model", open=False):
        model_box = gr.Textbox(model, label="Model name or folder", elem_id="model-box")
        load = gr.Button("Load model", size="sm", elem_id="load-model")
    return upload, align, face, gallery, model_box, load


def _view_column() -> tuple:
    status = gr.Markdown("Upload a photo or pick a sample.", elem_id="status")
    compare = gr.ImageSlider(
        label="Before / after (drag the divider)",
        type="numpy",
        format="png",
        elem_id="compare",
        max_height=640,
        buttons=["fullscreen"],
    )
    download = gr.DownloadButton("Download edited photo", elem_id="download", variant="primary")
    return status, compare, download


def _slider_column(attrs: list[str]) -> tuple:
    with gr.Row():
        gr.Markdown("**Attributes**")
        reset = gr.Button("Reset to estimate", size="sm", scale=0, min_width=140)
    with gr.Group():
        sliders = [
            gr.Slider(
                session.SLIDER_MIN,
                session.SLIDER_MAX,
                value=0.0,
                step=session.SLIDER_STEP,
                label=_label(a),
                visible=a in attrs,
                buttons=[],
                elem_id=f"slider-{a}",
                elem_classes=["attr-slider"],
            )
            for a in CELEBA_ATTRS
        ]
    return reset, sliders


def _layout(model: str, editor: Editor, sample_paths: list[str]) -> Page:
    gr.Markdown(
        "## InterGAN face editor\nUpload a photo or pick a sample, then move the "
        "attribute sliders. Each slider starts at the judge classifier's estimate "
        "(its probability in brackets; -1 = absent, +1 = present); values past ±1 "
        "exaggerate the edit."
    )
    info = gr.Markdown(model_line(model, editor), elem_id="model-info")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=260):
            upload, align, face, gallery, model_box, load = _photo_column(model, sample_paths)
        with gr.Column(scale=6, min_width=360):
            status, compare, download = _view_column()
        with gr.Column(scale=3, min_width=280):
            reset, sliders = _slider_column(editor.attrs)
    return Page(gr.State(model), gr.State(None), upload, align, face, gallery, model_box,
                load, info, status, compare, download, reset, sliders)  # fmt: skip


def _wire(p: Page, h: Handlers, sample_paths: list[str]) -> None:
    """Connect the events. Slider ``input`` fires on user moves only (drag, click,
    typing), so setting sliders from code (a new photo, reset) starts no edit.
    Every event that runs the model shares one queue (``concurrency_id``): the
    editor and its face detector serve one request at a time."""
    one = dict(concurrency_id="editor", concurrency_limit=1)
    opened = [p.opened, p.compare, p.download, p.status, p.face, *p.sliders]
    view = [p.compare, p.download, p.status]
    p.upload.upload(h.open, [p.upload, p.align, gr.State(0), p.model], opened, **one).then(
        lambda: None,
        None,
        p.upload,  # empty the drop zone, ready for the next photo
    )

    def pick_sample(evt: gr.SelectData, model: str) -> list[Any]:
        return h.open(sample_paths[evt.index], False, 0, model) + [gr.Checkbox(value=False)]

    p.gallery.select(pick_sample, [p.model], [*opened, p.align], **one)

    def reopen(o: Opened | None, align: bool, face: int, model: str) -> list[Any]:
        return h.open(o.path if o else None, align, face, model)

    p.align.input(reopen, [p.opened, p.align, gr.State(0), p.model], opened, **one)
    p.face.input(reopen, [p.opened, p.align, p.face, p.model], opened, **one)
    gr.on(
        [s.input for s in p.sliders],
        h.edit,
        [p.opened, p.model, *p.sliders],
        view,
        trigger_mode="always_last",  # while dragging, skip to the latest value
        **one,
    )
    p.reset.click(h.reset, [p.opened, p.model], p.sliders).then(
        h.edit, [p.opened, p.model, *p.sliders], view, **one
    )
    load_out = [p.model, p.opened, p.compare, p.status, p.info, *p.sliders]
    p.load.click(h.load_model, [p.model_box], load_out, **one)


def build_app(
    model: str = DEFAULT_MODEL,
    max_pixels: int = DEFAULT_MAX_PIXELS,
    n_samples: int = 6,
) -> gr.Blocks:
    """The page. ``model`` is loaded now, so a bad name fails before serving."""
    editor = session.load_editor(model)
    scratch = tempfile.TemporaryDirectory(prefix="intergan-web-")  # removed with the app
    h = Handlers(max_pixels, Path(scratch.name))
    sample_dir = Path(scratch.name) / "samples"
    sample_paths = [str(p) for p in samples.write_samples(n_samples, editor.size, sample_dir)]
    # delete_cache: every 15 min Gradio drops uploads and results older than 30 min
    with gr.Blocks(
        title="InterGAN face editor", analytics_enabled=False, delete_cache=(900, 1800)
    ) as app:
        page = _layout(model, editor, sample_paths)
        _wire(page, h, sample_paths)
    app.intergan_scratch = scratch
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Serve ``app`` on ``host:port`` with everything that could reach the network off."""
    return app.launch(
        server_name=host,
        server_port=port,
        share=False,
        inbrowser=False,
        ssr_mode=False,
        theme=theme(),
        css=CSS,
        max_file_size="50mb",
        prevent_thread_lock=not block,
        quiet=True,
    )


def serve(model: str, host: str, port: int, max_pixels: int) -> int:
    """Build and serve the page until interrupted."""
    app = build_app(model, max_pixels=max_pixels)
    print(f"InterGAN web editor on http://{host}:{port}  (Ctrl+C stops it)", flush=True)
    launch(app, host, port, block=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intergan.app.web", description=__doc__)
    parser.add_argument("--model", default=DEFAULT_MODEL, help="model name or exported folder")
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args.model, args.host, args.port, args.max_pixels)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
