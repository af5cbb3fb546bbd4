"""Time one generator step plus one discriminator step for each model variant.

A "G+D step" here is what one training iteration of the model costs at its core:
G forward (both streams), D on the edited images, backward of an adversarial +
attribute + reconstruction loss; then D on real and (detached) edited images and
its backward. No optimiser, no data loading. Prints a table and writes JSON to
benchmarks/results/. Example:

    PYTHONPATH=src python benchmarks/bench_model.py --preset small --size 64 --batch 32
"""

from __future__ import annotations

import argparse
import datetime
import json
import os
import platform
import statistics
import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F

from intergan.config import VARIANTS, model_config
from intergan.models import build_discriminator, build_generator
from intergan.models.summary import measure


def g_and_d_step(G, D, x, t, s, t01, s01) -> None:
    out = G(x, t, s)
    adv, cls = D(out.edited)
    loss = -adv.mean() + F.binary_cross_entropy_with_logits(cls.float(), t01)
    (loss + (out.reconstructed - x).abs().mean()).backward()
    adv_real, cls_real = D(x)
    adv_fake, _ = D(out.edited.detach())
    d_loss = adv_fake.mean() - adv_real.mean()
    (d_loss + F.binary_cross_entropy_with_logits(cls_real.float(), s01)).backward()


def time_variant(args, variant: str, device: torch.device) -> dict:
    cfg = model_config(args.preset, variant, args.size)
    report = measure(cfg)
    torch.manual_seed(0)
    G, D = build_generator(cfg).to(device), build_discriminator(cfg).to(device)
    b, n = args.batch, cfg.n_attrs
    x = torch.rand(b, 3, args.size, args.size, device=device) * 2 - 1
    s01 = (torch.rand(b, n, device=device) > 0.5).float()
    t01 = s01.flip(0)
    dtype = torch.bfloat16 if args.amp == "bf16" else None
    times = []
    for i in range(args.warmup + args.steps):
        if device.type == "cuda":
            torch.cuda.synchronize()
        start = time.perf_counter()
        with torch.autocast(device.type, dtype=dtype, enabled=dtype is not None):
            g_and_d_step(G, D, x, t01 - 0.5, s01 - 0.5, t01, s01)
        if device.type == "cuda":
            torch.cuda.synchronize()
        if i >= args.warmup:
            times.append(time.perf_counter() - start)
    return {
        "variant": variant,
        "g_params": sum(report.g_params.values()),
        "g_macs_per_image": sum(report.g_macs.values()),
        "d_params": sum(report.d_params.values()),
        "d_macs_per_image": sum(report.d_macs.values()),
        "step_s_median": statistics.median(times),
        "step_s_min": min(times),
        "images_per_s": b / statistics.median(times),
    }


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--preset", default="small")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--batch", type=int, default=32)
    p.add_argument("--variants", default=",".join(VARIANTS))
    p.add_argument("--device", default="cpu")
    p.add_argument("--amp", default="none", choices=["none", "bf16"])
    p.add_argument("--steps", type=int, default=5)
    p.add_argument("--warmup", type=int, default=2)
    p.add_argument("--threads", type=int, default=0, help="torch CPU threads (0 = default)")
    p.add_argument("--out", default="benchmarks/results")
    args = p.parse_args()
    if args.threads:
        torch.set_num_threads(args.threads)
    device = torch.device(args.device)
    load_before = os.getloadavg()[0]
    rows = [time_variant(args, v, device) for v in args.variants.split(",")]
    load_after = os.getloadavg()[0]
    machine = (
        torch.cuda.get_device_name(device)
        if device.type == "cuda"
        else f"{platform.processor() or platform.machine()}, {torch.get_num_threads()} threads"
    )
    print(f"{args.preset} {args.size}px batch {args.batch} on {machine} (amp {args.amp})")
    print(f"1-min load average before/after: {load_before:.2f} / {load_after:.2f}")
    print("variant   G params  G GMAC/img  D params  step median  images/s")
    for r in rows:
        print(
            f"{r['variant']:9} {r['g_params'] / 1e6:7.2f}M  {r['g_macs_per_image'] / 1e9:9.3f}"
            f"  {r['d_params'] / 1e6:7.2f}M  {r['step_s_median']:9.3f} s  {r['images_per_s']:8.1f}"
        )
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    name = f"model_{args.preset}_{args.size}_{device.type}" + (
        f"_{args.amp}" if args.amp != "none" else ""
    )
    result = {
        "command": " ".join([Path(sys.executable).name, *sys.argv]),
        "date": datetime.datetime.now().isoformat(timespec="seconds"),
        "machine": machine,
        "cpu_count": os.cpu_count(),
        "loadavg_1min_before_after": [load_before, load_after],
        "torch": torch.__version__,
        "args": vars(args),
        "results": rows,
    }
    (out / f"{name}.json").write_text(json.dumps(result, indent=2) + "\n")


if __name__ == "__main__":
    main()
