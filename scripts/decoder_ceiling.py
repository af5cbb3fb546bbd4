"""How fast G's decoder alone learns to draw a face from a code that loses nothing,
and G's encoder alone to make a code a linear map draws back (docs/recipe.md
section 14).

The generator's decoder (two resolution-keeping ``ResUp`` blocks at the 16x16
bottleneck, two that double it, the 1x1 head; the 64 px ``small`` layout with
``enc_dim`` 32) is trained on its own to redraw each image from its pixel-unshuffled
copy: the image cut into 4x4 cells, each cell's 48 values as 48 channels of a 16x16
map, mapped to the bottleneck width by one 3x3 conv. That code holds every pixel, so
what the decoder cannot redraw is the decoder's (or its training's) limit, not the
encoder's or the bottleneck's. The other side: ``encoder`` trains G's encoder (HFCM
included) behind the simplest decoder, one 1x1 conv from the 16x16 code to 48
channels laid out by a 4x pixel shuffle, so what it cannot redraw is the encoder's
limit. One run per ``--arm`` (``plain``: the decoder as G has it; ``rgb``: with the
output skips of ``model.rgb_skips``; ``encoder``; ``encoder_no_hfcm``: without
HFCM), the same seed, batches and steps;
reconstruction PSNR of the first ``--n`` test images (the probes'
PSNR: [-1, 1] images, range 2) every ``--eval-every`` steps. Rows are added to
``--out`` (a row of the same settings is replaced).

    PYTHONPATH=src python scripts/decoder_ceiling.py --data data/synth64_bal.cache \
        --steps 1000 --out benchmarks/results/decoder_ceiling.json
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from intergan.attributes import DEFAULT_ATTRS
from intergan.config import model_config
from intergan.data import build_dataset
from intergan.evaluation.metrics import mean_psnr, psnr
from intergan.images import to_model
from intergan.models import build_generator
from intergan.models.layers import ResUp, lrelu


class Decoder(nn.Module):
    """The 64 px decoder of G (``small``, ``enc_dim`` 32, 16x16 bottleneck) behind a
    3x3 conv from the 48-channel unshuffled image.

    ``rgb``: each level after the 16x16 blocks and after the first up-sampling block
    also draws a picture of its own, a 1x1 conv to 3 colours per output pixel laid out
    by a pixel shuffle, added to the head's before the tanh (StyleGAN2's output skips:
    inside the decoder, so nothing passes around the bottleneck)."""

    def __init__(self, norm: str, rgb: bool, c=(128, 128, 128, 64, 32)):
        super().__init__()
        self.stem = nn.Conv2d(48, c[0], 3, 1, 1)
        self.blocks = nn.ModuleList(
            ResUp(c[j], c[j + 1], norm, up=j >= 2) for j in range(len(c) - 1)
        )
        self.head = nn.Sequential(lrelu(), nn.Conv2d(c[-1], 3, 1))
        # block index -> (1x1 conv to 3 * r * r colours, r)
        self.rgb = nn.ModuleDict(
            {"1": nn.Conv2d(c[2], 48, 1), "2": nn.Conv2d(c[3], 12, 1)} if rgb else {}
        )

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        f, extra = self.stem(F.pixel_unshuffle(images, 4)), 0
        for j, block in enumerate(self.blocks):
            f = block(f)
            if str(j) in self.rgb:
                # its pixel spans 64 / side output pixels, as in G
                extra = extra + F.pixel_shuffle(self.rgb[str(j)](f), 64 // f.shape[-1])
        return torch.tanh(self.head(f) + extra)


class Encoder(nn.Module):
    """G's encoder (the 64 px ``small`` layout, ``enc_dim`` 32, HFCM) and a linear
    decoder: a 1x1 conv to 48 channels, a 4x pixel shuffle, a tanh."""

    def __init__(self, norm: str, variant: str = "intergan"):
        super().__init__()
        self.G = build_generator(model_config("small", variant, 64, enc_dim=32, norm=norm))
        for part in ("bottleneck", "decoder", "cti", "head", "rgb"):  # G.encode needs none
            delattr(self.G, part)
        self.out = nn.Conv2d(self.G.cfg.max_dim, 48, 1)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        return torch.tanh(F.pixel_shuffle(self.out(self.G.encode(images)), 4))


def batch(data, idx: torch.Tensor) -> torch.Tensor:
    return to_model(torch.stack([data[int(i)][0] for i in idx]))


@torch.no_grad()
def measure(net: nn.Module, images: torch.Tensor) -> float:
    net.eval()
    out = torch.cat([net(x) for x in images.split(50)])
    net.train()
    return round(mean_psnr(psnr(out, images, data_range=2.0)), 2)


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--batch-size", type=int, default=32)
    p.add_argument("--lr", type=float, default=2e-4)
    p.add_argument("--norm", default="batch")
    p.add_argument(
        "--arm",
        nargs="+",
        default=["plain", "rgb"],
        choices=["plain", "rgb", "encoder", "encoder_no_hfcm"],
    )
    p.add_argument("--n", type=int, default=200)
    p.add_argument("--eval-every", type=int, default=250)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--out", type=Path)
    args = p.parse_args()
    train = build_dataset(args.data, list(DEFAULT_ATTRS), "train", 64, flip=True)
    test = build_dataset(args.data, list(DEFAULT_ATTRS), "test", 64)
    test_images = batch(test, torch.arange(min(args.n, len(test))))
    order = torch.randint(
        len(train), (args.steps, args.batch_size), generator=torch.Generator().manual_seed(0)
    )
    rows = json.loads(args.out.read_text()) if args.out and args.out.exists() else []
    for kind in args.arm:
        torch.manual_seed(args.seed)
        if kind.startswith("encoder"):
            net = Encoder(args.norm, "no_hfcm" if kind == "encoder_no_hfcm" else "intergan")
        else:
            net = Decoder(args.norm, kind == "rgb")
        opt = torch.optim.Adam(net.parameters(), lr=args.lr, betas=(0.5, 0.999))
        curve, t0 = {}, time.perf_counter()
        for step in range(1, args.steps + 1):
            x = batch(train, order[step - 1])
            loss = (net(x) - x).abs().mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % args.eval_every == 0 or step == args.steps:
                curve[step] = {
                    "train_l1": round(loss.item(), 4),
                    "psnr_db": measure(net, test_images),
                }
                print(kind, step, curve[step], flush=True)
        row = {
            "arm": kind,
            "norm": args.norm,
            "steps": args.steps,
            "batch_size": args.batch_size,
            "lr": args.lr,
            "seed": args.seed,
            "params": sum(q.numel() for q in net.parameters()),
            "s_per_step": round((time.perf_counter() - t0) / args.steps, 3),
            "curve": curve,
        }
        same = ("arm", "norm", "steps", "batch_size", "lr", "seed")
        rows = [r for r in rows if any(r[k] != row[k] for k in same)] + [row]
        if args.out:
            args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
