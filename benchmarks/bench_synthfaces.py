"""Benchmark: SynthFaces rendering and dataset writing speed.

Measures (1) single-process render time per image (CPU time and wall time) and
(2) a full ``write_dataset`` run (render + PNG + tables, all worker processes),
then extrapolates to 30,000 images. Prints the figures and saves them as JSON under
``benchmarks/results/``. Run: ``python benchmarks/bench_synthfaces.py [--n N]``.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import shutil
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from intergan.data.synthfaces import render, sample_attributes, sample_identity, write_dataset


def _cpu_seconds() -> float:
    """CPU time of this process and its finished children (the render workers)."""
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--n", type=int, default=30000, help="images in the write run")
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--workers", type=int, default=None)
    p.add_argument("--render-n", type=int, default=300, help="images in the render-only run")
    args = p.parse_args()

    faces = []
    for i in range(args.render_n):
        rng = np.random.default_rng([99, i])
        faces.append((sample_identity(rng), sample_attributes(rng)))
    render(*faces[0], args.size)  # warm-up
    w0, c0 = time.perf_counter(), time.process_time()
    for ident, attrs in faces:
        render(ident, attrs, args.size)
    render_wall = (time.perf_counter() - w0) / args.render_n * 1e3
    render_cpu = (time.process_time() - c0) / args.render_n * 1e3

    tmp = Path(tempfile.mkdtemp(prefix="bench-synth-"))
    try:
        load0 = os.getloadavg()[0]
        t0 = time.perf_counter()
        cpu0 = _cpu_seconds()
        write_dataset(tmp / "set", args.n, args.size, seed=0, workers=args.workers)
        write_s = time.perf_counter() - t0
        write_cpu = _cpu_seconds() - cpu0
        load1 = os.getloadavg()[0]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    result = {
        "date": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "machine": f"{platform.machine()} {os.cpu_count()} CPU, {platform.python_version()}",
        "size": args.size,
        "render_ms_per_image_cpu": round(render_cpu, 2),
        "render_ms_per_image_wall": round(render_wall, 2),
        "write_n": args.n,
        "write_workers": args.workers or min(os.cpu_count() or 1, 8),
        "write_seconds": round(write_s, 1),
        "write_ms_per_image_wall": round(write_s / args.n * 1e3, 2),
        "extrapolated_30000_seconds": round(write_s / args.n * 30000, 1),
        "write_cpu_ms_per_image": round(write_cpu / args.n * 1e3, 2),
        "cpu_bound_30000_seconds_on_2_idle_cores": round(write_cpu / args.n * 30000 / 2, 1),
        "load_average_before_after": [round(load0, 2), round(load1, 2)],
    }
    print(json.dumps(result, indent=2))
    out = Path(__file__).parent / "results" / f"synthfaces_{args.size}px_n{args.n}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"saved {out}")


if __name__ == "__main__":
    main()
