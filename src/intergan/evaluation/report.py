"""Writing evaluation results: ``metrics.json`` and ``metrics.md`` (markdown tables),
and with ``--tensorboard RUN`` the figures in the run's TensorBoard."""

from __future__ import annotations

import json
import math
import os
from pathlib import Path
from typing import Any

from intergan import tensorboard
from intergan.errors import UserError
from intergan.files import atomic_write, guard, write_json


def _missing(v: float | None) -> bool:
    return v is None or (isinstance(v, float) and math.isnan(v))


def pct(v: float | None) -> str:
    return "n/a" if _missing(v) else f"{100 * v:.1f}%"


def db(v: float | None) -> str:
    return "n/a" if _missing(v) else f"{v:.2f} dB"


def num(v: float | None, digits: int = 4) -> str:
    return "n/a" if _missing(v) else f"{v:.{digits}f}"


def pct_se(v: float | None, se: float | None) -> str:
    """``90.2% ± 0.6`` (the standard error in percentage points); no ``±`` without one."""
    return pct(v) if _missing(v) or _missing(se) else f"{pct(v)} ± {100 * se:.1f}"


def db_se(v: float | None, se: float | None) -> str:
    return db(v) if _missing(v) or _missing(se) else f"{v:.2f} ± {se:.2f} dB"


def num_se(v: float | None, se: float | None, digits: int = 4) -> str:
    return num(v, digits) if _missing(v) or _missing(se) else f"{v:.{digits}f} ± {se:.{digits}f}"


def standard_errors(r: dict[str, Any]) -> dict[str, Any]:
    """``r["standard_errors"]`` with every key the summary has (``None`` where absent:
    reports written before standard errors were recorded)."""
    se = dict(r.get("standard_errors") or {})
    for key in ("editing_accuracy", "preservation", "reconstruction"):
        se[key] = se.get(key) or {}
    se["ground_truth"] = se.get("ground_truth") or {"per_attr": {}}
    return se


def attribute_table(r: dict[str, Any]) -> str:
    """One row per attribute plus a mean row: accuracy, preservation, ground truth."""
    gt = r.get("ground_truth")
    head = "| attribute | editing accuracy | preservation | judge on real |"
    rule = "| --- | ---: | ---: | ---: |"
    if gt:
        head += " GT PSNR | GT SSIM | GT PSNR outside | GT SSIM outside |"
        rule += " ---: | ---: | ---: | ---: |"
    lines = [head, rule]
    for a in r["attrs"]:
        row = (
            f"| {a} | {pct(r['editing_accuracy'][a])} | {pct(r['preservation'][a])} "
            f"| {pct(r['judge_accuracy_real'][a])} |"
        )
        if gt:
            g = gt["per_attr"][a]
            row += (
                f" {db(g['psnr'])} | {num(g['ssim'])} | {db(g['psnr_outside'])} "
                f"| {num(g['ssim_outside'])} |"
            )
        lines.append(row)
    se = standard_errors(r)
    g_se = se["ground_truth"]
    mean = (
        f"| **mean** | **{pct_se(r['editing_accuracy_mean'], se.get('editing_accuracy_mean'))}** "
        f"| **{pct_se(r['preservation_mean'], se.get('preservation_mean'))}** "
        f"| {pct(r['judge_accuracy_real_mean'])} |"
    )
    if gt:
        mean += (
            f" **{db_se(gt['psnr'], g_se.get('psnr'))}** "
            f"| **{num_se(gt['ssim'], g_se.get('ssim'))}** "
            f"| **{db_se(gt['psnr_outside'], g_se.get('psnr_outside'))}** "
            f"| **{num_se(gt['ssim_outside'], g_se.get('ssim_outside'))}** |"
        )
    lines.append(mean)
    return "\n".join(lines)


def summary_table(r: dict[str, Any]) -> str:
    """The image-level metrics: pairs, reconstruction, Frechet distance."""
    fd, se = r["frechet"], standard_errors(r)
    rec, rec_se = r["reconstruction"], se["reconstruction"]
    multi = pct_se(r["multi_attribute_accuracy"], se.get("multi_attribute_accuracy"))
    rows = [
        ("multi-attribute accuracy (random pairs, both right)", multi),
        ("reconstruction PSNR", db_se(rec["psnr"], rec_se.get("psnr"))),
        ("reconstruction SSIM", num_se(rec["ssim"], rec_se.get("ssim"))),
        (f"{fd['label']} (edited vs real)", num(fd["value"], 3)),
    ]
    gt = r.get("ground_truth")
    if gt:
        rows.append(("ground-truth render of the source vs data", db(gt["source_render_psnr"])))
    lines = ["| metric | value |", "| --- | ---: |"]
    lines += [f"| {k} | {v} |" for k, v in rows]
    return "\n".join(lines)


