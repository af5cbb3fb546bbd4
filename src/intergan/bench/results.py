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
from intergan.evaluation.report import db_se, num_se, pct, pct_se, standard_errors
from intergan.files import atomic_write, guard, write_json
from intergan.training.schedule import decay_step

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


def _table(header: list[str], rows, fmts, higher) -> str:
    """Markdown table; the best value of each column in bold (higher or lower is better).

    rows: ``(name, values, standard errors)`` (an error may be ``None``); fmts: one
    ``format(value, se)`` per column.
    """
    lines = ["| " + " | ".join(header) + " |", "| --- |" + " ---: |" * (len(header) - 1)]
    best = []
    for c in range(len(header) - 1):
        column = [fmts[c](r[1][c], None) for r in rows]
        tied = len(set(column)) == 1  # all equal as printed: nothing to point out
        best.append(None if tied else _best([r[1][c] for r in rows], higher[c]))
    for name, values, ses in rows:
        cells = []
        for c, v in enumerate(values):
            text = fmts[c](v, ses[c])
            cells.append(f"**{text}**" if v is not None and v == best[c] else text)
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def accuracy_table(results: dict[str, dict[str, Any]], attrs: list[str]) -> str:
    """Paper layout: one row per method, one column per attribute, then the mean."""
    rows = [
        (
            NAMES.get(v, v),
            [r["editing_accuracy"][a] for a in attrs] + [r["editing_accuracy_mean"]],
            [None] * (len(attrs) + 1),  # one standard-error sentence below the table instead
        )
        for v, r in results.items()
    ]
    header = ["method"] + [a.replace("_", " ") for a in attrs] + ["mean"]
    n = len(attrs) + 1
    return _table(header, rows, [lambda v, se: pct(v)] * n, [True] * n)


def accuracy_se_note(results: dict[str, dict[str, Any]]) -> str:
    """One sentence: the largest per-attribute and the mean's standard error."""
    per_attr, means = [], []
    for r in results.values():
        se = standard_errors(r)
        per_attr += [v for v in se["editing_accuracy"].values() if v is not None]
        if se.get("editing_accuracy_mean") is not None:
            means.append(se["editing_accuracy_mean"])
    if not per_attr:
        return "No standard errors were recorded for these reports."
    return (
        f"Standard error over the test images: at most {100 * max(per_attr):.1f} points for one "
        f"attribute, at most {100 * max(means):.1f} for the mean."
    )


def quality_table(results: dict[str, dict[str, Any]]) -> str:
    """Mean accuracy, preservation, pairs, reconstruction, ground truth, Frechet distance."""
    label = next(iter(results.values()))["frechet"]["label"]
    header = ["method", "editing acc.", "preservation", "pairs acc.", "rec. PSNR", "rec. SSIM",
              "GT PSNR", "GT SSIM", "GT PSNR outside", "GT SSIM outside", label]  # fmt: skip
    rows = []
    keys = ("psnr", "ssim", "psnr_outside", "ssim_outside")
    for v, r in results.items():
        gt, se = r.get("ground_truth") or {}, standard_errors(r)
        gt_se, rec, rec_se = se["ground_truth"], r["reconstruction"], se["reconstruction"]
        values = [r["editing_accuracy_mean"], r["preservation_mean"], r["multi_attribute_accuracy"],
                  rec["psnr"], rec["ssim"], *(gt.get(k) for k in keys),
                  r["frechet"]["value"]]  # fmt: skip
        ses = [se.get("editing_accuracy_mean"), se.get("preservation_mean"),
               se.get("multi_attribute_accuracy"), rec_se.get("psnr"), rec_se.get("ssim"),
               *(gt_se.get(k) for k in keys), None]  # fmt: skip
        rows.append((NAMES.get(v, v), values, ses))
    fmts = [pct_se, pct_se, pct_se, db_se, num_se, db_se, num_se, db_se, num_se,
            lambda v, se: num_se(v, se, 3)]  # fmt: skip
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


ANALYSIS_START = "<!-- analysis: kept when the table is regenerated -->"
ANALYSIS_END = "<!-- end of analysis -->"


def _analysis(path: Path) -> str:
    """The hand-written reading of the numbers in an existing ``results.md``, between
    the markers, so that regenerating the tables keeps it; a placeholder otherwise."""
    old = path.read_text() if path.is_file() else ""
    start, end = old.find(ANALYSIS_START), old.find(ANALYSIS_END)
    if start >= 0 and end > start:
        body = old[start : end + len(ANALYSIS_END)]
    else:
        body = (
            f"{ANALYSIS_START}\n(Not written yet: the reading of these numbers goes here and "
            f"is kept when the tables are regenerated.)\n{ANALYSIS_END}"
        )
    return f"\n## What the numbers show\n\n{body}\n"


def write_results(opts, results, state, judge, judge_dir, figure: Path, device) -> Path:
    """Write ``DOCS/results.md`` (and the raw numbers as ``OUT/results.json``)."""
    cfg = opts.config(opts.variants[0])
    first = next(iter(results.values()))
    acc = judge.info.get("accuracy", {})
    judge_acc = f"{pct(acc['mean'])} mean on {acc.get('n')} test images" if acc else "not recorded"
    train = cfg.train
    times = "\n".join(
        f"| {NAMES.get(v, v)} | {results[v].get('source', {}).get('step', 'n/a')} "
        f"| {_minutes(state['variants'].get(v, {}).get('train_seconds'))} "
        f"| {_minutes(results[v].get('seconds'))} |"  # the report's own evaluation time
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

{accuracy_se_note(results)}

## Preservation, reconstruction, ground-truth fidelity, Frechet distance

{quality_table(results)}

Best value per column in bold (none where all are equal). GT = against the
exact SynthFaces re-render with the target attributes; "outside" = outside the
edited attributes' regions. `±` is one standard error over the test images (the
image is the unit); it says how much a figure would move with other test images,
not how much it would move with another training seed. The Frechet distance has
none.
{_analysis(Path(opts.docs) / "results.md")}
## Picture

![same inputs edited by each model]({fig_rel})

For each input: the ground truth (SynthFaces only), then one row per model.
Columns: input, reconstruction, then each attribute flipped.

## Time

| method | generator steps | training | evaluation |
| --- | ---: | ---: | ---: |
{times}
"""
    path = Path(opts.docs) / "results.md"
    with guard(path.parent, "create the folder"):
        path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, text)
    summary = {
        v: {
            "generator_steps": r.get("source", {}).get("step"),
            "train_seconds": state["variants"].get(v, {}).get("train_seconds"),
            "eval_seconds": r.get("seconds"),
        }
        for v, r in results.items()
    }
    write_json(
        Path(opts.out) / "results.json", {"variants": summary, "results": results, "state": state}
    )
    return path
