"""The web editor's slider latency as a user sees it: from releasing a slider to the
new image shown, in headless Chromium (Debian's package, driven by Playwright).

Usage: PYTHONPATH=src python benchmarks/bench_web.py [--model synthfaces-64]
       [--moves 40] [--side 1024] [--before OLD/src] [--note TEXT] [--out FILE]

It starts the web editor in a subprocess (``python -m intergan.app.web``, the
server's debug log on, which carries each slider callback's stage timings),
opens the page, uploads a ``--side`` x ``--side`` JPEG of scikit-image's astronaut
(1024: about 1 megapixel; the face is detected and aligned), then clicks the
Blond_Hair slider's track ``--moves`` times, each on a new value (no image comes
from the browser's cache), ``PAUSE_MS`` after the last image showed. For each
click the page records (in its own clock, ``performance.now()``) the pointer's
release and the moment the new "after" image has been decoded and a frame drawn.

The breakdown (medians, ms), from the server's log:
- ``model``: the generator's label-dependent part (``backends.generate``);
- ``paste_back``: putting the edited crop back into the photo;
- ``edit``: the slider callback's edit (model + paste-back + glue), ``view``: the
  shown images made and encoded, ``download``: the download file written,
  ``callback``: the whole slider callback;
- ``gradio_server``: Gradio's own work around the callback (``process_api``: inputs,
  outputs, its file cache) on the server;
- from the browser's resource timings: ``request_and_page_update``, from the
  release until the browser asks for the new image, minus Gradio's ``process_api``
  (the event reaching the server, the answer coming back, the page updating its
  components); ``image_fetch``, the image's download; ``browser_decode_and_draw``,
  the rest (decoding the image, a frame drawn).
With ``--before SRC`` a second server runs another checkout's code (``SRC``: its
``src`` folder, e.g. ``git archive OLD src | tar -x -C /tmp/old``) and the two pages
take turns, move by move, so both see the same load: the before / after figure of a
change on a shared machine. Saves benchmarks/results/bench_web.json (or ``--out``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

PAUSE_MS = 300  # between a move's image shown and the next click
CHROMIUM = os.environ.get("INTERGAN_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
# The server, with its debug log on and the generator's label-dependent part and the
# paste-back timed (wrapped here, as the session calls them): one log line per call.
SERVER = """
import functools, logging, sys, time
logging.basicConfig(filename=sys.argv[1], level=logging.WARNING, format="%(message)s")
log = logging.getLogger("intergan.app.bench")
logging.getLogger("intergan.app").setLevel(logging.DEBUG)
from intergan.editing import crops, session
def timed(name, fn):
    @functools.wraps(fn)
    def wrap(*a, **k):
        t0 = time.perf_counter()
        out = fn(*a, **k)
        log.debug("web timings ms: %s=%.1f", name, 1000 * (time.perf_counter() - t0))
        return out
    return wrap
session.generate = timed("model", session.generate)
crops.AlignedFaces.put_back = timed("paste_back", crops.AlignedFaces.put_back)
import gradio.blocks
process_api = gradio.blocks.Blocks.process_api
async def timed_api(self, block_fn, *a, **k):
    t0 = time.perf_counter()
    out = await process_api(self, block_fn, *a, **k)
    fn = block_fn if not isinstance(block_fn, int) else self.fns[block_fn]
    if str(getattr(fn, "api_name", "")).startswith("move_"):
        log.debug("web timings ms: gradio=%.1f", 1000 * (time.perf_counter() - t0))
    return out
