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
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intergan.app import samples, session
from intergan.app.handlers import Handlers, label, model_line
from intergan.app.offline import gr
from intergan.app.session import Opened
from intergan.app.web_args import add_arguments
from intergan.attributes import CELEBA_ATTRS
from intergan.editing.editor import Editor
from intergan.editing.io import DEFAULT_MAX_PIXELS
from intergan.errors import UserError
from intergan.models.pretrained import BUNDLED_HELP

DEFAULT_MODEL = "synthfaces-64"
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
    closeup: gr.ImageSlider
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
    closeup = gr.ImageSlider(
        label="Face close-up, in the model's framing",
        type="numpy",
        format="png",
        elem_id="closeup",
        max_height=320,
        buttons=["fullscreen"],
        visible=False,
    )
    return status, compare, download, closeup


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
                label=label(a),
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
            status, compare, download, closeup = _view_column()
        with gr.Column(scale=3, min_width=280):
            reset, sliders = _slider_column(editor.attrs)
    return Page(gr.State(model), gr.State(None), upload, align, face, gallery, model_box,
                load, info, status, compare, closeup, download, reset, sliders)  # fmt: skip


def _wire(p: Page, h: Handlers, sample_paths: list[str]) -> None:
    """Connect the events. Slider ``input`` fires on user moves only (drag, click,
    typing), so setting sliders from code (a new photo, reset) starts no edit.
    Every event that runs the model shares one queue (``concurrency_id``): the
    editor and its face detector serve one request at a time."""
    one = dict(concurrency_id="editor", concurrency_limit=1)
    opened = [p.opened, p.compare, p.closeup, p.download, p.status, p.face, *p.sliders]
    view = [p.compare, p.closeup, p.download, p.status]
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
    load_out = [p.model, p.opened, p.compare, p.closeup, p.status, p.info, *p.sliders]
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
    parser.add_argument(
        "--model", default=DEFAULT_MODEL, help=f"exported folder or run, {BUNDLED_HELP}"
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(args.model, args.host, args.port, args.max_pixels)
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
