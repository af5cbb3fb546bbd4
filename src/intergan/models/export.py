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
``load_generator`` accepts one like a run folder.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import time
import warnings
from collections.abc import Callable, Iterator
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
    ONNX_EDIT_FILE,
    ONNX_ENCODE_FILE,
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
from intergan.models.pretrained import JUDGE_FILES, resolve_judge, resolve_model

EXPORT_VERSION = 1
ONNX_OPSET = 18  # [chosen] the torch.export exporter's native opset; ONNX Runtime >= 1.14 runs it
# The opsets --opset accepts. Below 18 the exporter converts its graph after export and,
# where that fails, silently keeps 18 (torch 2.14.1 wrote 18 for 7, 12 and 999); 23 is
# the newest torch 2.14 declares (torch.onnx._constants.ONNX_MAX_OPSET); ONNX Runtime 1.32
# ran the editor on opsets 20 and 23 (2026-12-08).
ONNX_OPSETS = (18, 23)


def check_opset(opset: int) -> None:
    """Refuse an ONNX opset outside ``ONNX_OPSETS`` before any work."""
    lo, hi = ONNX_OPSETS
    if isinstance(opset, bool) or not isinstance(opset, int) or not lo <= opset <= hi:
        raise UserError(f"--opset {opset!r} is not supported: use an opset from {lo} to {hi}")


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


class _OnnxGenerator(torch.nn.Module):
    """The generator with a flat signature: (images, target, source) -> (edited, reconstructed)."""

    def __init__(self, G: torch.nn.Module):
        super().__init__()
        self.G = G

    def forward(self, images, target, source):
        out = self.G(images, target, source)
        return out.edited, out.reconstructed


def _code_parts(code) -> tuple[torch.Tensor, ...]:
    """``G.encode``'s code as a flat tuple (InterGAN: one tensor; AttGAN: its skips)."""
    return (code,) if isinstance(code, torch.Tensor) else tuple(code)


class _OnnxEncoder(torch.nn.Module):
    """images -> the code's tensors (``G.encode``)."""

    def __init__(self, G: torch.nn.Module):
        super().__init__()
        self.G = G

    def forward(self, images):
        return _code_parts(self.G.encode(images))


class _OnnxEdit(torch.nn.Module):
    """(code tensors..., target, source) -> edited (``G.edit_from_code``)."""

    def __init__(self, G: torch.nn.Module, as_list: bool):
        super().__init__()
        self.G, self.as_list = G, as_list  # as_list: G's code is a list (AttGAN)

    def forward(self, *args):
        parts, target, source = args[:-2], args[-2], args[-1]
        code = list(parts) if self.as_list else parts[0]
        return self.G.edit_from_code(code, target, source)


@contextlib.contextmanager
def stage(log: Callable[[str], None] | None, what: str) -> Iterator[None]:
    """Report a long stage of an export through ``log`` (a line when it starts, one with
    its time when it ends); nothing when ``log`` is None."""
    if log is None:
        yield
        return
    t0 = time.perf_counter()
    log(f"{what} ...")
    yield
    log(f"{what}: done in {time.perf_counter() - t0:.1f} s")


