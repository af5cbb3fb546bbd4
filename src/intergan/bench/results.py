"""``docs/results.md`` and ``docs/images/ablation.png`` from the ablation's reports."""

from __future__ import annotations

import datetime
import os
import platform
from pathlib import Path
from typing import Any

import torch

from intergan.bench.figure import compose, edit_row, save_png, truth_row
from intergan.evaluation.common import open_dataset
from intergan.evaluation.ground_truth import open_ground_truth
from intergan.evaluation.report import db, num, pct
from intergan.files import atomic_write, guard, write_json
from intergan.training.loop import decay_step

NAMES = {
    "intergan": "InterGAN",
    "no_cti": "InterGAN w/o CTI",
    "no_hfcm": "InterGAN w/o HFCM",
    "attgan": "AttGAN",
}


def write_figure(opts, device) -> Path:
    """Edit the first ``figure_n`` test images with every variant; save the grid."""
    from intergan.models.io import load_generator

    rows: dict[str, torch.Tensor] = {}
    cfg = opts.config(opts.variants[0])
    m = cfg.model
    dataset = open_dataset(opts.data, m.attrs, "test", m.img_size)
    k = min(opts.figure_n, len(dataset))
    images = torch.stack([dataset[i][0] for i in range(k)])
    labels = torch.stack([dataset[i][1] for i in range(k)])
    gt, _ = open_ground_truth(opts.data, "test", m.attrs, m.img_size, dataset)
    if gt is not None:
        rows["ground truth"] = truth_row(gt, list(range(k)), images, labels)
    for variant in opts.variants:
        G, vcfg = load_generator(Path(opts.out) / variant, device=device)
        rows[NAMES.get(variant, variant)] = edit_row(G, vcfg, images, labels, device).cpu()
    return save_png(compose(rows, m.attrs), Path(opts.docs) / "images" / "ablation.png")


def machine(device: torch.device) -> str:
    """One line: OS, CPU count, torch version, and the GPU when one was used."""
    parts = [platform.platform(), f"{os.cpu_count()} CPU threads", f"torch {torch.__version__}"]
    if device.type == "cuda":
        parts.append(f"GPU {torch.cuda.get_device_name(device)}")
    return ", ".join(parts)


def _best(values: list[float | None], higher: bool) -> float | None:
    ok = [v for v in values if v is not None]
    return (max(ok) if higher else min(ok)) if ok else None


