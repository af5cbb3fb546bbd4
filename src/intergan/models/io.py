"""Checkpoint files and exported folders: atomic save, safe load, lookup, generator loading.

A checkpoint is a plain dict (state dicts + plain metadata, nothing pickled beyond
tensors and builtins) so it loads with ``torch.load(weights_only=True)``::

    {"version", "step", "config" (Config.to_dict()), "G", "D", "G_ema" (or None),
     "opt_G", "opt_D", "scaler", "rng", "data"}

Run folder layout::

    RUN/config.json
    RUN/checkpoints/step_0001000.pt
    RUN/checkpoints/latest          # text: the file name of the newest checkpoint

An exported folder (written by ``intergan.models.export``) holds only tensors and
JSON, so loading it never unpickles::

    OUT/config.json             # Config.to_dict() plus an "export" record (an import:
                                # and an "architecture" record, models.attgan_pytorch)
    OUT/generator.safetensors   # the generator's weights
    OUT/generator.onnx          # optional, with generator_encode.onnx / generator_edit.onnx

This module imports nothing from ``intergan.training``: editing, evaluation and the
app load generators through :func:`load_generator` alone.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Collection
from pathlib import Path
from typing import Any

import torch

from intergan.config import Config, validate_model
from intergan.errors import UserError
from intergan.files import (
    atomic_write,
    guard,
    load_safetensors,
    os_error_message,
    read_json_object,
    remove_stale_temps,
    state_dict_error,
)
from intergan.models import build_generator

CHECKPOINT_VERSION = 1
CHECKPOINT_DIR = "checkpoints"
LATEST = "latest"
REQUIRED_KEYS = ("version", "step", "config", "G")
_NAME = re.compile(r"^step_(\d+)\.pt$")

# an exported folder's files
WEIGHTS_FILE = "generator.safetensors"
CONFIG_FILE = "config.json"
ONNX_FILE = "generator.onnx"
# with ONNX_FILE: the generator's two halves, so that an editor encodes a photo once and
# each slider move runs only the editing half (images -> code; code, labels -> edited)
ONNX_ENCODE_FILE = "generator_encode.onnx"
ONNX_EDIT_FILE = "generator_edit.onnx"
# config.json's record of a generator that Config.model does not build (an import)
ARCHITECTURE = "architecture"
REEXPORT = "export the run again (`intergan export RUN --out DIR --overwrite`)"


def checkpoint_name(step: int) -> str:
    """File name of the checkpoint taken after ``step`` generator steps."""
    return f"step_{step:07d}.pt"


def checkpoint_step(path: str | os.PathLike) -> int | None:
    """The step in a checkpoint's file name (``step_0001000.pt`` -> 1000), else None."""
    m = _NAME.match(Path(path).name)
    return int(m.group(1)) if m else None