def export_onnx(
    G: torch.nn.Module,
    cfg: Config,
    path: str | os.PathLike,
    opset: int = ONNX_OPSET,
    log: Callable[[str], None] | None = None,
) -> Path:
    """Write the ONNX generator ``path`` and its two halves beside it, each with a
    dynamic batch dimension.

    ``path`` (``generator.onnx``): inputs ``images`` (B, 3, S, S) float in [-1, 1],
    ``target`` and ``source`` (B, n_attrs) encoded labels; outputs ``edited`` and
    ``reconstructed`` (B, 3, S, S). ``generator_encode.onnx``: ``images`` -> ``code0``
    (and ``code1``, ... for AttGAN's skips); ``generator_edit.onnx``: the code's
    tensors, ``target``, ``source`` -> ``edited``, so an editor encodes a photo once
    and runs only the editing half per slider move. The halves are written last (old
    ones removed first), so an export that fails midway never pairs a new graph with
    an old half: the backend then runs the whole graph. Uses the ``torch.export`` based
    exporter (needs ``onnxscript``, in the ``onnx`` extra): the TorchScript tracer
    bakes the example batch size into the graph's slices, so its output is wrong at
    other batch sizes. ``log``: where each graph's progress goes (see :func:`stage`).
    """
    check_opset(opset)
    try:
        import onnxscript  # noqa: F401 - required by torch.onnx.export(dynamo=True)
    except ImportError:
        raise UserError(
            "ONNX export needs onnx and onnxscript: pip install 'intergan[onnx]'"
        ) from None
    G = G.cpu().eval()
    s, n = cfg.model.img_size, cfg.model.n_attrs
    images, target, source = torch.rand(2, 3, s, s) * 2 - 1, torch.zeros(2, n), torch.zeros(2, n)
    with torch.no_grad():
        raw = G.encode(images)
    code = _code_parts(raw)
    codes = [f"code{i}" for i in range(len(code))]
    batch = torch.export.Dim("batch", min=1, max=4096)
    folder, as_list = Path(path).parent, not isinstance(raw, torch.Tensor)
    graphs = [  # (module, example inputs, input names, output names, file)
        (_OnnxGenerator(G), (images, target, source), ["images", "target", "source"],
         ["edited", "reconstructed"], Path(path)),
        (_OnnxEncoder(G), (images,), ["images"], codes, folder / ONNX_ENCODE_FILE),
        (_OnnxEdit(G, as_list), (*code, target, source), [*codes, "target", "source"],
         ["edited"], folder / ONNX_EDIT_FILE),
    ]  # fmt: skip
    for *_, file in graphs[1:]:  # old halves would pair with a new whole graph
        file.unlink(missing_ok=True)
    for module, example, names_in, names_out, file in graphs:
        shapes = tuple({0: batch} for _ in example)  # one per forward parameter
        if isinstance(module, _OnnxEdit):
            shapes = (shapes,)  # its one parameter is *args

        def write(tmp: Path, module=module, example=example, names_in=names_in,
                  names_out=names_out, shapes=shapes):  # fmt: skip
            with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")  # the exporter's progress notes
                torch.onnx.export(
                    module,
                    example,
                    str(tmp),
                    dynamo=True,
                    external_data=False,
                    input_names=names_in,
                    output_names=names_out,
                    dynamic_shapes=shapes,
                    opset_version=opset,
                )
            _check_opset_written(tmp, opset)

        with stage(log, f"writing {file.name}"):
            atomic_write(file, by_path=write)
    return Path(path)


def _check_opset_written(path: Path, opset: int) -> None:
    """The exporter falls back to its own opset where converting fails: refuse that."""
    import onnx

    got = sorted(
        {o.version for o in onnx.load(str(path)).opset_import if o.domain in ("", "ai.onnx")}
    )
    if got != [opset]:
        raise UserError(
            f"the ONNX exporter wrote opset {got} instead of --opset {opset}; "
            f"use --opset {ONNX_OPSET}"
        )


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


def trained_on_synthfaces(path: str | os.PathLike) -> bool:
    """True when the model at ``path`` records that it saw SynthFaces only."""
    record = read_training(path)
    return bool(record and record.get("synthfaces"))


def synthetic_only(model: str) -> bool:
    """Whether the model a ``--model`` value names (a path or a bundled name) records
    SynthFaces as its only training data; False when that cannot be told."""
    try:
        return trained_on_synthfaces(resolve_model(model))
    except UserError:
        return False


SYNTHETIC_NOTE = (
    "this model was trained on synthetic faces (SynthFaces) only, so its edits of a real "
    "photo are rough; for real faces train one on CelebA-HQ (docs/training.md: "
    "intergan train --data CelebA-HQ-DIR --preset base --size 256)"
)


def read_training(path: str | os.PathLike) -> dict | None:
    """``training_record`` of a model path, or None when it cannot be told."""
    try:
        return training_record(path)
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
