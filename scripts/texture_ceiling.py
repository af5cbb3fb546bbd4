"""How far a SynthFaces image moves when its per-identity noise textures are taken
away (docs/recipe.md, "What bounds reconstruction PSNR").

The renderer draws fine texture (background grain, shirt weave, skin pores, hair
strands, brow hairs) from value noise on random lattices seeded by the identity
(``synthfaces.scene.Ctx``: ``grid_fine``, ``grid_hair``, ``line_hair``, ``grid_bg``,
``grid_skin``). At 64 px many of those lattices are finer than a pixel, so what they
draw is close to pixel noise. This script renders the first ``--n`` faces of a
SynthFaces export again with chosen lattices set flat (every cell 0.5) and reports
the evaluation's PSNR (uint8, per image, averaged) between each render and the
original. A reconstruction that got everything right but those textures, replacing
them by the flat lattice's paint, would score that PSNR; the best such
reconstruction (the expected image over the textures) scores at least as well. So
the figure is a lower bound on what a model can reach without carrying any of that
texture through its bottleneck. Faces a set does not touch (no hair: bald, no beard)
render identically; the evaluation counts those as 120 dB, so the pooled figure (the
PSNR of the mean squared error over all images) is printed too.

    PYTHONPATH=src python scripts/texture_ceiling.py --data data/synth64_fresh --n 200 \
        --out benchmarks/results/texture_ceiling_fresh200.json
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import json
from pathlib import Path

import numpy as np
import torch

from intergan.evaluation.metrics import mean_psnr, psnr

# the lattices that draw each kind of texture (synthfaces/scene.py, head.py, features.py)
SETS = {
    "fine grain (background, shirt, skin pores, brows)": ("grid_fine",),
    "hair strands": ("grid_hair", "line_hair"),
    "fine grain + hair strands": ("grid_fine", "grid_hair", "line_hair"),
    "every noise lattice (+ background pattern, skin blotches)": (
        "grid_fine",
        "grid_hair",
        "line_hair",
        "grid_bg",
        "grid_skin",
    ),
}


@contextlib.contextmanager
def flat_lattices(names: tuple[str, ...]):
    """Renders inside the block use flat (0.5) lattices for ``names``."""
    scene = importlib.import_module("intergan.data.synthfaces.scene")
    original = scene.Ctx.__init__

    def init(self, ident, size):
        original(self, ident, size)
        for name in names:
            setattr(self, name, np.full_like(getattr(self, name), 0.5))

    scene.Ctx.__init__ = init
    try:
        yield
    finally:
        scene.Ctx.__init__ = original


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--data", required=True, help="a SynthFaces export (intergan synth)")
    ap.add_argument("--n", type=int, default=200)
    ap.add_argument("--out", type=Path)
    args = ap.parse_args()
    render = importlib.import_module("intergan.data.synthfaces.render").render
    index = Path(args.data) / "identities.jsonl"
    if not index.is_file():
        raise SystemExit(f"{index} not found: --data must be a folder `intergan synth` wrote")
    rows = [json.loads(line) for line in index.read_text().splitlines()[: args.n]]
    size = json.loads((Path(args.data) / "synthfaces.json").read_text())["size"]

    def batch() -> torch.Tensor:
        imgs = [render(r["identity"], r["attrs"], size) for r in rows]
        return torch.from_numpy(np.stack(imgs)).permute(0, 3, 1, 2).float()

    original = batch()
    results = {}
    for label, names in SETS.items():
        with flat_lattices(names):
            flat = batch()
        per_image = psnr(flat, original, 255.0)
        pooled = 10 * torch.log10(255.0**2 / ((flat - original) ** 2).mean()).item()
        results[label] = {
            "lattices": list(names),
            "psnr": round(mean_psnr(per_image), 2),  # as `intergan evaluate` averages
            "unchanged_images": int(torch.isinf(per_image).sum()),
            "psnr_of_pooled_mse": round(pooled, 2),
        }
        r = results[label]
        print(f"{label:60s} {r['psnr']:6.2f} dB per image ({r['unchanged_images']} unchanged), "
              f"{r['psnr_of_pooled_mse']:6.2f} dB pooled")  # fmt: skip
    if args.out:
        meta = {"data": args.data, "n": len(rows), "size": size, "command": " ".join(
            ["PYTHONPATH=src python scripts/texture_ceiling.py", "--data", args.data,
             "--n", str(args.n), "--out", str(args.out)])}  # fmt: skip
        args.out.write_text(json.dumps({**meta, "results": results}, indent=1) + "\n")
        print(f"saved {args.out}")


if __name__ == "__main__":
    main()
