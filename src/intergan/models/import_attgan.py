"""Import an AttGAN-PyTorch run (elvisyjlin/AttGAN-PyTorch) as an exported folder.

A run folder there holds ``setting.txt`` (train.py's arguments as a JSON object) and
``checkpoint/weights.N.pth`` (N: the epoch); its test scripts load the highest N
unless told another. A weights file is ``{'G': state_dict}`` (``saveG``, what the
project released) or ``{'G', 'D', 'optim_G', 'optim_D'}`` (``save``). Files are read
with ``torch.load(weights_only=True)``: tensors and plain containers only, never code.

The export is the folder every command takes (``intergan.models.io``)::

    OUT/config.json             # Config.to_dict() + "architecture" (the settings) + "export"
    OUT/generator.safetensors   # G's tensors under AttGAN-PyTorch's names
    OUT/discriminator.safetensors   # D's tensors, when the file had them (kept, unused here)
    OUT/judge.json, OUT/judge.safetensors   # with --judge

``export.training`` records where it came from: the weights file, the epoch, the
whole setting.txt, the data set and the framing of its training images (CelebA's
aligned images centre-cropped to 170 then resized; CelebA-HQ's images resized).
The optimiser states are not kept: nothing here trains an imported model.
"""

from __future__ import annotations

import dataclasses
import json
import os
import pickle
import re
from pathlib import Path
from typing import Any

import torch

from intergan.errors import UserError
from intergan.files import (
    atomic_write,
    check_not_an_input,
    check_output_folder,
    guard,
    output_folder,
    read_json_object,
)
from intergan.models.attgan_pytorch import AttGANPyTorchGenerator, Settings, load_checked
from intergan.models.attgan_pytorch import strip_prefix as _strip
from intergan.models.export import check_judge, copy_judge, save_exported
from intergan.models.io import not_torch_file

SETTING_FILE = "setting.txt"
CHECKPOINT_DIR = "checkpoint"
D_FILE = "discriminator.safetensors"
_WEIGHTS = re.compile(r"^weights\.(\d+)\.pth$")
FRAMING_NOTES = {
    "CelebA": "CelebA aligned images (178x218), centre crop 170x170, resized to {size}",
    "CelebA-HQ": "CelebA-HQ images (1024x1024), resized to {size}",
}


def epochs(folder: Path) -> list[tuple[int, Path]]:
    """``(N, path)`` of every ``weights.N.pth`` in ``folder``, lowest N first."""
    if not folder.is_dir():
        return []
    return sorted((int(m.group(1)), p) for p in folder.iterdir() if (m := _WEIGHTS.match(p.name)))


def locate(run: Path, epoch: int | None) -> tuple[Path, Path | None]:
    """The weights file and the ``setting.txt`` (None when there is none) of ``run``:
    a run folder (its ``checkpoint/weights.N.pth``, the highest N or ``epoch``) or a
    ``.pth`` file (its run's setting.txt when it sits in RUN/checkpoint/)."""
    if run.is_file():
        if epoch is not None:
            raise UserError(f"--epoch picks a file in a run folder; {run} is a file already")
        setting = run.parent.parent / SETTING_FILE
        return run, setting if setting.is_file() else None
    if not run.is_dir():
        raise UserError(f"RUN {run} does not exist: pass an AttGAN-PyTorch run folder or a .pth")
    found = epochs(run / CHECKPOINT_DIR)
    if not found:
        raise UserError(
            f"{run} has no {CHECKPOINT_DIR}/weights.N.pth: pass an AttGAN-PyTorch run folder "
            "(setting.txt beside checkpoint/) or the .pth file itself"
        )
    setting = run / SETTING_FILE
    setting = setting if setting.is_file() else None
    if epoch is None:
        return found[-1][1], setting
    for n, path in found:
        if n == epoch:
            return path, setting
    have = ", ".join(str(n) for n, _ in found)
    raise UserError(f"{run} has no weights.{epoch}.pth; its epochs: {have}")


def parse_set(items: list[str]) -> dict[str, Any]:
    """``--set NAME=VALUE`` items -> {name: value}, each value read as JSON when it
    parses (numbers, lists) and as text otherwise; ``attrs`` also takes A,B,C."""
    out: dict[str, Any] = {}
    for item in items:
        name, sep, text = item.partition("=")
        if not sep or not name.strip():
            raise UserError(f"--set {item!r}: use NAME=VALUE with a setting.txt name")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if name.strip() == "attrs" and isinstance(value, str):
            value = [a.strip() for a in value.split(",") if a.strip()]
        out[name.strip()] = value
    return out


def read_settings(
    found: Path | None, setting: str | os.PathLike | None, overrides: dict[str, Any], pth: Path
) -> tuple[Settings, dict[str, Any], str]:
    """The checked settings, the raw object they came from and where that was:
    ``setting`` (``--setting``) before the run's own ``found``, then ``overrides``."""
    unknown = sorted(set(overrides) - {f.name for f in dataclasses.fields(Settings)})
    if unknown:
        names = ", ".join(f.name for f in dataclasses.fields(Settings))
        raise UserError(f"--set {unknown[0]}: not a setting the generator uses; use one of {names}")
    path = Path(setting) if setting else found
    if path is None and not overrides:
        raise UserError(
            f"no {SETTING_FILE} found for {pth}: pass --setting FILE (the run's setting.txt) "
            "or the settings with --set NAME=VALUE (e.g. --set img_size=384)"
        )
    raw = read_json_object(path, "settings file", "pass the run's setting.txt") if path else {}
    raw = {**raw, **overrides}
    where = (str(path) if path else "--set") + (" with --set" if path and overrides else "")
    return Settings.parse(raw, where), raw, where