gradio.blocks.Blocks.process_api = timed_api
from intergan.app import web
sys.exit(web.main(sys.argv[2:]))
"""
# Resolves with {t0: release, t1: new "after" image decoded and a frame drawn}.
WATCH = """() => { window.__shown = new Promise((resolve) => {
  const root = document.querySelector('#compare');
  const seen = new Set([...root.querySelectorAll('img')].map((i) => i.src));
  let t0 = null;
  document.addEventListener('pointerup', () => { t0 = performance.now(); },
                            {once: true, capture: true});
  const obs = new MutationObserver(async () => {
    for (const img of root.querySelectorAll('img')) {
      if (!img.src || seen.has(img.src)) continue;
      seen.add(img.src);
      obs.disconnect();
      try { await img.decode(); } catch (e) {}
      requestAnimationFrame(() => {
        const t1 = performance.now();
        const res = performance.getEntriesByType('resource')
          .filter((e) => e.startTime >= t0 - 100)
          .map((e) => ({name: e.name, start: e.startTime - t0, end: e.responseEnd - t0}));
        performance.clearResourceTimings();
        resolve({t0, t1, res});
      });
      return;
    }
  });
  obs.observe(root, {subtree: true, childList: true, attributes: true,
                     attributeFilter: ['src']});
}); }"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def make_photo(side: int, folder: Path) -> Path:
    from PIL import Image
    from skimage import data

    path = folder / f"astronaut_{side}.jpg"
    Image.fromarray(data.astronaut()).resize((side, side), Image.LANCZOS).save(path, quality=92)
    return path


def start_server(model: str, port: int, log: Path, src: str | None = None) -> subprocess.Popen:
    """The web editor on ``port``; ``src``: another checkout's ``src`` to run instead."""
    cmd = [sys.executable, "-c", SERVER, str(log), "--model", model, "--port", str(port)]
    env = {**os.environ, **({"PYTHONPATH": src} if src else {})}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
    )
    for line in proc.stdout:  # the server prints its address once it is ready to serve
        if "http://" in line:
            break
    else:
        raise SystemExit(f"the server stopped before serving (exit {proc.wait()})")
    deadline = time.time() + 60
    while time.time() < deadline:
        with socket.socket() as s:
            if s.connect_ex(("127.0.0.1", port)) == 0:
                return proc
        time.sleep(0.2)
    raise SystemExit("the server did not open its port")


def positions(n: int) -> list[float]:
    """``n`` click positions (fractions of the track) on distinct slider values, far
    apart from one move to the next: every move makes a new image (none comes from
    the browser's cache)."""
    grid = [0.04 + 0.92 * i / 53 for i in range(54)]  # the slider's 0.05 steps, roughly
    order = [(i * 23) % 54 for i in range(54)]  # 23 and 54 coprime: a permutation
    if n > len(order):
        raise SystemExit(f"--moves at most {len(order) - 2}")
    return [grid[i] for i in order[:n]]


def open_page(browser, url: str, photo: Path):
    from playwright.sync_api import expect

    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(url)
    status = page.locator("#status")
    expect(status).to_contain_text("Upload a photo", timeout=60_000)
    page.locator("#upload input[type=file]").set_input_files(str(photo))
    expect(status).to_contain_text(photo.stem, timeout=60_000)
    return page


def click_and_time(page, f: float) -> dict | None:
    """Click the Blond_Hair track at ``f``; the times of that move (see
    ``browser_latencies``), ``None`` when the image came from the browser's cache."""
    track = page.locator("#slider-Blond_Hair input[type=range]")
    track.scroll_into_view_if_needed()
    box = track.bounding_box()
    page.evaluate(WATCH)
    page.mouse.click(box["x"] + f * box["width"], box["y"] + box["height"] / 2)
    times = page.evaluate("() => window.__shown")
    if os.environ.get("BENCH_WEB_DEBUG"):
        print([(r["name"][-40:], round(r["start"]), round(r["end"])) for r in times["res"]],
              round(times["t1"] - times["t0"]))  # fmt: skip
    page.wait_for_timeout(PAUSE_MS)  # a user's next move: after the image shows
    images = [r for r in times["res"] if "/file=" in r["name"]]
    if not images:
        return None
    last = max(images, key=lambda r: r["end"])
    return {"shown": times["t1"] - times["t0"], "result": last["start"], "fetched": last["end"]}


def browser_latencies(urls: list[str], photo: Path, moves: int) -> list[list[dict[str, float]]]:
    """Per server, per slider click (ms after the release): ``shown`` (the new image
    decoded and a frame drawn), ``result`` (the browser starts fetching the new image:
    the callback's answer has arrived) and ``fetched`` (the image's bytes are in).
    With several servers, their pages take turns, move by move."""
    from playwright.sync_api import sync_playwright

    out: list[list[dict[str, float]]] = [[] for _ in urls]
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        pages = [open_page(browser, url, photo) for url in urls]
        for k, f in enumerate(positions(moves + 2)):  # two warm-up moves
            for page, rows in zip(pages, out):
                page.bring_to_front()
                times = click_and_time(page, f)
                if k >= 2 and times:
                    rows.append(times)
        browser.close()
    return out