def _atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file in the same folder, fsync, then rename."""
    atomic_write(path, lambda f: torch.save(obj, f))


def save_checkpoint(ckpt: dict[str, Any], run_dir: str | os.PathLike, keep_last: int = 3) -> Path:
    """Write ``ckpt`` as ``RUN/checkpoints/step_N.pt``, point ``latest`` at it, prune.

    Each file is written to a temporary name and renamed, and the pointer is updated
    only after the file is complete, so a process killed at any moment leaves the
    previous checkpoint (or the new one) intact and ``latest`` naming a whole file.
    Keeps the newest ``keep_last`` checkpoints (at least the one just written), and
    removes the temporary files of earlier processes that were killed mid-write.
    """
    folder = Path(run_dir) / CHECKPOINT_DIR
    with guard(folder, "create the folder"):
        folder.mkdir(parents=True, exist_ok=True)
    remove_stale_temps(folder)  # left by a process killed while it wrote
    path = folder / checkpoint_name(int(ckpt["step"]))
    _atomic_torch_save({"version": CHECKPOINT_VERSION, **ckpt}, path)
    atomic_write(folder / LATEST, path.name + "\n")
    for _, old in list_checkpoints(folder)[: -max(1, keep_last)]:
        if old != path:
            old.unlink(missing_ok=True)
    return path


def list_checkpoints(folder: str | os.PathLike) -> list[tuple[int, Path]]:
    """``(step, path)`` of every ``step_N.pt`` in a checkpoint folder, oldest first."""
    folder = Path(folder)
    if not folder.is_dir():
        return []
    found = [(int(m.group(1)), p) for p in folder.iterdir() if (m := _NAME.match(p.name))]
    return sorted(found)


def find_checkpoint(run_dir_or_file: str | os.PathLike, which: str | int = "latest") -> Path:
    """Resolve a checkpoint file from a file, a run folder or a checkpoints folder.

    ``which``: ``"latest"`` (the ``latest`` pointer; the highest step if the pointer
    is missing or stale) or a step number. A file path is returned as is.
    """
    path = Path(run_dir_or_file)
    if path.is_file():
        return path
    if not path.exists():
        raise UserError(f"checkpoint path {path} does not exist")
    folder = path / CHECKPOINT_DIR if (path / CHECKPOINT_DIR).is_dir() else path
    found = list_checkpoints(folder)
    if not found and (path / "setting.txt").is_file() and (path / "checkpoint").is_dir():
        raise UserError(
            f"{path} is an AttGAN-PyTorch run folder: import it first "
            f"(`intergan import attgan-pytorch {path}`), then pass the import's folder or name"
        )
    if not found:
        raise UserError(
            f"no checkpoint (step_*.pt) in {folder}; train first, or pass a checkpoint file"
        )
    if str(which) == "latest":
        pointer = folder / LATEST
        if pointer.is_file():
            named = folder / pointer.read_text().strip()
            if named.is_file():
                return named
        return found[-1][1]
    if not str(which).isdigit():
        raise UserError(f"checkpoint selector {which!r} is not 'latest' or a step number")
    for step, p in found:
        if step == int(which):
            return p
    steps = ", ".join(str(s) for s, _ in found)
    raise UserError(f"no checkpoint for step {which} in {folder}; available steps: {steps}")


CHECKPOINT_IS = (
    "give a checkpoint written by `intergan train` (RUN/checkpoints/step_N.pt), a run "
    "folder, or an exported folder (`intergan export`)"
)


# the first bytes of a torch.save file: its zip format, or the legacy one (a pickle,
# protocol 2 and up)
TORCH_HEADS = (b"PK\x03\x04", b"\x80")


def not_torch_file(path: Path) -> str | None:
    """None when ``path`` starts as a ``torch.save`` file does; else what its first
    bytes say it is ("it is empty", "it is a text file (starting ...)", ...)."""
    with guard(path, "read"):
        with open(path, "rb") as f:
            head = f.read(64)
    if not head:
        return "it is empty"
    if path.suffix == ".safetensors" or (head[8:9] == b"{" and b'"' in head):
        return "it is a safetensors file, weights without their config"
    if head.startswith(TORCH_HEADS):
        return None
    try:
        return f"it is a text file (starting {head.decode('utf-8').strip()[:20]!r})"
    except UnicodeDecodeError:
        return "it is not a PyTorch file"


def _what_it_is(path: Path, e: Exception) -> str:
    """What a file ``torch.load`` could not read seems to be."""
    detail = str(e).splitlines()[0][:80] if str(e) else type(e).__name__
    return not_torch_file(path) or f"it is a PyTorch file, truncated or damaged ({detail})"


def _torch_load(path: Path, map_location: Any) -> Any:
    """``torch.load(weights_only=True)``; any file it cannot read is a ``UserError``."""
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise UserError(f"checkpoint {path} does not exist") from None
    except OSError as e:  # no permission, a folder, a symbolic link loop
        raise UserError(os_error_message(e, path, "read")) from None
    try:
        with f:
            return torch.load(f, map_location=map_location, weights_only=True)
    except Exception as e:  # noqa: BLE001 - unpickling a foreign file raises anything
        raise UserError(
            f"{path} is not a readable InterGAN checkpoint: {_what_it_is(path, e)}; {CHECKPOINT_IS}"
        ) from None


def _check_contents(ckpt: Any, path: Path) -> None:
    """Refuse a readable file that does not hold a checkpoint's keys and types."""
    if not isinstance(ckpt, dict):
        raise UserError(
            f"{path} is not an InterGAN checkpoint: it holds a {type(ckpt).__name__}, not "
            f"a checkpoint's dict; {CHECKPOINT_IS}"
        )
    missing = [k for k in REQUIRED_KEYS if k not in ckpt]
    if missing:
        other = "G" in ckpt and "config" not in ckpt  # AttGAN-PyTorch saves {"G": ..., ...}
        fix = f"import it: `intergan import attgan-pytorch {path}`" if other else CHECKPOINT_IS
        raise UserError(
            f"{path} is not an InterGAN checkpoint (no {', '.join(missing)} in it); {fix}"
        )
    wrong = [k for k in ("version", "step") if type(ckpt[k]) is not int]
    wrong += [] if isinstance(ckpt["config"], dict) else ["config"]
    state = ckpt["G"]
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        wrong.append("G")
    if wrong:
        raise UserError(
            f"{path} is not a readable InterGAN checkpoint: {', '.join(wrong)} is not what "
            f"`intergan train` writes there (a damaged or edited file); {CHECKPOINT_IS}"
        )


