"""The web editor: a Gradio page over ``intergan.editing.Editor``.

Upload a photo (or pick a built-in SynthFaces sample); the face pipeline finds
and aligns the face (a group photo shows its faces boxed and numbered from 0 at
the left; click one to edit it) and the judge classifier estimates its
attributes, which the "this photo shows" toggles state (tick them yourself for
a model without a judge); one slider per attribute starts at that estimate;
moving sliders re-renders the edited photo, shown before/after and offered as a
download (PNG, or JPEG for JPEG uploads). Raising a slider lowers the ones its
conflict rules switch off.

Offline by construction: analytics off, a theme with system fonts only (no web
font download), no share link, bound to 127.0.0.1 unless ``--host`` says
otherwise. The model menu holds only what the operator named (``catalog``);
open photos are kept within bounds and deleted with the server (``store``), on
Ctrl+C and on SIGTERM alike. Problems a user can fix (not an image, too large,
no face) appear in the page's status line and as a warning toast; the server
keeps serving.

Run: ``intergan demo --serve`` or ``python -m intergan.app.web --model NAME``.
"""

from __future__ import annotations

import argparse
import functools
import os
import signal
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from intergan.app import samples, session
from intergan.app.catalog import Catalog
from intergan.app.handlers import Handlers, label, model_line
from intergan.app.offline import gr
from intergan.app.store import Store
from intergan.app.web_args import WebOptions, add_arguments
from intergan.attributes import CELEBA_ATTRS
from intergan.editing.editor import Editor
from intergan.editing.paste import BLENDS, DEFAULT_BLEND
from intergan.errors import UserError
from intergan.models.pretrained import BUNDLED_HELP