def server_timings(log: Path, n: int) -> dict[str, float]:
    """Median of each stage over the last ``n`` slider moves in the server's log."""
    runs: dict[str, list[float]] = {}
    for line in log.read_text().splitlines():
        if line.startswith("web timings"):
            for k, v in re.findall(r"(\w+)=([\d.]+)", line):
                runs.setdefault(k, []).append(float(v))
    return {k: round(statistics.median(v[-n:]), 1) for k, v in runs.items()}


def summary(lat: list[dict[str, float]], stages: dict[str, float]) -> dict:
    """Median, p10, p90 of release -> shown, and the breakdown (module docstring)."""
    shown = [m["shown"] for m in lat]
    median = round(statistics.median(shown), 1)
    out = {
        "release_to_shown_ms": {
            "median": median,
            "p10": round(float(np.percentile(shown, 10)), 1),
            "p90": round(float(np.percentile(shown, 90)), 1),
            "all": [round(x, 1) for x in shown],
        }
    }
    if "callback" in stages:  # this checkout's server logs its stages
        result_at = statistics.median(m["result"] for m in lat)
        fetch = statistics.median(m["fetched"] - m["result"] for m in lat)
        out["breakdown_ms"] = {
            **stages,
            "gradio_server": round(stages.get("gradio", 0) - stages["callback"], 1),
            "request_and_page_update": round(result_at - stages.get("gradio", 0), 1),
            "image_fetch": round(fetch, 1),
            "browser_decode_and_draw": round(median - result_at - fetch, 1),
        }
    return out


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default="synthfaces-64")
    ap.add_argument("--moves", type=int, default=40)
    ap.add_argument("--side", type=int, default=1024, help="photo side (default 1024: ~1 MP)")
    ap.add_argument(
        "--before",
        metavar="SRC",
        help="another checkout's src (e.g. a `git "
        "archive` of an older commit): its server too, the pages taking turns",
    )
    ap.add_argument("--note", default="", help="recorded with the results (e.g. machine load)")
    ap.add_argument("--out", default="benchmarks/results/bench_web.json")
    args = ap.parse_args()  # fmt: skip
    work = Path(tempfile.mkdtemp(prefix="bench_web_"))
    photo = make_photo(args.side, work)
    load0 = os.getloadavg()[0]
    names = ["after", "before"] if args.before else ["this checkout"]
    logs = {n: work / f"server_{k}.log" for k, n in enumerate(names)}
    ports = {n: free_port() for n in names}
    servers = [start_server(args.model, ports[n], logs[n], args.before if n == "before" else None)
               for n in names]  # fmt: skip
    try:
        urls = [f"http://127.0.0.1:{ports[n]}" for n in names]
        lats = browser_latencies(urls, photo, args.moves)
    finally:
        for server in servers:
            server.terminate()
            server.wait(30)
    results = {n: summary(lat, server_timings(logs[n], args.moves)) for n, lat in zip(names, lats)}
    cpu = next((ln.split(":", 1)[1].strip() for ln in open("/proc/cpuinfo")
                if ln.startswith("model name")), platform.processor())  # fmt: skip
    meta = {
        "machine": f"{platform.machine()} {cpu}, {os.cpu_count()} cores, no GPU",
        "threads": os.environ.get("OMP_NUM_THREADS", "torch default"),
        "load_average_at_start": load0,
        "load_average_at_end": os.getloadavg()[0],
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "photo": f"{args.side}x{args.side} JPEG (scikit-image astronaut, enlarged)",
        "model": args.model,
        "moves": args.moves,
        "note": args.note,
        "command": f"PYTHONPATH=src python benchmarks/bench_web.py --model {args.model} "
        f"--moves {args.moves} --side {args.side}"
        + (f" --before {args.before}" if args.before else "")
        + f" --out {args.out}",
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"meta": meta, **results}, indent=2) + "\n")
    for n, r in results.items():
        print(n, json.dumps({"median_ms": r["release_to_shown_ms"]["median"],
                             **r.get("breakdown_ms", {})}))  # fmt: skip


if __name__ == "__main__":
    main()