def read_weights(path: Path) -> dict[str, Any]:
    """The dict in an AttGAN-PyTorch weights file, read with ``weights_only=True``."""
    fix = "pass an AttGAN-PyTorch checkpoint/weights.N.pth"
    what = not_torch_file(path)
    if what:
        raise UserError(f"{path} is not a PyTorch weights file ({what}); {fix}")
    with guard(path, "read"):
        f = path.open("rb")
    try:
        with f:  # a truncated zip raises OSError (EINVAL) from inside torch.load: content
            states = torch.load(f, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as e:
        raise UserError(
            f"{path} holds more than tensors and plain containers ({_unpickler_error(e)}); "
            "such objects are never unpickled here: save the state dicts alone"
        ) from None
    except Exception as e:  # noqa: BLE001 - a damaged pickle or zip raises anything
        first = str(e).splitlines()[0] if str(e) else type(e).__name__
        raise UserError(
            f"{path} is not a readable PyTorch weights file ({first[:160]}); {fix}"
        ) from None
    if not isinstance(states, dict) or "G" not in states:
        keys = list(states)[:4] if isinstance(states, dict) else type(states).__name__
        raise UserError(
            f"{path} has no 'G' entry (found {keys}): AttGAN-PyTorch saves {{'G': state_dict}} "
            "or {'G', 'D', 'optim_G', 'optim_D'}"
        )
    return states


def _unpickler_error(e: Exception) -> str:
    """What torch's weights-only refusal names as refused (the text after its
    "WeightsUnpickler error:", which may start on the next line)."""
    text = str(e)
    if "WeightsUnpickler error:" in text:
        text = text.split("WeightsUnpickler error:", 1)[1]
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    return (lines[0].split(". ")[0] if lines else type(e).__name__)[:160]


def discriminator(states: dict[str, Any], where: str) -> dict[str, torch.Tensor] | None:
    """D's tensors (names as AttGAN-PyTorch's ``Discriminators``), if the file has them."""
    D = states.get("D")
    if D is None:
        return None
    if not isinstance(D, dict) or not all(isinstance(v, torch.Tensor) for v in D.values()):
        raise UserError(f"{where}: 'D' is not a state dict of tensors")
    return {k: v.contiguous() for k, v in _strip(dict(D)).items()}


def default_name(run: str | os.PathLike) -> str:
    """The folder name an import gets by default: the run folder's name (for a
    ``.pth`` in RUN/checkpoint/, RUN's), else the file's stem."""
    p = Path(run).resolve()
    if p.is_file():
        return p.parent.parent.name if p.parent.name == CHECKPOINT_DIR else p.stem
    return p.name


def import_attgan_pytorch(
    run: str | os.PathLike,
    out: str | os.PathLike,
    epoch: int | None = None,
    setting: str | os.PathLike | None = None,
    overrides: dict[str, Any] | None = None,
    judge: str | os.PathLike | None = None,
    overwrite: bool = False,
) -> Path:
    """Write the exported folder ``out`` for an AttGAN-PyTorch run or weights file.

    Everything is checked before ``out`` is touched; ``out`` is written whole or not
    at all (``files.output_folder``). Returns ``out``."""
    check_output_folder(out, overwrite)
    pth, found = locate(Path(run), epoch)
    inputs = {"RUN": run, "the weights file": pth, "the settings file": setting or found}
    inputs["--judge"] = judge if judge and Path(judge).exists() else None  # a local folder
    check_not_an_input(out, {k: v for k, v in inputs.items() if v})  # --overwrite: no loss
    settings, raw, where = read_settings(found, setting, dict(overrides or {}), pth)
    if judge:
        check_judge(judge, list(settings.attrs))
    states = read_weights(pth)
    G = AttGANPyTorchGenerator(settings).eval()
    load_checked(G, states["G"], f"{pth} (settings from {where})")
    D = discriminator(states, str(pth))
    m = _WEIGHTS.match(pth.name)
    training = {
        "source": "AttGAN-PyTorch (github.com/elvisyjlin/AttGAN-PyTorch)",
        "weights": str(pth),
        "epoch": int(m.group(1)) if m else None,
        "data": settings.data,
        "framing": settings.framing,
        "framing_note": FRAMING_NOTES[settings.data].format(size=settings.img_size),
        "synthfaces": False,
        "img_size": settings.img_size,
        "settings": raw,
        "kept": ["G"] + (["D"] if D is not None else []),
    }
    cfg = settings.config()
    cfg.data.framing = settings.framing  # the editor reads it first (editing.align)
    with output_folder(Path(out), overwrite) as tmp:
        save_exported(G, cfg, tmp, source=str(pth), training=training)
        if D is not None:
            from safetensors.torch import save

            atomic_write(tmp / D_FILE, save(D))
        if judge:
            copy_judge(judge, tmp, list(settings.attrs))
    return Path(out)