DEFAULT_MODEL = "synthfaces-64"
BLEND_LABELS = {"raw": "raw: the model's output", "delta": "delta: the photo + the model's change"}
# Gradio keeps its own state per visitor (its default cap: 10,000 visitors); the least
# recently seen beyond max(MIN, PER_PHOTO x --max-sessions) are forgotten
GRADIO_SESSIONS_PER_PHOTO, MIN_GRADIO_SESSIONS = 4, 64
SYSTEM_FONTS = ["system-ui", "-apple-system", "Segoe UI", "Roboto", "Helvetica", "sans-serif"]
MONO_FONTS = ["ui-monospace", "SFMono-Regular", "Menlo", "Consolas", "monospace"]
CSS = """
#status { min-height: 2.6em; }
#compare img, #samples img { image-rendering: pixelated; }
#shows .wrap { gap: 4px 8px; }  /* small faces: show real pixels */
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
    token: gr.State
    upload: gr.File
    align: gr.Checkbox
    face: gr.Dropdown
    gallery: gr.Gallery
    menu: gr.Dropdown
    info: gr.Markdown
    status: gr.Markdown
    compare: gr.ImageSlider
    faces: gr.Image
    closeup: gr.ImageSlider
    download: gr.DownloadButton
    shows: gr.CheckboxGroup
    blend: gr.Radio
    reset: gr.Button
    sliders: list[gr.Slider]


def _photo_column(catalog: Catalog, sample_paths: list[str]) -> tuple:
    upload = gr.File(
        label="Photo (JPEG, PNG, WebP)", file_count="single", height=150, elem_id="upload"
    )
    align = gr.Checkbox(
        value=True,
        label="Detect and align the face",
        info="untick for pictures already cropped like the samples",
    )
    face = gr.Dropdown(label="Face (0 = leftmost)", choices=[("face 0", 0)], value=0,
                       visible=False, elem_id="face")  # fmt: skip
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
    menu = gr.Dropdown(
        choices=catalog.names,
        value=catalog.default,
        label="Model",
        info="the models this server offers",
        elem_id="model-menu",
    )
    return upload, align, face, gallery, menu


def _view_column() -> tuple:
    status = gr.Markdown("Upload a photo or pick a sample.", elem_id="status")
    compare = gr.ImageSlider(
        label="Before / after (drag the divider)",
        type="filepath",
        elem_id="compare",
        max_height=640,
        buttons=["fullscreen"],
    )
    download = gr.DownloadButton("Download edited photo", elem_id="download", variant="primary")
    faces = gr.Image(
        label="Faces found, numbered from 0 at the left (click one to edit it)",
        type="filepath",
        interactive=False,
        visible=False,
        elem_id="faces",
        height=320,
        buttons=[],
    )
    closeup = gr.ImageSlider(
        label="Face close-up, in the model's framing",
        type="filepath",
        elem_id="closeup",
        max_height=320,
        buttons=["fullscreen"],
        visible=False,
    )
    return status, compare, download, faces, closeup


def _slider_column(attrs: list[str]) -> tuple:
    shows = gr.CheckboxGroup(
        choices=[(label(a), a) for a in attrs],
        label="This photo shows",
        info="what each edit starts from: the judge's estimate, or what you tick",
        elem_id="shows",
    )
    blend = gr.Radio(
        choices=[(BLEND_LABELS.get(b, b), b) for b in BLENDS],
        value=DEFAULT_BLEND,
        label="Blend",
        info="how the edit goes back into the photo",
        elem_id="blend",
    )
    with gr.Row():
        gr.Markdown("**Attributes**")
        reset = gr.Button("Reset", size="sm", scale=0, min_width=90)
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
    return shows, blend, reset, sliders


def _layout(catalog: Catalog, editor: Editor, sample_paths: list[str], store: Store) -> Page:
    gr.Markdown(
        "## InterGAN face editor\nUpload a photo or pick a sample, then move the "
        "attribute sliders. Each slider starts at the judge classifier's estimate "
        "(its probability in brackets; -1 = absent, +1 = present); values past ±1 "
        "exaggerate the edit."
    )
    info = gr.Markdown(model_line(catalog.default, editor), elem_id="model-info")
    with gr.Row(equal_height=False):
        with gr.Column(scale=3, min_width=260):
            upload, align, face, gallery, menu = _photo_column(catalog, sample_paths)
        with gr.Column(scale=6, min_width=360):
            status, compare, download, faces, closeup = _view_column()
        with gr.Column(scale=3, min_width=280):
            shows, blend, reset, sliders = _slider_column(editor.attrs)
    # the visitor's picture lives in the store; Gradio dropping the state drops it
    token = gr.State(None, delete_callback=store.drop)
    model = gr.State(catalog.default)
    return Page(model, token, upload, align, face, gallery, menu, info, status, compare,
                faces, closeup, download, shows, blend, reset, sliders)  # fmt: skip


# Resolves once the before/after images are decoded (2 s at most): the close-up and
# download request then waits for the new image instead of competing with its fetch
# and decoding (the server's and the browser's CPU; measured in docs/benchmarks.md).
SHOWN_JS = """async () => {
  await new Promise((r) => requestAnimationFrame(r));
  const imgs = [...document.querySelectorAll('#compare img')];
  const wait = Promise.all(imgs.map((i) => i.decode().catch(() => null)));
  await Promise.race([wait, new Promise((r) => setTimeout(r, 2000))]);
}"""


def _wire(p: Page, h: Handlers, sample_paths: list[str]) -> None:
    """Connect the events. Slider ``input`` fires on user moves only (drag, click,
    typing), so setting sliders from code (a new photo, reset) starts no edit; each
    slider sends its own value alone (the server keeps the others, ``Opened.values``).
    Opening a picture waits in Gradio's queue (one at a time); a slider move skips
    it (``queue=False``: a direct request, measured faster in docs/benchmarks.md) and
    answers with the new image and the status line alone; the close-up, the download
    file and the sliders a conflict rule lowered follow once the page has decoded that
    image (``SHOWN_JS``, ``Handlers.extras``).
    ``Handlers.lock`` keeps the model work one at a time either way."""
    one = dict(concurrency_id="editor", concurrency_limit=1)
    fast = dict(queue=False, show_progress="hidden")
    opened = [p.token, p.compare, p.closeup, p.download, p.status, p.face, p.faces, p.shows,
              *p.sliders]  # fmt: skip
    edited = [p.compare, p.status]
    extras = ([p.token, p.model], [p.closeup, p.download, *p.sliders])
    p.upload.upload(h.open, [p.upload, p.align, gr.State(0), p.model, p.token, p.blend], opened,
                    api_name="open", **one).then(
        lambda: None, None, p.upload  # empty the drop zone, ready for the next photo
    )  # fmt: skip

    def pick_sample(evt: gr.SelectData, model: str, token: str | None, blend: str) -> list[Any]:
        path = sample_paths[evt.index]
        return h.open(path, False, 0, model, token, blend) + [gr.Checkbox(False)]

    p.gallery.select(pick_sample, [p.model, p.token, p.blend], [*opened, p.align], **one)

    def pick_face(evt: gr.SelectData, token: str | None, model: str) -> list[Any]:
        return h.pick_face(token, model, *evt.index[:2])

    p.faces.select(pick_face, [p.token, p.model], opened, **one)
    p.align.input(h.reopen, [p.token, p.align, gr.State(0), p.model], opened, **one)
    p.face.input(h.reopen, [p.token, p.align, p.face, p.model], opened, **one)
    for attr, slider in zip(CELEBA_ATTRS, p.sliders):  # each sends its own value only
        slider.input(
            functools.partial(h.move, attr),
            [p.token, p.model, p.blend, slider],
            edited,
            trigger_mode="always_last",  # while dragging, skip to the latest value
            api_name=f"move_{attr}",
            **fast,
        ).then(None, js=SHOWN_JS, **fast).then(h.extras, *extras, **fast)
    p.blend.input(h.rerender, [p.token, p.model, p.blend], edited, **fast).then(
        h.extras, *extras, **fast
    )
    p.shows.input(h.restate, [p.token, p.model, p.shows], [*edited, *p.sliders], **fast).then(
        h.extras, *extras, **fast
    )
    p.reset.click(h.reset, [p.token, p.model], p.sliders, **fast).then(
        h.rerender, [p.token, p.model, p.blend], edited, **fast
    ).then(h.extras, *extras, **fast)
    loaded = [p.model, p.token, p.compare, p.closeup, p.download, p.status, p.info, p.face,
              p.faces, p.shows, *p.sliders]  # fmt: skip
    p.menu.input(h.load_model, [p.menu, p.token], loaded, **one)


def build_app(opts: WebOptions | None = None, n_samples: int = 6) -> gr.Blocks:
    """The page for ``opts`` (default: the bundled model). The menu's first model is
    loaded now, so a bad name fails before serving. Everything the server writes
    (samples, the open photos' files, Gradio's uploads and cache) goes under one
    temporary folder, deleted by ``close``."""
    opts = opts or WebOptions(models=[DEFAULT_MODEL], models_dirs=[])
    catalog = Catalog.build(opts.models, opts.models_dirs, opts.imports)
    editor = session.load_editor(str(catalog.path(catalog.default)))
    scratch = tempfile.TemporaryDirectory(prefix="intergan-web-")
    root = Path(scratch.name)
    previous_temp = os.environ.get("GRADIO_TEMP_DIR")
    os.environ["GRADIO_TEMP_DIR"] = str(root / "gradio")  # read by each component
    store = Store(root / "open", opts.max_sessions, opts.session_idle_s, opts.session_memory)
    h = Handlers(catalog, store, opts.max_pixels)
    sample_paths = [str(p) for p in samples.write_samples(n_samples, editor.size, root / "samples")]
    # delete_cache: every 15 min Gradio drops uploads and results older than 30 min
    with gr.Blocks(
        title="InterGAN face editor", analytics_enabled=False, delete_cache=(900, 1800)
    ) as app:
        page = _layout(catalog, editor, sample_paths, store)
        _wire(page, h, sample_paths)
    app.intergan_scratch, app.intergan_store = scratch, store
    app.intergan_gradio_sessions = max(MIN_GRADIO_SESSIONS,
                                       GRADIO_SESSIONS_PER_PHOTO * opts.max_sessions)  # fmt: skip
    app.intergan_temp = (str(root / "gradio"), previous_temp)
    return app


def launch(app: gr.Blocks, host: str = "127.0.0.1", port: int = 7860, block: bool = True):
    """Serve ``app`` on ``host:port`` with everything that could reach the network off."""
    os.environ["GRADIO_TEMP_DIR"] = app.intergan_temp[0]  # uploads go there too
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
        state_session_capacity=app.intergan_gradio_sessions,
    )


def close(app: gr.Blocks) -> None:
    """Stop serving ``app`` and delete everything it wrote (photos, uploads, files)."""
    app.close()
    app.intergan_store.clear()
    app.intergan_scratch.cleanup()
    previous = app.intergan_temp[1]
    if os.environ.get("GRADIO_TEMP_DIR") == app.intergan_temp[0]:
        if previous is None:
            os.environ.pop("GRADIO_TEMP_DIR", None)
        else:
            os.environ["GRADIO_TEMP_DIR"] = previous


def _interrupt(signum: int, frame: Any) -> None:
    raise KeyboardInterrupt  # Gradio stops serving on it, as on Ctrl+C


def serve(opts: WebOptions) -> int:
    """Build and serve the page until Ctrl+C or SIGTERM (what systemd, docker and
    Kubernetes send); either way the server's temporary folder is deleted."""
    app = build_app(opts)
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        print(f"InterGAN web editor on http://{opts.host}:{opts.port}  (Ctrl+C stops it)",
              flush=True)  # fmt: skip
        launch(app, opts.host, opts.port, block=True)
    except KeyboardInterrupt:
        pass
    finally:
        signal.signal(signal.SIGTERM, previous)
        close(app)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m intergan.app.web", description=__doc__)
    parser.add_argument(
        "--model",
        action="append",
        help=f"exported folder or run, {BUNDLED_HELP}; repeat it to offer several in the "
        f"page's menu (default {DEFAULT_MODEL})",
    )
    add_arguments(parser)
    args = parser.parse_args(argv)
    try:
        return serve(WebOptions.from_args(args, DEFAULT_MODEL))
    except UserError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
