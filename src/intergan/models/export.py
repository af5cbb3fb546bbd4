"""Inference export: ``generator.safetensors`` + ``config.json`` (+ ONNX, + judge).

An exported folder holds only tensors and JSON, so loading it never unpickles::

    OUT/config.json             # Config.to_dict() plus an "export" record (with "training":
                                # steps done and planned, batch size, data, preset, a note);
                                # an import also has "architecture" (models.import_attgan)
    OUT/generator.safetensors   # the generator's weights (EMA ones when the run kept them)
    OUT/generator.onnx          # with --onnx (images, target, source -> edited, reconstructed)
    OUT/generator_encode.onnx   # with --onnx: images -> code0[, code1, ...] (the encoder)
    OUT/generator_edit.onnx     # with --onnx: code0[, ...], target, source -> edited
    OUT/judge.json, OUT/judge.safetensors   # with --judge: the attribute classifier
    OUT/README.md               # the model card (Hub metadata header; models.card)

``intergan.models.io`` reads such a folder (``is_export``, ``load_exported``), and its
``load_generator`` accepts one like a run folder. The ONNX graphs are written by
``intergan.models.onnx_export``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch

from intergan.config import Config
from intergan.errors import UserError
from intergan.files import atomic_write, check_output_folder, output_folder, write_json
from intergan.models.card import CARD_FILE, evaluation_figures, model_card
from intergan.models.io import (
    ARCHITECTURE,
    CHECKPOINT_DIR,
    CONFIG_FILE,
    ONNX_FILE,
    WEIGHTS_FILE,
    checkpoint_step,
    export_folder,
    find_checkpoint,
    is_export,
    load_checkpoint,
    load_generator,
)
from intergan.models.judge import load_judge
from intergan.models.onnx_export import (  # noqa: F401 - ONNX_OPSETS: for this module's callers
    ONNX_OPSET,
    ONNX_OPSETS,
    check_opset,
    export_onnx,
    stage,
)
from intergan.models.pretrained import JUDGE_FILES, resolve_judge, resolve_model

EXPORT_VERSION = 1


def save_exported(
    G: torch.nn.Module,
    cfg: Config,
    out: str | os.PathLike,
    half: bool = False,
    *,
    card: dict[str, Any] | None = None,
    **record,
) -> Path:
    """Write ``generator.safetensors``, ``config.json`` and the model card ``README.md``
    into folder ``out``.

    ``half``: store floating-point tensors as float16 (half the size; loading casts
    them back into the float32 model). ``record`` goes to config.json's ``export``
    record (its ``training`` also to the card); ``card``: ``models.card.model_card``'s
    other arguments (``metrics``, ``license``, ``datasets``).
    """
    from safetensors.torch import save

    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    G = G.cpu().eval()
    state = G.state_dict()
    if half:
        state = {k: v.half() if v.is_floating_point() else v for k, v in state.items()}
    atomic_write(out / WEIGHTS_FILE, save({k: v.contiguous() for k, v in state.items()}))
    record["dtype"] = "float16" if half else "float32"
    # a generator not built from cfg.model (an import) says how to build it again
    arch = getattr(G, "architecture", None)
    write_json(
        out / CONFIG_FILE,
        {**cfg.to_dict(), **({ARCHITECTURE: arch} if arch else {}),
         "export": {"version": EXPORT_VERSION, **record}},
    )  # fmt: skip
    atomic_write(out / CARD_FILE, model_card(cfg, record.get("training"), **(card or {})))
    return out


def training_record(
    run: str | os.PathLike, cfg: Config | None = None, note: str | None = None
) -> dict | None:
    """How the model in ``run`` was trained, as plain data for an export's config.json.

    An exported folder: its own ``export.training`` record (None when it has none;
    ``note`` replaces its note). A run folder or checkpoint: steps done (from the
    checkpoint) and planned, batch size, data path, preset, variant, image size.
    """
    d = export_folder(run)
    if is_export(run):
        meta = json.loads((d / CONFIG_FILE).read_text()).get("export", {})
        record = meta.get("training") if isinstance(meta, dict) else None
        if note:
            record = {**(record or {}), "note": note}
        return record
    path = find_checkpoint(run)
    step = checkpoint_step(path)  # from the name: no second read of the file
    if cfg is None or step is None:
        ckpt = load_checkpoint(path)
        step, cfg = int(ckpt["step"]), Config.from_dict(ckpt["config"], saved=True)
    from intergan.data.synthfaces.export import is_synthfaces_data

    record = {
        "steps": step,
        "planned_steps": cfg.train.steps,
        "batch_size": cfg.train.batch_size,
        "data": cfg.data.path or None,
        # True: trained on SynthFaces only (editors then say so on real photos)
        "synthfaces": is_synthfaces_data(cfg.data.path) if cfg.data.path else None,
        "preset": cfg.model.preset,
        "variant": cfg.model.variant,
        "img_size": cfg.model.img_size,
    }
    return {**record, "note": note} if note else record


def trained_on_synthfaces(path: str | os.PathLike, cfg: Config | None = None) -> bool:
    """True when the model at ``path`` records that it saw SynthFaces only (``cfg``: as
    for :func:`read_training`)."""
    record = read_training(path, cfg)
    return bool(record and record.get("synthfaces"))


def synthetic_only(model: str | os.PathLike, cfg: Config | None = None) -> bool:
    """Whether the model a ``--model`` value names (a path, a bundled name or a Hub id)
    records SynthFaces as its only training data; False when that cannot be told.
    ``cfg``: the model's config when already loaded (a checkpoint is not read again)."""
    try:
        return trained_on_synthfaces(resolve_model(model), cfg)
    except UserError:
        return False


