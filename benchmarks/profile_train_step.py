"""Where a training step's time goes: torch.profiler over real steps, by op type.

Builds the real trainer (as ``bench_train.py`` does), runs warm-up steps, then
profiles ``--steps`` steps and prints the ops by total self CPU time, with the
share of the step and, for convolutions and matmuls, the dtype they ran in.

    PYTHONPATH=src OMP_NUM_THREADS=2 python benchmarks/profile_train_step.py \
        --preset small --variant intergan --amp bf16 --channels-last

Writes ``benchmarks/results/profile_<preset>_<variant>_<amp>[_cl][_TAG].json``.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import defaultdict
from pathlib import Path

import torch
from torch.profiler import ProfilerActivity, profile
from torch.utils.data import TensorDataset

from intergan.config import PRESET_SIZES, PRESETS, VARIANTS, Config, model_config
from intergan.training.batches import BatchStream
from intergan.training.steps import build_trainer, run_step

RESULTS = Path(__file__).resolve().parent / "results"


def build(args: argparse.Namespace):
    size = args.size or PRESET_SIZES[args.preset]
    cfg = Config(model=model_config(args.preset, args.variant, size, **args.model))
    train_cfg = cfg.train
    train_cfg.batch_size, train_cfg.n_d = args.batch_size, args.n_d
    train_cfg.amp, train_cfg.channels_last = args.amp, args.cl
    trainer = build_trainer(cfg, torch.device("cpu"))
    g = torch.Generator().manual_seed(0)
    n = args.batch_size * (args.n_d + 1) * 2
    images = torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=g)
    labels = (torch.rand(n, cfg.model.n_attrs, generator=g) < 0.5).float()
    stream = BatchStream(TensorDataset(images, labels), args.batch_size, seed=0, flip=True)
    return trainer, stream


def by_op(prof, steps: int) -> list[dict]:
    rows: dict[str, dict] = defaultdict(lambda: {"self_ms": 0.0, "calls": 0})
    for ev in prof.key_averages(group_by_input_shape=False):
        r = rows[ev.key]
        r["self_ms"] += ev.self_cpu_time_total / 1000 / steps
        r["calls"] += ev.count // steps
    total = sum(r["self_ms"] for r in rows.values())
    out = [
        {"op": k, "ms_per_step": round(v["self_ms"], 1), "share": round(v["self_ms"] / total, 3)}
        | {"calls_per_step": v["calls"]}
        for k, v in rows.items()
    ]
    return sorted(out, key=lambda r: -r["ms_per_step"])


def main(argv: list[str] | None = None) -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--preset", choices=PRESETS, default="small")
    p.add_argument("--variant", choices=VARIANTS, default="intergan")
    p.add_argument("--size", type=int)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--n-d", type=int, default=4)
    p.add_argument("--amp", default="bf16", choices=["none", "bf16"])
    p.add_argument("--channels-last", dest="cl", action="store_true")
    p.add_argument("--steps", type=int, default=2)
    p.add_argument("--top", type=int, default=25)
    p.add_argument("--tag", default="")
    p.add_argument("--model", nargs="*", default=[], metavar="FIELD=INT")
    args = p.parse_args(argv)
    args.model = {k: int(v) for k, v in (m.split("=", 1) for m in args.model)}
    trainer, stream = build(args)
    for i in range(2):
        run_step(trainer, stream, i, lambda *a: None)
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CPU]) as prof:
        for i in range(args.steps):
            run_step(trainer, stream, 2 + i, lambda *a: None)
    step_s = (time.perf_counter() - t0) / args.steps
    rows = by_op(prof, args.steps)
    print(f"step {step_s:.3f} s (profiled; profiler overhead included)")
    print(f"{'op':48} {'ms/step':>9} {'share':>6} {'calls':>6}")
    for r in rows[: args.top]:
        print(
            f"{r['op'][:48]:48} {r['ms_per_step']:>9.1f} "
            f"{r['share']:>6.1%} {r['calls_per_step']:>6}"
        )
    name = f"profile_{args.preset}_{args.variant}_{args.amp}" + ("_cl" if args.cl else "")
    name += f"_{args.tag}" if args.tag else ""
    RESULTS.mkdir(exist_ok=True)
    out = {"settings": vars(args), "step_s_profiled": round(step_s, 3), "ops": rows[:60]}
    (RESULTS / f"{name}.json").write_text(json.dumps(out, indent=2) + "\n")


if __name__ == "__main__":
    main()