def _table(header: list[str], rows: list[tuple[str, list[float | None]]], fmts, higher) -> str:
    """Markdown table; the best value of each column in bold (higher or lower is better)."""
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    best = []
    for c in range(len(header) - 1):
        column = [fmts[c](r[1][c]) for r in rows]
        tied = len(set(column)) == 1  # all equal as printed: nothing to point out
        best.append(None if tied else _best([r[1][c] for r in rows], higher[c]))
    for name, values in rows:
        cells = []
        for c, v in enumerate(values):
            text = fmts[c](v)
            cells.append(f"**{text}**" if v is not None and v == best[c] else text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy_table(results: dict[str, dict[str, Any]], attrs: list[str]) -> str:
    """Paper layout: one row per method, one column per attribute, then the mean."""
    rows = [
        (
            NAMES.get(v, v),
            [r["editing_accuracy"][a] for a in attrs] + [r["editing_accuracy_mean"]],
        )
        for v, r in results.items()
    ]
    header = ["method"] + [a.replace("_", " ") for a in attrs] + ["mean"]
    n = len(attrs) + 1
    return _table(header, rows, [pct] * n, [True] * n)


def quality_table(results: dict[str, dict[str, Any]]) -> str:
    """Mean accuracy, preservation, pairs, reconstruction, ground truth, Frechet distance."""
    label = next(iter(results.values()))["frechet"]["label"]
    header = ["method", "editing acc.", "preservation", "pairs acc.", "rec. PSNR", "rec. SSIM",
              "GT PSNR", "GT SSIM", "GT PSNR outside", "GT SSIM outside", label]  # fmt: skip
    rows = []
    for v, r in results.items():
        gt = r.get("ground_truth") or {}
        rows.append(
            (
                NAMES.get(v, v),
                [r["editing_accuracy_mean"], r["preservation_mean"], r["multi_attribute_accuracy"],
                 r["reconstruction"]["psnr"], r["reconstruction"]["ssim"], gt.get("psnr"),
                 gt.get("ssim"), gt.get("psnr_outside"), gt.get("ssim_outside"),
                 r["frechet"]["value"]],
            )
        )  # fmt: skip
    fmts = [pct, pct, pct, db, num, db, num, db, num, lambda v: num(v, 3)]
    higher = [True] * 9 + [False]
    return _table(header, rows, fmts, higher)


def _minutes(seconds: float | None) -> str:
    if seconds is None:
        return "n/a"
    if seconds < 90:
        return f"{seconds:.0f} s"
    return f"{seconds / 60:.1f} min" if seconds < 5400 else f"{seconds / 3600:.2f} h"


def _d_steps(train) -> str:
    if train.n_d_warmup:
        return f"1 D step per G step for {train.n_d_warmup} steps, then {train.n_d}"
    return f"{train.n_d} D steps per G step"


def _overrides(opts) -> str:
    return ", ".join(f"`{o}`" for o in opts.overrides) or "none"


def write_results(opts, results, state, judge, judge_dir, figure: Path, device) -> Path:
    """Write ``DOCS/results.md`` (and the raw numbers as ``OUT/results.json``)."""
    cfg = opts.config(opts.variants[0])
    first = next(iter(results.values()))
    acc = judge.info.get("accuracy", {})
    judge_acc = f"{pct(acc['mean'])} mean on {acc.get('n')} test images" if acc else "not recorded"
    train = cfg.train
    times = "\n".join(
        f"| {NAMES.get(v, v)} | {_minutes(state['variants'].get(v, {}).get('train_seconds'))} "
        f"| {_minutes(state['variants'].get(v, {}).get('eval_seconds'))} |"
        for v in results
    )
    fig_rel = os.path.relpath(figure, opts.docs)
    text = f"""# Ablation: InterGAN vs w/o CTI vs w/o HFCM vs AttGAN

Generated by `intergan bench ablation` on {datetime.date.today().isoformat()}.

- command: `{opts.command or "intergan bench ablation"}`
- machine: {machine(device)}
- data: `{opts.data}`, {cfg.model.img_size} px, attributes {", ".join(cfg.model.attrs)}
- training (identical for every method but the generator): preset `{cfg.model.preset}`,
  {train.steps} generator steps, batch {train.batch_size}, {_d_steps(train)},
  lr {train.lr} (/10 from step {decay_step(train)}), adversarial mode {train.mode},
  EMA {train.ema or "off"}, seed {train.seed}; overrides: {_overrides(opts)}
- evaluation: {first["n_images"]} test images, test_int {first["settings"]["test_int"]},
  one judge for all (`{judge_dir}`, {judge_acc}); protocol in `docs/evaluation.md`

## Editing accuracy per attribute (judge)

{accuracy_table(results, cfg.model.attrs)}

## Preservation, reconstruction, ground-truth fidelity, Frechet distance

{quality_table(results)}

Best value per column in bold (none where all are equal). GT = against the
exact SynthFaces re-render with the target attributes; "outside" = outside the
edited attributes' regions.

## Picture

![same inputs edited by each model]({fig_rel})

For each input: the ground truth (SynthFaces only), then one row per model.
Columns: input, reconstruction, then each attribute flipped.

## Time

| method | training | evaluation |
| --- | ---: | ---: |
{times}
"""
    path = Path(opts.docs) / "results.md"
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    write_json(Path(opts.out) / "results.json", {"results": results, "state": state})
    return path