def load_checkpoint(path: str | os.PathLike, map_location: Any = "cpu") -> dict[str, Any]:
    """Load a checkpoint dict with ``weights_only=True`` and check its keys, types,
    version and config: a file that is not one is a ``UserError`` naming it."""
    path = Path(path)
    ckpt = _torch_load(path, map_location)
    _check_contents(ckpt, path)
    if ckpt["version"] > CHECKPOINT_VERSION:
        raise UserError(
            f"{path} has checkpoint version {ckpt['version']}, newer than this intergan "
            f"supports ({CHECKPOINT_VERSION}); upgrade intergan"
        )
    try:
        validate_model(Config.from_dict(ckpt["config"], saved=True).model)
    except UserError as e:
        raise UserError(f"checkpoint {path}: its config: {e}; {CHECKPOINT_IS}") from None
    return ckpt


def config_differences(
    saved: Config, current: Config, section: str = "model", skip: Collection[str] = ()
) -> list[str]:
    """Human-readable ``field: saved -> current`` lines for a config section, leaving
    out the fields named in ``skip``."""
    a, b = getattr(saved, section), getattr(current, section)
    lines = []
    for f in dataclasses.fields(a):
        if f.name in skip:
            continue
        x, y = getattr(a, f.name), getattr(b, f.name)
        if f.name == "bottleneck" and section == "model":  # 0 and 8 can be the same side
            x, y = a.bottleneck_size, b.bottleneck_size
        if x == y:
            continue
        if f.name == "attrs":
            gone = [n for n in x if n not in y]
            new = [n for n in y if n not in x]
            detail = f"removed {gone or 'none'}, added {new or 'none'}" + (
                ", order changed" if not gone and not new else ""
            )
            lines.append(f"{section}.attrs: checkpoint {list(x)}, now {list(y)} ({detail})")
        else:
            lines.append(f"{section}.{f.name}: checkpoint {x!r}, now {y!r}")
    return lines


def check_resume_config(saved: Config, current: Config, source: str | os.PathLike) -> None:
    """Raise a ``UserError`` naming every architecture field that differs."""
    diffs = config_differences(saved, current, "model")
    if diffs:
        raise UserError(
            f"cannot resume from {source}: the architecture differs from the checkpoint's\n  "
            + "\n  ".join(diffs)
            + "\nresume with the checkpoint's --preset/--variant/--size/--attrs and "
            "--set model.FIELD=VALUE for the fields above (or omit them), or start a new "
            "run folder with --out"
        )


def export_folder(path: str | os.PathLike) -> Path:
    """The exported folder ``path`` names (the folder itself, or one of its files)."""
    p = Path(path)
    files = (WEIGHTS_FILE, CONFIG_FILE, ONNX_FILE, ONNX_ENCODE_FILE, ONNX_EDIT_FILE)
    return p.parent if p.name in files else p


