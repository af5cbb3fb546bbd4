"""Re-estimate the batch-norm running statistics of a checkpoint's EMA generator
(docs/recipe.md section 13, "Running statistics for the EMA weights").

During training the EMA copy of G takes its buffers from the live G (``ema_update``
copies them): batch-norm statistics measured with the live weights over the last
few batches (momentum 0.1), then used with the averaged weights. This script runs
the EMA weights in training mode over ``--batches`` training batches as the
generator step sees them (both streams, shuffled targets, the run's bf16 autocast),
averages the statistics over all of them (cumulative, momentum None), and writes a
copy of the checkpoint with those buffers, to be evaluated like any checkpoint:

    PYTHONPATH=src python scripts/bn_recalibrate.py \
        runs/b16e32k10bn_bal_s1/checkpoints/step_0004000.pt runs/bn_recal/step_0004000.pt
    intergan evaluate --model runs/bn_recal/step_0004000.pt --data data/synth64_fresh \
        --split all --judge synthfaces-64 --n 200
"""

from __future__ import annotations

import argparse
from pathlib import Path

import torch

from intergan.config import Config
from intergan.data import build_dataset
from intergan.images import to_model
from intergan.models import build_generator, io
from intergan.training.steps import make_targets


@torch.no_grad()
def recalibrate(G: torch.nn.Module, cfg: Config, batches: int, seed: int) -> int:
    """Replace the running statistics of ``G``'s batch norms by their average over
    ``batches`` training batches (the run's data, batch size and targets); returns
    how many batch-norm layers there were."""
    norms = [m for m in G.modules() if isinstance(m, torch.nn.modules.batchnorm._BatchNorm)]
    momenta = [m.momentum for m in norms]
    for m in norms:
        m.reset_running_stats()
        m.momentum = None  # cumulative average
    m_cfg, t_cfg = cfg.model, cfg.train
    data = build_dataset(cfg.data.path, m_cfg.attrs, "train", m_cfg.img_size)
    rng = torch.Generator().manual_seed(seed)
    order = torch.randperm(len(data), generator=rng)
    G.train()
    bf16 = t_cfg.amp == "bf16"
    for i in range(batches):
        items = [data[int(j)] for j in order[i * t_cfg.batch_size : (i + 1) * t_cfg.batch_size]]
        images = to_model(torch.stack([x for x, _ in items]))  # (B, 3, S, S) in [-1, 1]
        _, target_enc, source_enc = make_targets(torch.stack([a for _, a in items]), t_cfg, rng)
        if t_cfg.channels_last:
            images = images.contiguous(memory_format=torch.channels_last)
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=bf16):
            G(images, target_enc, source_enc)
    for m, momentum in zip(norms, momenta, strict=True):
        m.momentum = momentum  # as built, for whatever trains the copy next
    return len(norms)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("checkpoint", help="a training checkpoint with EMA weights")
    p.add_argument("out", help="where to write the copy with re-estimated statistics")
    p.add_argument("--batches", type=int, default=100, help="training batches to average")
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    ckpt = io.load_checkpoint(args.checkpoint)
    cfg = Config.from_dict(ckpt["config"], saved=True)
    G = build_generator(cfg.model)
    G.load_state_dict(ckpt["G_ema"])
    n = recalibrate(G, cfg, args.batches, args.seed)
    ckpt["G_ema"] = G.state_dict()
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    torch.save(ckpt, args.out)
    print(f"{n} batch norms re-estimated over {args.batches} batches: {args.out}")


if __name__ == "__main__":
    main()
