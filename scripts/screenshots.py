"""Screenshots for the README: the web editor in use, and the demo report.

    python scripts/screenshots.py --model synthfaces-64 --out docs/images

Starts the web editor on a free local port, opens it in headless Chromium
(Debian's package; no browser download), picks a sample (or uploads ``--photo``;
``--group`` uploads scikit-image's astronaut twice, side by side, and edits face
1), sets ``--blend``, moves two sliders and saves ``web_editor.png``; with
``--report DIR`` (a finished ``intergan demo --out DIR``) also copies its
``overview.png`` as ``demo_overview.png`` and screenshots ``DIR/report.html`` as
``demo_report.png``.
"""

from __future__ import annotations

import argparse
import shutil
import socket
from pathlib import Path

from playwright.sync_api import expect, sync_playwright

ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def move(pg, attr: str, fraction: float) -> None:
    track = pg.locator(f"#slider-{attr} input[type=range]")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    pg.mouse.click(box["x"] + fraction * box["width"], box["y"] + box["height"] / 2)
    expect(pg.locator("#status")).to_contain_text(attr, timeout=60_000)


def group_photo(out: Path) -> str:
    """Two faces: the astronaut and her mirror image, side by side (1024 x 512)."""
    import numpy as np
    from PIL import Image
    from skimage import data

    path = out / "group.jpg"
    photo = np.concatenate([data.astronaut(), data.astronaut()[:, ::-1]], axis=1)
    Image.fromarray(photo).save(path, quality=95)
    return str(path)


def web_editor(browser, model: str, out: Path, photo: str | None, group: bool, blend: str):
    import tempfile

    from intergan.app import web
    from intergan.app.web_args import WebOptions

    app = web.build_app(WebOptions([model], [], imports=False))
    if group:
        photo = group_photo(Path(tempfile.mkdtemp()))
    port = free_port()
    web.launch(app, "127.0.0.1", port, block=False)
    pg = browser.new_page(viewport={"width": 1400, "height": 960})
    pg.goto(f"http://127.0.0.1:{port}")
    expect(pg.locator("#status")).to_contain_text("Upload a photo", timeout=60_000)
    if photo:
        pg.locator("#upload input[type=file]").set_input_files(photo)
        expect(pg.locator("#status")).to_contain_text(Path(photo).stem, timeout=60_000)
        if group:
            pg.locator("#face input").click()
            pg.get_by_role("option", name="face 1").click()
            expect(pg.locator("#status")).to_contain_text("face 1 of 2", timeout=60_000)
    else:
        pg.locator("#samples button").nth(2).click()
        expect(pg.locator("#status")).to_contain_text("sample_3", timeout=60_000)
    pg.locator("#blend label").filter(has_text=blend).click()
    move(pg, "Blond_Hair", 0.95)
    move(pg, "Eyeglasses", 0.9)
    pg.wait_for_timeout(1500)
    path = out / "web_editor.png"
    pg.screenshot(path=str(path), full_page=True)
    web.close(app)
    small(path)
    return path


def small(path: Path) -> None:
    """Rewrite the PNG with 256 colours (a third of the size; the photos dithered)."""
    from PIL import Image

    im = Image.open(path).convert("RGB")
    im.quantize(256, Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG).save(
        path, optimize=True
    )


def report(browser, folder: Path, out: Path) -> Path:
    pg = browser.new_page(viewport={"width": 1400, "height": 1000})
    pg.goto((folder / "report.html").resolve().as_uri())
    path = out / "demo_report.png"
    pg.screenshot(path=str(path), full_page=False)
    return path


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--model", default="synthfaces-64")
    p.add_argument("--out", default="docs/images", type=Path)
    p.add_argument("--photo", help="upload this photo instead of picking a sample")
    p.add_argument("--group", action="store_true", help="upload a photo with two faces")
    p.add_argument("--blend", default="raw", help="the page's blend (default %(default)s)")
    p.add_argument("--report", type=Path, help="a demo output folder to screenshot too")
    p.add_argument("--chromium", default=shutil.which("chromium") or "/usr/bin/chromium")
    args = p.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=args.chromium, args=ARGS)
        print(web_editor(browser, args.model, args.out, args.photo, args.group, args.blend))
        if args.report:
            shutil.copyfile(args.report / "overview.png", args.out / "demo_overview.png")
            print(args.out / "demo_overview.png")
            print(report(browser, args.report, args.out))
        browser.close()


if __name__ == "__main__":
    main()
