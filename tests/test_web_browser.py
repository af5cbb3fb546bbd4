"""The web editor end to end in headless Chromium (Debian's package, driven by
Playwright through its executable path; no browser download).

One server (a tiny random model) serves every test in this module. Marked
``browser``: run with ``make test-browser``. Skips only when chromium is absent.
"""

from __future__ import annotations

import os
import shutil
import socket

import numpy as np
import pytest
from PIL import Image

from app_helpers import export_tiny, sample_face, save_png

pytestmark = [
    pytest.mark.browser,
    pytest.mark.filterwarnings("ignore::Warning:gradio.queueing"),  # pandas notes in Gradio
]

CHROMIUM = os.environ.get("INTERGAN_CHROMIUM") or shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
if not os.path.exists(CHROMIUM):
    pytest.skip(
        f"chromium not found at {CHROMIUM} (set INTERGAN_CHROMIUM, or put `chromium` on "
        "PATH); install Debian's package: apt-get install chromium",
        allow_module_level=True,
    )

from playwright.sync_api import expect, sync_playwright  # noqa: E402


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    from intergan.app import web
    from intergan.app.web_args import WebOptions

    model = export_tiny(tmp_path_factory.mktemp("tiny") / "tiny")
    opts = WebOptions([str(model)], [], imports=False, max_pixels=200_000)
    app = web.build_app(opts, n_samples=3)
    port = free_port()
    web.launch(app, "127.0.0.1", port, block=False)
    yield f"http://127.0.0.1:{port}", model
    web.close(app)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture()
def page(server, browser):
    """A fresh page; ``page.outside`` collects requests to any host but the server."""
    url, _ = server
    pg = browser.new_page(viewport={"width": 1400, "height": 1000}, accept_downloads=True)
    pg.outside = []
    pg.on("request", lambda r: None if r.url.startswith((url, "data:", "blob:")) else
          pg.outside.append(r.url))  # fmt: skip
    pg.goto(url)
    expect(pg.locator("#status")).to_contain_text("Upload a photo", timeout=60_000)
    yield pg
    pg.close()


def status(pg):
    return pg.locator("#status")


def upload(pg, path):
    pg.locator("#upload input[type=file]").set_input_files(str(path))


def untick_align(pg):
    box = pg.get_by_label("Detect and align the face")
    box.uncheck()
    expect(box).not_to_be_checked()


def move_slider(pg, attr: str, fraction: float) -> float:
    """Click the slider track at ``fraction`` of its width; returns the new value."""
    track = pg.locator(f"#slider-{attr} input[type=range]")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    pg.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    return float(pg.locator(f"#slider-{attr} input[type=number]").input_value())


def download(pg, differs_from: np.ndarray | None = None) -> np.ndarray:
    """The download button's file; with ``differs_from``, the first that differs from
    it (the page writes the download just after showing the edit)."""
    for _ in range(20):
        with pg.expect_download() as d:
            pg.locator("#download").click()
        got = np.asarray(Image.open(d.value.path()))
        if differs_from is None or not np.array_equal(got, differs_from):
            return got
        pg.wait_for_timeout(250)
    raise AssertionError("the download did not change")


def slider_value(pg, attr: str) -> float:
    return float(pg.locator(f"#slider-{attr} input[type=number]").input_value())


def test_upload_move_sliders_and_download_the_edit(page, server, tmp_path):
    from intergan.app import session
    from intergan.data.synthfaces import region_mask

    face, identity, _ = sample_face(seed=5)
    path = save_png(face, tmp_path / "synth_face.png")
    untick_align(page)
    upload(page, path)
    expect(status(page)).to_contain_text("synth_face", timeout=30_000)
    expect(status(page)).to_contain_text("edits: none")
    recon = download(page)

    value = move_slider(page, "Blond_Hair", 0.97)
    expect(status(page)).to_contain_text("Blond_Hair", timeout=30_000)
    edited = download(page, differs_from=recon)
    assert edited.shape == face.shape
    # the page's edit is the editor's edit for the slider value, byte for byte
    editor = session.load_editor(str(server[1]))
    opened = session.open_photo(editor, path, align=False)
    expected = session.edit_opened(editor, opened, {**opened.start, "Blond_Hair": value})
    np.testing.assert_array_equal(edited, expected)
    region = region_mask(identity, "Blond_Hair", face.shape[0])
    diff_input = np.abs(edited.astype(int) - face).mean(axis=-1)[region].mean()
    diff_recon = np.abs(edited.astype(int) - recon).mean(axis=-1)[region].mean()
    assert diff_input > 2 and diff_recon > 0.5

    move_slider(page, "Young", 0.03)  # a second slider: both edits apply
    expect(status(page)).to_contain_text("Young", timeout=30_000)
    expect(status(page)).to_contain_text("Blond_Hair")
    both = download(page, differs_from=edited)
    assert np.abs(both.astype(int) - edited).mean() > 0.5
    assert page.outside == []


def test_bad_upload_shows_a_message_and_the_server_keeps_serving(page, tmp_path):
    notes = tmp_path / "notes.txt"
    notes.write_text("this is not a photo")
    untick_align(page)
    upload(page, notes)
    expect(status(page)).to_contain_text("Error", timeout=30_000)
    expect(status(page)).to_contain_text("not an image")
    huge = save_png(np.zeros((600, 600, 3), np.uint8), tmp_path / "huge.png")
    upload(page, huge)
    expect(status(page)).to_contain_text("above the limit", timeout=30_000)
    good = save_png(sample_face(seed=6)[0], tmp_path / "good.png")
    upload(page, good)
    expect(status(page)).to_contain_text("good", timeout=30_000)
    expect(status(page)).to_contain_text("edits: none")
    assert page.outside == []


def test_samples_and_a_model_menu_of_the_servers_models_only(page):
    page.locator("#samples button").first.click()
    expect(status(page)).to_contain_text("sample_1", timeout=30_000)
    page.locator("#model-menu input").click()
    options = page.get_by_role("option")
    expect(options).to_have_count(1)  # the one model the server offers; no path box
    assert options.first.inner_text().split()[-1] == "tiny"  # after the tick of the chosen
    page.keyboard.press("Escape")
    assert page.locator("#model-box").count() == 0
    page.locator("#samples button").nth(1).click()  # the model still serves
    expect(status(page)).to_contain_text("sample_2", timeout=30_000)
    assert page.outside == []


def test_raising_a_slider_lowers_its_conflicts_and_the_toggles_state_the_photo(page):
    page.locator("#samples button").first.click()
    expect(status(page)).to_contain_text("sample_1", timeout=30_000)
    toggles = page.locator("#shows input[type=checkbox]")
    expect(toggles).to_have_count(13)  # one per model attribute
    move_slider(page, "Blond_Hair", 0.97)
    expect(status(page)).to_contain_text("Blond_Hair", timeout=30_000)
    move_slider(page, "Black_Hair", 0.97)
    expect(status(page)).to_contain_text("Black_Hair up lowers Blond_Hair", timeout=30_000)
    expect(page.locator("#slider-Blond_Hair input[type=number]")).to_have_value("-0.5")
    assert "Error" not in status(page).inner_text()
    before = status(page).inner_text()
    page.locator("#shows label").filter(has_text="Young").click()
    expect(status(page)).not_to_have_text(before, timeout=30_000)  # edited again
    assert "Error" not in status(page).inner_text() and page.outside == []


def test_page_loads_nothing_from_other_hosts(page):
    html = page.content()
    assert "fonts.googleapis" not in html and "cdn." not in html
    assert page.outside == []
