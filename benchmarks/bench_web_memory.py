"""The web editor's memory and disk under many visitors, and what SIGTERM leaves.

Usage: PYTHONPATH=src python benchmarks/bench_web_memory.py [--small 200] [--big 5]
       [--idle-wait 70] [--out FILE] [-- SERVER FLAGS...]

Starts ``python -m intergan.app.web --model synthfaces-64`` (plus the flags after
``--``, e.g. ``--session-idle 1``) with its own temporary folder, then opens
``--small`` sessions, each a new Gradio client uploading a 512x512 PNG (the
astronaut, one face), and ``--big`` sessions uploading a 19-megapixel JPEG (the
same photo enlarged). It reads the server's resident memory (``VmRSS``) and the
size of its temporary folder after start, after the small and after the big
sessions, and again ``--idle-wait`` seconds later (after one more small session,
which lets the server drop idle photos); then it sends SIGTERM and lists what is
left in the temporary folder. The same script measures an older checkout: point
PYTHONPATH at its ``src``.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def disk_mb(folder: Path) -> float:
    return round(sum(p.stat().st_size for p in folder.rglob("*") if p.is_file()) / 2**20, 1)


def photos(folder: Path) -> tuple[Path, Path]:
    from PIL import Image
    from skimage import data

    small, big = folder / "small.png", folder / "big.jpg"
    Image.fromarray(data.astronaut()).save(small)
    Image.fromarray(data.astronaut()).resize((5024, 3768), Image.BICUBIC).save(big, quality=90)
    return small, big


def open_session(url: str, photo: Path) -> str:
    """A new visitor (a new Gradio session) opening ``photo``; returns the status line."""
    from gradio_client import Client, handle_file

    client = Client(url, verbose=False)
    params = client.view_api(return_format="dict", print_info=False)["named_endpoints"]["/open"]
    values = {"path": handle_file(str(photo)), "align": True, "blend": "raw"}
    args = [values[p["parameter_name"]] for p in params["parameters"]]
    out = client.predict(*args, api_name="/open")
    return str(next((o for o in out if isinstance(o, str) and "px" in o), out))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--small", type=int, default=200)
    ap.add_argument("--big", type=int, default=5)
    ap.add_argument("--idle-wait", type=int, default=70)
    ap.add_argument("--out", default="benchmarks/results/bench_web_memory.json")
    ap.add_argument("server_flags", nargs="*")
    args = ap.parse_args()
    work = Path(tempfile.mkdtemp(prefix="bench_web_memory_"))
    tmp = work / "tmp"
    tmp.mkdir()
    small, big = photos(work)
    port = free_port()
    cmd = [sys.executable, "-m", "intergan.app.web", "--model", "synthfaces-64",
           "--port", str(port), *args.server_flags]  # fmt: skip
    env = {**os.environ, "TMPDIR": str(tmp)}
    server = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    for line in server.stdout:
        if b"http://" in line:
            break
    time.sleep(3)
    rows = {"started": (rss_mb(server.pid), disk_mb(tmp))}
    t0 = time.time()
    for _ in range(args.small):
        open_session(url, small)
    rows[f"after {args.small} small sessions"] = (rss_mb(server.pid), disk_mb(tmp))
    for _ in range(args.big):
        print(open_session(url, big)[:80], flush=True)
    rows[f"after {args.big} big sessions"] = (rss_mb(server.pid), disk_mb(tmp))
    time.sleep(args.idle_wait)
    open_session(url, small)
    rows[f"{args.idle_wait} s later, one more session"] = (rss_mb(server.pid), disk_mb(tmp))
    seconds = round(time.time() - t0)
    server.send_signal(signal.SIGTERM)
    code = server.wait(60)
    left = sorted(str(p.relative_to(tmp)) for p in tmp.rglob("*") if p.is_file())
    result = {
        "rss_mb_and_tmp_mb": rows,
        "sigterm_exit": code,
        "files_left_after_sigterm": left[:20],
        "n_files_left": len(left),
        "seconds": seconds,
        "server_flags": args.server_flags,
        "pythonpath": os.environ.get("PYTHONPATH", ""),
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "load_average": os.getloadavg()[0],
        "command": "PYTHONPATH=src python benchmarks/bench_web_memory.py "
        f"--small {args.small} --big {args.big} --idle-wait {args.idle_wait} -- "
        + " ".join(args.server_flags),
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
