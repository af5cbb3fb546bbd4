"""Does the hand-written channels-last instance norm still pay for itself?

Times one forward + backward of G and D (the small preset's intergan at 64 px, batch 8,
bf16 autocast, channels-last, as ``--amp auto`` trains on a CPU with native bf16), or
with ``--edit`` one edit of G alone (batch 1, bf16 weights, channels-last, no
gradient: the editor's ``torch-bf16`` backend), with the project's instance norm
(``intergan.precision.instance_norm``) and with plain ``F.instance_norm``,
alternating the two in one process so that other load on the machine falls on both
alike; prints each median and their ratio.

    PYTHONPATH=src OMP_NUM_THREADS=2 python benchmarks/bench_instance_norm.py --batch 32
    PYTHONPATH=src OMP_NUM_THREADS=2 python benchmarks/bench_instance_norm.py --edit --batch 1
"""

from __future__ import annotations

import argparse
import statistics
import time

import torch
import torch.nn.functional as F

from intergan.config import model_config
from intergan.models import build_discriminator, build_generator
from intergan.models.layers import InstanceNorm2d


def _plain(self: InstanceNorm2d, x: torch.Tensor) -> torch.Tensor:
    return F.instance_norm(x, weight=self.weight, bias=self.bias, eps=self.eps)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--batch", type=int, default=8)
    p.add_argument("--pairs", type=int, default=7)
    p.add_argument("--edit", action="store_true", help="time G.edit in bf16 weights instead")
    args = p.parse_args()
    torch.manual_seed(0)
    cfg = model_config("small", "intergan", 64)
    cl = torch.channels_last
    G, D = build_generator(cfg).to(memory_format=cl), build_discriminator(cfg).to(memory_format=cl)
    x = (torch.rand(args.batch, 3, 64, 64) * 2 - 1).contiguous(memory_format=cl)
    t = torch.rand(args.batch, cfg.n_attrs) - 0.5

    def step() -> None:
        with torch.autocast("cpu", dtype=torch.bfloat16):
            out = G(x, t, -t)
            adv, _ = D(out.edited)
        ((out.reconstructed.float() - x).abs().mean() + adv.float().mean()).backward()

    if args.edit:
        G = G.eval().to(torch.bfloat16)
        x, t = x.to(torch.bfloat16), t.to(torch.bfloat16)

        @torch.no_grad()
        def step() -> None:
            G.edit(x, t, -t)

    own_forward = InstanceNorm2d.forward
    times: dict[str, list[float]] = {"own": [], "F.instance_norm": []}
    for i in range(args.pairs + 1):  # the first pair warms up
        for name, forward in (("own", own_forward), ("F.instance_norm", _plain)):
            InstanceNorm2d.forward = forward
            t0 = time.perf_counter()
            step()
            if i:
                times[name].append(time.perf_counter() - t0)
    InstanceNorm2d.forward = own_forward
    own, plain = (statistics.median(times[k]) for k in ("own", "F.instance_norm"))
    print(f"own {own * 1e3:.0f} ms, F.instance_norm {plain * 1e3:.0f} ms: {plain / own:.2f}x")


if __name__ == "__main__":
    main()
