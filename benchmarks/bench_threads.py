"""``--threads``: an edit and a training step at 1 and 2 PyTorch threads, with the
machine as it is and with one more core kept busy by a spinning process.

- ``edit``: ``Editor.edit`` of one 64 px crop (``align=False``) with the bundled
  ``synthfaces-64`` and its default backend (what ``intergan edit --no-align`` and
  each web slider move run per face).
- ``train_step``: one training step of the ``small`` preset at 64 px, batch 8, on
  in-memory uint8 batches (``training.loop.run_step``, what ``intergan train``
  repeats), with the precision ``--amp auto`` picks here.

Median and best of ``--repeats`` timed edits and ``--train-repeats`` timed steps after
a warm-up, the thread counts taking turns so that other jobs' load hits each alike;
the 1-minute load average before each condition and ``hardware.default_threads()``'s
choice are recorded. The results file is rewritten after each condition.

Usage: PYTHONPATH=src python benchmarks/bench_threads.py [--repeats 7] [--train-repeats 3]
Writes benchmarks/results/bench_threads.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing as mp
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from torch.utils.data import TensorDataset

RESULTS = Path(__file__).resolve().parent / "results"
THREADS = (1, 2)


def spin(stop) -> None:
    """Keep one core busy until ``stop`` is set (the other tenant of a shared machine)."""
    while not stop.is_set():
        sum(range(10_000))


def edit_fn():
    from intergan.editing.editor import Editor

    editor = Editor.from_pretrained("synthfaces-64", device="cpu")
    x = torch.rand(1, 3, 64, 64) * 2 - 1
    # blend raw: what the recorded figures measured (before delta became the default)
    return lambda: editor.edit(x, {"Blond_Hair": 1.0}, align=False, blend="raw")


def train_fn():
    from intergan.config import Config, model_config
    from intergan.precision import resolve
    from intergan.training.batches import BatchStream
    from intergan.training.loop import build_trainer, run_step

    device = torch.device("cpu")
    cfg = Config(model=model_config("small", img_size=64))
    cfg.train.batch_size, cfg.train.seed = 8, 0
    cfg.train.amp, cfg.train.channels_last, _ = resolve("auto", None, device)
    trainer = build_trainer(cfg, device)
    g = torch.Generator().manual_seed(0)
    n = 8 * (cfg.train.n_d + 1) * 4
    images = torch.randint(0, 256, (n, 3, 64, 64), dtype=torch.uint8, generator=g)
    labels = (torch.rand(n, cfg.model.n_attrs, generator=g) < 0.5).float()
    stream = BatchStream(TensorDataset(images, labels), 8, seed=0, flip=True)
    step = [0]

    def one() -> None:
        run_step(trainer, stream, step[0], lambda *a: None)
        step[0] += 1

    return one


def timed(fn, repeats: int) -> dict[str, dict[str, float]]:
    """Median and best (ms) of ``fn`` at each thread count, the counts taking turns."""
    runs: dict[int, list[float]] = {n: [] for n in THREADS}
    for n in THREADS:
        torch.set_num_threads(n)
        fn()  # warm-up at this count (oneDNN kernels, thread pool)
    for _ in range(repeats):
        for n in THREADS:
            torch.set_num_threads(n)
            t0 = time.perf_counter()
            fn()
            runs[n].append(1000 * (time.perf_counter() - t0))
    return {
        f"{n}_threads": {"median_ms": round(statistics.median(v), 1), "best_ms": round(min(v), 1)}
        for n, v in runs.items()
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--repeats", type=int, default=7)
    ap.add_argument("--train-repeats", type=int, default=3)
    ap.add_argument("--out", default=str(RESULTS / "bench_threads.json"))
    args = ap.parse_args()
    from intergan.hardware import default_threads

    fns = {"edit": edit_fn(), "train_step": train_fn()}
    result: dict = {
        "machine": f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores",
        "torch": torch.__version__,
        "date": time.strftime("%Y-%m-%d %H:%M"),
        "repeats": {"edit": args.repeats, "train_step": args.train_repeats},
    }
    for condition in ("as_is", "one_core_busy"):
        stop = mp.Event()
        busy = mp.Process(target=spin, args=(stop,)) if condition != "as_is" else None
        if busy:
            busy.start()
            time.sleep(1.0)
        row = {"load_1min": round(os.getloadavg()[0], 2), "default_threads": default_threads()}
        for name, fn in fns.items():
            row[name] = timed(fn, args.train_repeats if name == "train_step" else args.repeats)
        if busy:
            stop.set()
            busy.join()
        result[condition] = row
        print(condition, json.dumps(row), flush=True)
        Path(args.out).write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
