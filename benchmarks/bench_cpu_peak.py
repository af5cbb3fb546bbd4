"""What this CPU's kernels deliver: matmul and convolution GFLOP/s, float32 vs bf16.

The reference for "the training step at N% of the machine's bf16 conv peak"
(docs/benchmarks.md). Besides the peak shapes (2048^2 matmul; 3x3 conv, 64 ch,
64x64, batch 32, channels-last) it times the 3x3 convs the small-64 generator
runs, forward and forward+backward, so the step's efficiency can be read per shape.

    PYTHONPATH=src OMP_NUM_THREADS=2 python benchmarks/bench_cpu_peak.py [--tag NAME]

Writes ``benchmarks/results/bench_cpu_peak[_NAME].json`` (the development Xeon's
figures are the untagged file; tag other machines, e.g. ``--tag avx2_epyc``).
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from intergan.hardware import cpu_bf16

RESULTS = Path(__file__).resolve().parent / "results"


def _best(fn, repeat: int = 5) -> float:
    fn()
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def matmul(dtype: torch.dtype, n: int = 2048) -> float:
    a, b = torch.randn(n, n, dtype=dtype), torch.randn(n, n, dtype=dtype)
    return 2 * n**3 / _best(lambda: a @ b) / 1e9


def conv(dtype: torch.dtype, b: int, c: int, s: int, backward: bool = False) -> float:
    x = torch.randn(b, c, s, s, dtype=dtype).contiguous(memory_format=torch.channels_last)
    w = torch.randn(c, c, 3, 3, dtype=dtype).contiguous(memory_format=torch.channels_last)
    flops = 2 * b * c * c * 9 * s * s
    if not backward:
        return flops / _best(lambda: F.conv2d(x, w, padding=1)) / 1e9
    x.requires_grad_(True)
    w.requires_grad_(True)

    def step() -> None:
        F.conv2d(x, w, padding=1).sum().backward()

    return 3 * flops / _best(step) / 1e9


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--tag", default="", help="suffix of the results file name")
    args = ap.parse_args(argv)
    rows = []
    shapes = [(32, 64, 64), (64, 16, 64), (64, 32, 32), (64, 64, 16), (64, 128, 16), (64, 256, 8)]
    for name, dtype in (("float32", torch.float32), ("bf16", torch.bfloat16)):
        row = {"dtype": name, "matmul_2048": round(matmul(dtype))}
        for b, c, s in shapes:
            row[f"conv3x3_b{b}_c{c}_{s}px"] = round(conv(dtype, b, c, s))
            row[f"conv3x3_b{b}_c{c}_{s}px_fwd_bwd"] = round(conv(dtype, b, c, s, True))
        rows.append(row)
        print(json.dumps(row), flush=True)
    fast, why = cpu_bf16()
    out = {
        "machine": {
            "torch": torch.__version__,
            "threads": torch.get_num_threads(),
            "cpu_bf16": fast,
            "why": why,
            "capability": torch.backends.cpu.get_cpu_capability(),
            "cpu": cpu_model(),
            "date": time.strftime("%Y-%m-%d"),
        },
        "gflops": rows,
    }
    RESULTS.mkdir(exist_ok=True)
    name = f"bench_cpu_peak_{args.tag}.json" if args.tag else "bench_cpu_peak.json"
    (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n")
    print(f"saved {RESULTS / name}")


def cpu_model() -> str:
    try:
        for line in open("/proc/cpuinfo"):
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


if __name__ == "__main__":
    main()