SYNTHETIC_NOTE = (
    "this model was trained on synthetic faces (SynthFaces) only, so its edits of a real "
    "photo are rough; for real faces import AttGAN-PyTorch's released CelebA weights "
    "(intergan import attgan-pytorch RUN; docs/editing.md) or train one on CelebA-HQ "
    "(docs/training.md)"
)


def read_training(path: str | os.PathLike, cfg: Config | None = None) -> dict | None:
    """``training_record`` of a model path, or None when it cannot be told; ``cfg``:
    the model's config when already loaded (a checkpoint is then not read again)."""
    try:
        return training_record(path, cfg)
    except (UserError, OSError, ValueError, KeyError):
        return None


def find_judge(path: str | os.PathLike) -> Path | None:
    """An exported folder's bundled judge, if it has one."""
    d = export_folder(path)
    return d if d.is_dir() and all((d / f).is_file() for f in JUDGE_FILES) else None


def check_judge(judge_dir: str | os.PathLike, attrs: list[str]) -> Path:
    """The folder of a judge that loads and predicts ``attrs`` (else a ``UserError``)."""
    judge = load_judge(judge_dir)  # validates the files
    missing = [a for a in attrs if a not in judge.attrs]
    if missing:
        raise UserError(
            f"--judge {judge_dir} does not predict {', '.join(missing)}, which the model edits; "
            "train a judge on the model's attributes"
        )
    src = resolve_judge(judge_dir)
    return src.parent if src.is_file() else src


def copy_judge(judge_dir: str | os.PathLike, out: str | os.PathLike, attrs: list[str]) -> None:
    """Copy a judge's two files into ``out`` after checking it predicts ``attrs``."""
    src = check_judge(judge_dir, attrs)
    for f in JUDGE_FILES:
        atomic_write(Path(out) / f, (src / f).read_bytes())


def check_export_out(run: str | os.PathLike, out: str | os.PathLike, overwrite: bool) -> None:
    """Refuse an ``--out`` that is the run itself, holds it, or is a training run folder
    (its loads would then find the export instead of the checkpoints), or that exists
    and is not empty without ``overwrite``."""
    src, dst = Path(run).resolve(), Path(out).resolve()
    src_dir = src if src.is_dir() else src.parent
    if dst == src_dir or dst in src_dir.parents:
        raise UserError(
            f"--out {out} is the folder being exported (or holds it); export into a new "
            f"folder, e.g. --out {Path(run) / 'export' if src.is_dir() else 'DIR'}"
        )
    if (dst / CHECKPOINT_DIR).is_dir():
        raise UserError(f"--out {out} is a training run folder; export into a new folder")
    check_output_folder(out, overwrite)


def export_run(
    run: str | os.PathLike,
    out: str | os.PathLike,
    judge: str | None = None,
    onnx: bool = False,
    ema: bool = True,
    opset: int = ONNX_OPSET,
    half: bool = False,
    note: str | None = None,
    overwrite: bool = False,
    card: dict[str, Any] | None = None,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Export a run folder, checkpoint or exported folder to the new folder ``out``.

    ``out`` is checked first (see :func:`check_export_out`; ``overwrite`` replaces an
    existing one) and written as a temporary folder that replaces it whole at the
    end: a failed export leaves nothing behind and an old ``out`` as it was.
    ``note``: free text on how the model was trained (hardware, time), kept in
    config.json's ``export.training`` beside the steps, data and preset. ``card``:
    the model card's ``license`` and ``datasets``; its figures are those of ``intergan
    evaluate`` on the same checkpoint, found in ``run``'s ``eval_*`` folders. ``log``:
    where the stages' progress goes (``export --onnx`` takes tens of seconds).
    """
    if onnx:
        check_opset(opset)
    check_export_out(run, out, overwrite)
    with stage(log, f"loading {run}"):
        G, cfg = load_generator(run, device="cpu", ema=ema)
        training = training_record(run, cfg, note)
    record = {"source": str(run), "ema": ema} | ({"training": training} if training else {})
    figures = evaluation_figures(run, training.get("steps") if training else None)
    card = {**(card or {}), "metrics": figures}
    if judge:
        check_judge(judge, cfg.model.attrs)
    out = Path(out)
    with output_folder(out, overwrite) as tmp:
        with stage(log, "writing the weights, config.json and README.md"):
            save_exported(G, cfg, tmp, half=half, card=card, **record)
            if judge:
                copy_judge(judge, tmp, cfg.model.attrs)
        if onnx:
            export_onnx(G, cfg, tmp / ONNX_FILE, opset, log=log)
    return out