def is_export(path: str | os.PathLike) -> bool:
    """True for an exported folder (or one of its files)."""
    d = export_folder(path)
    return (d / CONFIG_FILE).is_file() and (
        (d / WEIGHTS_FILE).is_file() or (d / ONNX_FILE).is_file()
    )


def load_export_config(path: str | os.PathLike) -> Config:
    """The ``Config`` of an exported folder."""
    return _export_config(path)[0]


def _export_config(path: str | os.PathLike) -> tuple[Config, dict | None]:
    """The ``Config`` of an exported folder and its ``architecture`` record (None for
    a generator built from ``Config.model``; an import's record names its network,
    which ``Config.model`` only describes, so its sizes follow that network's rules)."""
    d = export_folder(path)
    if not d.exists():
        raise UserError(f"model path {path} does not exist")
    if not (d / CONFIG_FILE).is_file():
        raise UserError(f"{d} has no {CONFIG_FILE}; export a run with `intergan export RUN`")
    data = read_json_object(d / CONFIG_FILE, "config file", REEXPORT)
    if ARCHITECTURE not in data:
        return Config.load(d / CONFIG_FILE, fix=REEXPORT, saved=True), None
    from intergan.models.attgan_pytorch import imported_config

    return imported_config(data, d / CONFIG_FILE), data[ARCHITECTURE]


def load_exported(
    path: str | os.PathLike, device: str | torch.device = "cpu"
) -> tuple[torch.nn.Module, Config]:
    """Build the generator of an exported folder from safetensors (no pickle), eval mode."""
    d = export_folder(path)
    cfg, arch = _export_config(d)
    if not (d / WEIGHTS_FILE).is_file():
        raise UserError(f"{d} has no {WEIGHTS_FILE}; use backend='onnx' or re-export the run")
    if arch is None:
        G = build_generator(cfg.model)
    else:
        from intergan.models.attgan_pytorch import build

        G = build(arch, str(d / CONFIG_FILE))
    state = load_safetensors(d / WEIGHTS_FILE, "generator weights", REEXPORT)
    try:
        G.load_state_dict(state, strict=True)
    except RuntimeError as e:
        raise UserError(
            f"{d / WEIGHTS_FILE} does not match {d / CONFIG_FILE} "
            f"({state_dict_error(e)}); re-export the run"
        ) from None
    return G.to(device).eval(), cfg


def read_config(path: str | os.PathLike) -> Config:
    """The ``Config`` of a model path without building the model: an exported folder's
    or a run folder's ``config.json``, else the checkpoint's own (which loads it)."""
    if is_export(path):
        return load_export_config(path)
    p = Path(path)
    if p.is_dir() and (p / CONFIG_FILE).is_file():
        return Config.load(p / CONFIG_FILE, saved=True)
    return Config.from_dict(load_checkpoint(find_checkpoint(path))["config"], saved=True)


def load_generator(
    path: str | os.PathLike, device: str | torch.device = "cpu", ema: bool = True
) -> tuple[torch.nn.Module, Config]:
    """Build the generator a run folder or checkpoint file holds, in eval mode.

    ``path``: a run folder (its latest checkpoint), a checkpoint file, or an
    exported folder (``generator.safetensors`` + ``config.json``, see
    :func:`load_exported`; it holds one set of weights, so ``ema`` does not
    apply). ``ema``: use the EMA weights when the checkpoint has them. Returns
    ``(G, config)``.
    """
    if is_export(path):
        return load_exported(path, device)
    file = find_checkpoint(path)
    ckpt = load_checkpoint(file, map_location="cpu")
    cfg = Config.from_dict(ckpt["config"], saved=True)
    G = build_generator(cfg.model)
    state = ckpt["G_ema"] if ema and ckpt.get("G_ema") is not None else ckpt["G"]
    try:
        G.load_state_dict(state)
    except (RuntimeError, TypeError, AttributeError) as e:
        raise UserError(
            f"checkpoint {file}: its generator weights do not match its config "
            f"({state_dict_error(e)}); a damaged or edited file: {CHECKPOINT_IS}"
        ) from None
    return G.to(device).eval(), cfg
