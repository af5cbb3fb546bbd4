"""Training throughput of each generator variant and preset.

For every (preset, variant) it builds the real trainer (``intergan.training``), feeds
it in-memory uint8 batches (no decoding, so the figures are the model's cost), and
times, after warm-up:

- ``step_s``: one training step, ``n_d`` D updates + one G update, each on its own
  batch (what ``intergan train`` repeats);
- ``train_img_s``: real images read per second, ``(n_d + 1) * batch / step_s``;
- ``g_img_s``: images per second of the G update alone (``batch / g_step time``);
- ``step_gflop``: the convolution and matmul work of one step, forward, backward and
  the penalty's double backward, counted by ``torch.utils.flop_counter`` over a real
  step (not by hand), and ``gflop_s`` = ``step_gflop / step_s``;
- on the CPU, ``peak_share``: ``gflop_s`` over this machine's conv peak in the step's
  dtype, measured in the same run (``bench_cpu_peak.conv``: 3x3, 64 channels, 64x64,
  batch 32, channels-last; forward alone and forward + backward).

CPU:  PYTHONPATH=src OMP_NUM_THREADS=2 python benchmarks/bench_train.py  # float32 vs default
GPU:  PYTHONPATH=src python benchmarks/bench_train.py --device cuda --amp bf16 \
          --channels-last --preset base --size 128 --batch-size 32
Prints a table and writes ``benchmarks/results/bench_train[_TAG].json``.
"""

from __future__ import annotations

import argparse
import functools
import json
import os
import platform
import statistics
import time
from pathlib import Path

import torch
from bench_cpu_peak import conv as conv_gflops
from bench_cpu_peak import cpu_model
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.data import TensorDataset
from torch.utils.flop_counter import flop_registry

from intergan.config import (
    PRESET_SIZES,
    PRESETS,
    VARIANTS,
    Config,
    model_config,
    validate_train,
)
from intergan.hardware import cpu_bf16
from intergan.images import to_model
from intergan.precision import resolve
from intergan.training import distributed as dist
from intergan.training.batches import BatchStream
from intergan.training.steps import build_trainer, g_step, make_targets, run_step

