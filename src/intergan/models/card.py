"""The model card of an exported folder: ``README.md`` with the Hub's metadata header.

Every export gets one (``models.export.save_exported`` writes it beside
``config.json``), so a folder uploads to the Hugging Face Hub as is
(``hf upload org/name FOLDER``) and shows there what it is: the YAML header the Hub
reads (``license``, ``library_name: intergan``, ``pipeline_tag: image-to-image``,
``tags``, ``datasets`` when given), then the attributes, how to load it, how it was
trained (steps, batch, data, preset) and, when ``intergan evaluate`` has measured
that same checkpoint, its figures (``evaluation_figures`` finds them).
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from intergan.config import Config

CARD_FILE = "README.md"
TAGS = ("intergan", "gan", "facial-attribute-editing", "image-editing", "pytorch", "safetensors")
# weights trained on the package's own synthetic faces carry the package's license;
# others inherit their data's terms (CelebA: non-commercial research), which we cannot tell
SYNTH_LICENSE, OTHER_LICENSE = "mit", "unknown"
# config.VARIANTS as titles (the ablations are InterGAN without a part)
NAMES = {
    "intergan": "InterGAN",
    "no_hfcm": "InterGAN without HFCM",
    "no_cti": "InterGAN without CTI",
    "attgan": "AttGAN",
}


def _yaml(meta: dict[str, Any]) -> str:
    """A flat YAML mapping of strings and string lists (JSON strings are YAML scalars)."""
    lines = ["---"]
    for key, value in meta.items():
        if isinstance(value, (list, tuple)):
            lines += [f"{key}:"] + [f"- {json.dumps(v)}" for v in value]
        else:
            lines.append(f"{key}: {json.dumps(value)}")
    return "\n".join(lines + ["---", ""])


def _pct(v: Any) -> str:
    return "n/a" if v is None else f"{100 * v:.1f}%"


def _training_rows(training: dict[str, Any] | None) -> list[str]:
    if not training:
        return ["The export records no training details."]
    rows = [
        ("steps", f"{training.get('steps')} of {training.get('planned_steps')} planned"),
        ("batch size", training.get("batch_size")),
        ("data", training.get("data")),
        ("SynthFaces only", training.get("synthfaces")),
        ("preset / variant", f"{training.get('preset')} / {training.get('variant')}"),
        ("image size", training.get("img_size")),
        ("note", training.get("note")),
    ]
    return ["| | |", "| --- | --- |"] + [f"| {k} | {v} |" for k, v in rows if v is not None]


def _evaluation_rows(metrics: dict[str, Any] | None) -> list[str]:
    if not metrics:
        return ["Not evaluated yet: `intergan evaluate --model FOLDER --data DATA --judge JUDGE`."]
    src, rec, fd = (
        metrics.get("source", {}),
        metrics.get("reconstruction", {}),
        metrics.get("frechet", {}),
    )
    psnr = rec.get("psnr")
    rows = [
        ("images", f"{metrics.get('n_images')} ({src.get('data')}, split {src.get('split')})"),
        ("editing accuracy (mean)", _pct(metrics.get("editing_accuracy_mean"))),
        ("preservation (mean)", _pct(metrics.get("preservation_mean"))),
        ("multi-attribute accuracy", _pct(metrics.get("multi_attribute_accuracy"))),
        ("reconstruction PSNR", "n/a" if psnr is None else f"{psnr:.2f} dB"),
        (fd.get("label", "FD"), "n/a" if fd.get("value") is None else f"{fd['value']:.3f}"),
    ]
    head = [f"`intergan evaluate` at step {src.get('steps')}, judge {src.get('judge')}:", ""]
    return head + ["| metric | value |", "| --- | ---: |"] + [f"| {k} | {v} |" for k, v in rows]


def model_card(
    cfg: Config,
    training: dict[str, Any] | None,
    metrics: dict[str, Any] | None = None,
    license: str | None = None,
    datasets: tuple[str, ...] = (),
) -> str:
    """The card's text. ``training``: ``models.export.training_record``; ``metrics``:
    an ``intergan evaluate`` result (``metrics.json``); ``license``: a Hub license id
    (default: ``mit`` for SynthFaces-only weights, else ``unknown``); ``datasets``: Hub
    dataset ids for the header."""
    m = cfg.model
    synth = bool(training and training.get("synthfaces"))
    meta: dict[str, Any] = {
        "license": license or (SYNTH_LICENSE if synth else OTHER_LICENSE),
        "library_name": "intergan",
        "pipeline_tag": "image-to-image",
        "tags": list(TAGS),
    }
    if datasets:
        meta["datasets"] = list(datasets)
    body = [
        f"# {NAMES.get(m.variant, m.variant)}, preset {m.preset}, {m.img_size} px",
        "",
        f"A facial attribute editor (`intergan`) for {m.img_size}x{m.img_size} aligned face "
        f"crops; it edits {len(m.attrs)} attributes: {', '.join(f'`{a}`' for a in m.attrs)}.",
        "",
        "## Use",
        "",
        "```",
        "pip install 'intergan[hub]'",
        f"intergan edit photo.jpg --model ORG/NAME --set {m.attrs[0]}=1 --out edited/",
        "```",
        "",
        'or in Python: `Editor.from_pretrained("ORG/NAME")` (`from intergan.editing.editor '
        "import Editor`). ORG/NAME is this repository's id; a local copy of the folder works "
        "the same way.",
        "",
        "## Training",
        "",
        *_training_rows(training),
        "",
        "## Evaluation",
        "",
        *_evaluation_rows(metrics),
        "",
    ]
    if synth:
        body += ["Trained on synthetic faces only: edits of real photos are rough.", ""]
    return _yaml(meta) + "\n" + "\n".join(body)


def evaluation_figures(run: str | os.PathLike, steps: int | None) -> dict[str, Any] | None:
    """The newest ``metrics.json`` that ``intergan evaluate`` wrote into ``run``'s own
    ``eval_*`` folders (its default output) for the same checkpoint (``source.steps``
    equal to ``steps``); None when there is none."""
    if steps is None:
        return None
    base = Path(run) if Path(run).is_dir() else Path(run).parent
    found = []
    for path in base.glob("eval_*/metrics.json"):
        try:
            result = json.loads(path.read_text())
        except (OSError, ValueError):
            continue
        if isinstance(result, dict) and result.get("source", {}).get("steps") == steps:
            found.append((path.stat().st_mtime, path, result))
    return max(found, key=lambda t: t[0])[2] if found else None