def kept_table(r: dict[str, Any]) -> str:
    """Preservation by the attribute kept, split by its value in the real image; empty
    for reports written before it was recorded."""
    held = r.get("preservation_by_attribute")
    if not held:
        return ""
    se = standard_errors(r).get("preservation_by_attribute") or {}
    lines = [
        "Each attribute while the others are edited, by the judge's decision on the real "
        "image (a bald head that stays bald counts under Bald, on):",
        "",
        "| attribute kept | kept when on | images on | kept when off | images off |",
        "| --- | ---: | ---: | ---: | ---: |",
    ]
    for a in r["attrs"]:
        h, e = held[a], se.get(a, {})
        lines.append(
            f"| {a} | {pct_se(h['on'], e.get('on'))} | {h['images_on']} "
            f"| {pct_se(h['off'], e.get('off'))} | {h['images_off']} |"
        )
    return "\n".join(lines) + "\n"


def markdown(r: dict[str, Any]) -> str:
    """The whole report as markdown."""
    s = r.get("settings", {})
    src = r.get("source", {})
    head = [
        f"# Evaluation of {src.get('model', 'a generator')}",
        "",
        f"- data: {src.get('data', '?')} (split {src.get('split', '?')}, {r['n_images']} images)",
        f"- judge: {src.get('judge', '?')}",
        f"- test_int {s.get('test_int')}, high accuracy {'on' if s.get('high_accuracy') else 'off'}"
        f", seed {s.get('seed')}, device {r.get('device')}, {r.get('seconds')} s",
    ]
    if r.get("ground_truth") is None and src.get("ground_truth_note"):
        head.append(f"- ground truth: skipped ({src['ground_truth_note']})")
    body = ["", attribute_table(r), "", summary_table(r), ""]
    if kept_table(r):
        body += [kept_table(r)]
    if r.get("standard_errors"):
        body += [
            "`±` is one standard error over the test images (the image is the unit; "
            "`docs/evaluation.md`). It does not include the spread between training runs.",
            "",
        ]
    return "\n".join(head + body)


REPORT_FILES = ("metrics.json", "metrics.md")


def check_report_out(out: str | os.PathLike) -> None:
    """Refuse an ``out`` holding a metrics.json or metrics.md that is not an earlier
    report (a report replaces only a report): call before the evaluation."""
    out = Path(out)
    taken = [name for name in REPORT_FILES if (out / name).exists()]
    if not taken:
        return
    try:
        earlier = json.loads((out / "metrics.json").read_text())
    except (OSError, ValueError):
        earlier = None
    if not (isinstance(earlier, dict) and "settings" in earlier and "n_images" in earlier):
        raise UserError(
            f"--out {out} holds {' and '.join(taken)} that is not an earlier evaluation "
            "report; the report would replace it: choose another --out folder"
        )


def write_report(result: dict[str, Any], out: str | os.PathLike) -> tuple[Path, Path]:
    """Write ``metrics.json`` and ``metrics.md`` into folder ``out``; returns both paths."""
    out = Path(out)
    with guard(out, "create the folder"):
        out.mkdir(parents=True, exist_ok=True)
    json_path, md_path = out / "metrics.json", out / "metrics.md"
    write_json(json_path, _json_safe(result))
    atomic_write(md_path, markdown(result))
    return json_path, md_path


def tensorboard_scalars(r: dict[str, Any]) -> dict[str, float]:
    """The figures TensorBoard gets, as ``eval/SPLIT/NAME -> value`` (missing ones left
    out): the means, reconstruction PSNR/SSIM, the Frechet distance, per-attribute
    editing accuracy and preservation."""
    split = r.get("source", {}).get("split", "test")
    rec, fd = r.get("reconstruction") or {}, r.get("frechet") or {}
    values = {
        "editing_accuracy_mean": r.get("editing_accuracy_mean"),
        "preservation_mean": r.get("preservation_mean"),
        "multi_attribute_accuracy": r.get("multi_attribute_accuracy"),
        "reconstruction_psnr": rec.get("psnr"),
        "reconstruction_ssim": rec.get("ssim"),
        "frechet_distance": fd.get("value"),
    }
    for a in r.get("attrs", []):
        values[f"editing_accuracy/{a}"] = r["editing_accuracy"].get(a)
        values[f"preservation/{a}"] = r["preservation"].get(a)
    return {f"eval/{split}/{k}": float(v) for k, v in values.items() if not _missing(v)}


def log_tensorboard(r: dict[str, Any], run_dir: str | os.PathLike) -> Path | None:
    """Write the figures (:func:`tensorboard_scalars`) and the markdown report into
    ``RUN/tensorboard`` at the evaluated checkpoint's step; returns that folder, or
    None when the tensorboard package is missing."""
    writer = tensorboard.open_writer(run_dir)
    if writer is None:
        return None
    step = int(r.get("source", {}).get("steps") or 0)
    with writer:
        for tag, value in tensorboard_scalars(r).items():
            writer.add_scalar(tag, value, step)
        split = r.get("source", {}).get("split", "test")
        writer.add_text(f"eval/{split}/report", markdown(r), step)
    return Path(run_dir) / tensorboard.FOLDER


def _json_safe(value: Any) -> Any:
    """inf / nan -> None (JSON has neither); recurse into dicts and lists."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _json_safe(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_json_safe(v) for v in value]
    return value