RESULTS = Path(__file__).resolve().parent / "results"


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _timed(fn, device: torch.device, repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        _sync(device)
        t0 = time.perf_counter()
        fn()
        _sync(device)
        times.append(time.perf_counter() - t0)
    return times


class CountFlops(TorchDispatchMode):
    """FLOPs of every op torch has a formula for (convolutions and their backward,
    matmuls), by torch's own formulas. ``FlopCounterMode`` cannot be used: its module
    tracker breaks ``torch.autograd.grad``, which the gradient penalty calls."""

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def bench_one(
    args: argparse.Namespace, preset: str, variant: str, amp: str, device: torch.device
) -> dict:
    size = args.size or PRESET_SIZES[preset]
    cfg = Config(model=model_config(preset, variant, size, **args.model))
    train_cfg = cfg.train
    train_cfg.batch_size, train_cfg.n_d = args.batch_size, args.n_d
    train_cfg.seed, train_cfg.compile = 0, args.compile
    validate_train(cfg, device)
    # as `intergan train` resolves them
    train_cfg.amp, train_cfg.channels_last, _ = resolve(amp, args.channels_last, device)
    trainer = build_trainer(cfg, device)
    g = torch.Generator().manual_seed(0)
    n = args.batch_size * (args.n_d + 1) * 2
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    labels = (torch.rand(n, cfg.model.n_attrs, generator=g) < 0.5).float()
    stream = BatchStream(TensorDataset(images, labels), args.batch_size, seed=0, flip=True)
    step = [0]

    def one_step() -> None:
        run_step(trainer, stream, step[0], lambda *a: None)
        step[0] += 1

    src = labels[: args.batch_size]
    target, target_enc, source_enc = make_targets(src, train_cfg, trainer.rng)
    real = to_model(images[: args.batch_size]).to(device)
    g_args = (real, target.to(device), target_enc.to(device), source_enc.to(device))
    if device.type == "cuda":
        torch.cuda.reset_peak_memory_stats(device)
    _timed(one_step, device, args.warmup)
    with CountFlops() as counter:
        one_step()
    step_gflop = counter.total / 1e9
    step_times = _timed(one_step, device, args.iters)
    g_times = _timed(lambda: g_step(trainer, *g_args), device, args.iters)
    step_s, g_s = statistics.median(step_times), statistics.median(g_times)
    row = {
        "preset": preset,
        "variant": variant,
        "size": size,
        "amp": f"{amp} -> {train_cfg.amp}",
        "channels_last": train_cfg.channels_last,
        "batch": args.batch_size,
        "n_d": args.n_d,
        "step_s": round(step_s, 4),
        "train_img_s": round((args.n_d + 1) * args.batch_size / step_s, 2),
        "g_img_s": round(args.batch_size / g_s, 2),
        "step_gflop": round(step_gflop, 1),
        "gflop_s": round(step_gflop / step_s, 1),
        "params_G": sum(p.numel() for p in trainer.G.parameters()),
        "params_D": sum(p.numel() for p in trainer.D.parameters()),
    }
    if device.type == "cuda":
        row["peak_mem_gib"] = round(torch.cuda.max_memory_allocated(device) / 2**30, 2)
    else:
        row["peak_share"] = peak_share(row["gflop_s"], train_cfg.amp)
    return row


@functools.cache
def conv_peak(dtype: torch.dtype) -> tuple[float, float]:
    """This CPU's conv GFLOP/s in ``dtype``, forward and forward + backward (measured
    once per dtype and run, however many rows share it)."""
    return conv_gflops(dtype, 32, 64, 64), conv_gflops(dtype, 32, 64, 64, True)


def peak_share(gflop_s: float, amp: str) -> dict[str, float]:
    """The step's GFLOP/s as a share of this CPU's measured conv peak in its dtype."""
    dtype = torch.bfloat16 if amp == "bf16" else torch.float32
    fwd, fwd_bwd = conv_peak(dtype)
    return {
        "dtype": str(dtype).removeprefix("torch."),
        "conv_peak_fwd_gflop_s": round(fwd),
        "conv_peak_fwd_bwd_gflop_s": round(fwd_bwd),
        "of_fwd": round(gflop_s / fwd, 3),
        "of_fwd_bwd": round(gflop_s / fwd_bwd, 3),
    }


def _share(row: dict) -> str:
    """The step's share of the forward / forward+backward conv peak ("-" on a GPU)."""
    share = row.get("peak_share")
    return f"{share['of_fwd']:.0%}/{share['of_fwd_bwd']:.0%}" if share else "-"


def _load() -> list[float]:
    """1/5/15-minute load averages: other jobs share this machine's cores."""
    return [round(x, 2) for x in os.getloadavg()]


def machine(device: torch.device) -> dict:
    info = {
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cpu": cpu_model(),
        "threads": torch.get_num_threads(),
        "device": str(device),
        "date": time.strftime("%Y-%m-%d"),
    }
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    else:
        info["cpu_bf16"] = list(cpu_bf16())
        info["cpu_capability"] = torch.backends.cpu.get_cpu_capability()
    return info


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", nargs="+", choices=PRESETS, default=["tiny", "small"])
    p.add_argument("--variant", nargs="+", choices=VARIANTS, default=list(VARIANTS))
    p.add_argument("--size", type=int, help="image side (default: each preset's)")
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-d", type=int, default=4)
    p.add_argument("--iters", type=int, default=3, help="timed steps (median reported)")
    p.add_argument("--warmup", type=int, default=1)
    p.add_argument("--device", default="cpu")
    p.add_argument(
        "--amp",
        nargs="+",
        default=["none", "auto"],
        choices=["auto", "none", "bf16", "fp16"],
        help="precision modes, each timed in turn (default: float32, then the default mode)",
    )
    p.add_argument(
        "--channels-last",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="default: as `intergan train` (on with bf16 on a CPU)",
    )
    p.add_argument("--compile", action="store_true")
    p.add_argument("--tag", default="", help="suffix of the results file name")
    p.add_argument(
        "--model",
        nargs="*",
        default=[],
        metavar="FIELD=INT",
        help="model config overrides, e.g. bottleneck=8 max_dim=128",
    )
    args = p.parse_args(argv)
    args.model = {k: int(v) for k, v in (m.split("=", 1) for m in args.model)}
    device = dist.pick_device(args.device)
    load_start, rows = _load(), []
    print(
        f"{'preset':7} {'variant':9} {'size':>4} {'amp':>14} {'NHWC':>5} {'step s':>8} "
        f"{'train img/s':>12} {'G img/s':>9} {'GFLOP/s':>8} {'of peak':>8}"
    )
    for preset in args.preset:
        for variant in args.variant:
            for amp in args.amp:
                row = bench_one(args, preset, variant, amp, device)
                rows.append(row)
                print(
                    f"{preset:7} {variant:9} {row['size']:>4} {row['amp']:>14} "
                    f"{str(row['channels_last']):>5} {row['step_s']:>8.3f} "
                    f"{row['train_img_s']:>12.1f} {row['g_img_s']:>9.1f} "
                    f"{row['gflop_s']:>8.0f} {_share(row):>8}",
                    flush=True,
                )
    settings = {
        k: getattr(args, k)
        for k in (
            "batch_size",
            "n_d",
            "iters",
            "warmup",
            "amp",
            "channels_last",
            "compile",
            "model",
        )
    }
    info = machine(device) | {"load_avg_start": load_start, "load_avg_end": _load()}
    out = {"machine": info, "settings": settings, "results": rows}
    RESULTS.mkdir(exist_ok=True)
    name = "bench_train" + (f"_{args.tag}" if args.tag else "") + ".json"
    (RESULTS / name).write_text(json.dumps(out, indent=2) + "\n")
    print(f"saved {RESULTS / name}")


if __name__ == "__main__":
    main()
