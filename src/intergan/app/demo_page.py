"""The demo's HTML page and pictures: ``report.html``, ``overview.png`` and per-edit PNGs.

``overview.png`` (one picture with labels, for the README) shows each identity's
input, reconstruction and every single-attribute edit, with the exact ground
truth under each edit. The page shows the same at higher zoom plus the
multi-attribute edits, the intensity sweeps and the measured numbers. The demo
(``intergan.app.demo``) hands each identity's pictures over as an ``IdentityResult``.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from intergan.app.report import Cell, image_grid, metrics_table, save_png, write_html

SHORT = {"Mouth_Slightly_Open": "Mouth open", "Bushy_Eyebrows": "Bushy brows"}


@dataclass
class IdentityResult:
    """Everything the demo made for one identity; images are (S, S, 3) uint8."""

    index: int
    source: dict[str, int]
    image: np.ndarray
    recon: np.ndarray
    edits: dict[str, np.ndarray]
    truths: dict[str, np.ndarray]
    multi_changes: dict[str, float]
    multi: np.ndarray
    multi_truth: np.ndarray
    slide: list[np.ndarray]
    slide_truth: tuple[np.ndarray, np.ndarray]  # the swept attribute off, on
    metrics: dict[str, dict[str, float]] = field(default_factory=dict)


def short(attr: str) -> str:
    """A column label: the attribute name, shortened where it is long."""
    return SHORT.get(attr, attr.replace("_", " "))


def overview_png(results: list[IdentityResult], path: Path, scale: int = 2) -> Path:
    """One labelled picture: per identity a model row and a ground-truth row."""
    attrs = list(results[0].edits)
    s = results[0].image.shape[0] * scale
    pad, label_w, head = 2, 64, 24
    cols = ["input", "recon.", *(short(a) for a in attrs)]
    w = label_w + len(cols) * (s + pad)
    h = head + len(results) * 2 * (s + pad) + len(results) * 6
    canvas = Image.new("RGB", (w, h), "white")
    draw = ImageDraw.Draw(canvas)
    font = ImageFont.load_default(size=max(10, min(16, s // 8)))
    for c, name in enumerate(cols):
        x = label_w + c * (s + pad) + s // 2
        draw.text((x, head // 2), name, fill=(40, 40, 40), font=font, anchor="mm")
    y = head
    for r in results:
        rows = [
            ("model", [r.image, r.recon, *(r.edits[a] for a in attrs)]),
            ("truth", [None, r.image, *(r.truths[a] for a in attrs)]),
        ]
        for label, images in rows:
            draw.text((label_w - 6, y + s // 2), label, fill=(90, 90, 90), font=font, anchor="rm")
            for c, img in enumerate(images):
                if img is not None:
                    tile = Image.fromarray(img).resize((s, s), Image.NEAREST)
                    canvas.paste(tile, (label_w + c * (s + pad), y))
            y += s + pad
        y += 6
    canvas.save(path)
    return path


def training_text(record: dict | None) -> str:
    """One sentence on how the model was trained, from its export record
    (``intergan export`` writes it), or a plain statement that it is not known."""
    if not record or not any(record.get(k) for k in ("steps", "note")):
        return "Training details not recorded."
    parts = []
    if record.get("steps") is not None:
        planned = record.get("planned_steps")
        of = f" of {planned} planned" if planned and planned != record["steps"] else ""
        batch = f", batch {record['batch_size']}" if record.get("batch_size") else ""
        parts.append(f"{record['steps']} steps{of}{batch}")
    if record.get("data"):
        parts.append(f"on {record['data']}")
    if record.get("preset") and record.get("img_size"):
        parts.append(f"({record['preset']} preset, {record['img_size']} px)")
    text = "Trained for " + " ".join(parts) + "." if parts else ""
    note = str(record.get("note") or "").strip()
    return " ".join(t for t in (text, note) if t)


def _cell(out: Path, rel: str, image: np.ndarray, caption: str = "") -> Cell:
    save_png(image, out / rel)
    return Cell(rel, caption)


def _flip_grid(out: Path, r: IdentityResult) -> str:
    attrs = list(r.edits)
    k = r.index
    model = [_cell(out, f"img/{k}_input.png", r.image),
             _cell(out, f"img/{k}_recon.png", r.recon,
                   f"{r.metrics['reconstruction']['psnr']:.1f} dB")]  # fmt: skip
    truth = [None, None]
    for a in attrs:
        model.append(_cell(out, f"img/{k}_{a}.png", r.edits[a], f"{r.metrics[a]['psnr']:.1f} dB"))
        truth.append(_cell(out, f"img/{k}_{a}_truth.png", r.truths[a]))
    cols = ["input", "recon.", *(f"{short(a)} {'→ off' if r.source[a] else '→ on'}"
                                          for a in attrs)]  # fmt: skip
    return image_grid([("model", model), ("ground truth", truth)], cols, display_px=72)


def _multi_and_slide(out: Path, r: IdentityResult, slide_attr: str, values) -> str:
    k = r.index
    changes = ", ".join(
        f"{short(a)} {'off' if v < 0 else 'on'}" for a, v in r.multi_changes.items()
    )
    m = r.metrics["multi"]
    multi = image_grid(
        [("", [_cell(out, f"img/{k}_input.png", r.image),
               _cell(out, f"img/{k}_multi.png", r.multi, f"{m['psnr']:.1f} dB"),
               _cell(out, f"img/{k}_multi_truth.png", r.multi_truth)])],
        ["input", f"model: {changes}", "ground truth"], display_px=112,
    )  # fmt: skip
    frames = [_cell(out, f"img/{k}_slide_{j}.png", f) for j, f in enumerate(r.slide)]
    truth = [None] * len(values)
    truth[list(values).index(-1.0)] = _cell(out, f"img/{k}_slide_off.png", r.slide_truth[0])
    truth[list(values).index(1.0)] = _cell(out, f"img/{k}_slide_on.png", r.slide_truth[1])
    slide = image_grid(
        [("model", frames), ("ground truth", truth)],
        [f"{short(slide_attr)} {v:+.1f}" for v in values], display_px=80,
    )  # fmt: skip
    return f"<div style='display:flex;gap:32px;flex-wrap:wrap'>{multi}{slide}</div>"


def _summary(summary: dict) -> str:
    rows = [
        [short(k), v["psnr"], v.get("psnr_outside"), v["ssim"]]
        for k, v in summary.items()
        if k not in ("reconstruction", "multi")
    ]
    rec, multi = summary["reconstruction"], summary["multi"]
    rows.append(["reconstruction (vs input)", rec["psnr"], None, rec["ssim"]])
    rows.append(["multi-attribute edit", multi["psnr"], None, multi["ssim"]])
    header = ["edit (vs exact ground truth)", "PSNR dB", "PSNR outside region dB", "SSIM"]
    return metrics_table(header, rows)


def write_page(
    out: Path,
    info: dict,
    results: list[IdentityResult],
    summary: dict,
    slide_attr: str,
    slide_values: Sequence[float],
) -> Path:
    """Write every picture and ``report.html`` into ``out``; returns the page's path.

    ``slide_attr`` / ``slide_values``: the attribute and intensities of the sweep.
    """
    overview_png(results, out / "overview.png")
    e = html.escape
    parts = [
        "<h1>InterGAN demo: editing SynthFaces with ground truth</h1>",
        f"<p class='meta'>model <b>{e(info['model'])}</b> ({e(info['variant'])}, "
        f"{e(info['preset'])} preset, {info['img_size']} px, {len(info['attrs'])} attributes)"
        f" &middot; {info['identities']} identities, seed {info['seed']} &middot; "
        f"made in {info['seconds']} s</p>",
        f"<p class='meta'>{e(training_text(info.get('training')))}</p>",
        "<p class='note'>SynthFaces renders every face from an identity and its attributes, "
        "so each edit has an exact target: the same identity rendered with the edited "
        "attributes. Below, per identity: the input, the model's reconstruction and one edit "
        "per attribute (each attribute flipped), with the exact ground truth under each "
        "edit.</p>",
        "<p><img src='overview.png' alt='every attribute flipped, model and ground truth' "
        "style='max-width:100%'></p>",
        "<h2>Measured on these samples</h2>",
        "<p class='note'>Means over the identities: PSNR and SSIM of each edit against its "
        "ground truth, over the whole image and outside the pixels the edited attribute can "
        "change; reconstruction compares the model's output for an unchanged target with "
        "the input. Per-image numbers: <a href='metrics.json'>metrics.json</a>.</p>",
        _summary(summary),
        "<h2>Each identity in detail</h2>",
        "<p class='note'>The caption under an edit is its PSNR against the ground truth "
        "below it. Then several attributes at once, and an intensity sweep (±1 is the "
        "paper's test edit; beyond extrapolates).</p>",
    ]
    for r in results:
        parts.append(f"<details{' open' if r.index == 0 else ''}>")
        parts.append(f"<summary>Identity {r.index + 1}</summary>")
        parts.append(_flip_grid(out, r))
        parts.append(_multi_and_slide(out, r, slide_attr, slide_values))
        parts.append("</details>")
    return write_html(out / "report.html", "InterGAN demo", "\n".join(parts))
