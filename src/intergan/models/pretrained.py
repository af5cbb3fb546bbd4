"""Short names for the models shipped inside the package.

``resolve_model("synthfaces-64")`` gives the folder of the bundled exported model
(``generator.safetensors`` + ``config.json`` + the judge classifier) under
``intergan/assets/``; ``resolve_judge("synthfaces-64")`` the same folder for its
judge. Any other argument is taken as a path (a bundled name wins over a folder of
the same name in the current directory: write ``./synthfaces-64`` for that one).
Nothing is ever downloaded: a bundled name whose files are missing raises a
``UserError`` that says how to make them. Every command that takes ``--model`` or
``--judge`` goes through these two functions.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from intergan.attributes import suggest
from intergan.errors import UserError

# short name -> folder under intergan/assets/
BUNDLED: dict[str, str] = {
    "synthfaces-64": "synthfaces-64",  # small preset, 64 px, 13 attributes, SynthFaces-64
}
BUNDLE_FILES = ("config.json", "generator.safetensors")
JUDGE_FILES = ("judge.json", "judge.safetensors")
# for --help texts: "..., or a bundled name (synthfaces-64)"
BUNDLED_HELP = f"or a bundled name ({', '.join(BUNDLED)})"

_MAKE_BUNDLE = (
    "make the bundle (docs/training.md): "
    "`intergan synth --out data/synth64 --n 30000 --size 64`, "
    "`intergan train --data data/synth64 --preset small --size 64 --out runs/synth64`, "
    "`intergan classifier train --data data/synth64 --size 64 --out runs/judge64`, "
    "`intergan export runs/synth64 --judge runs/judge64 --out {folder}`"
)


def bundled_dir(name: str) -> Path:
    """Where the bundled model ``name`` lives (whether or not its files exist)."""
    return Path(str(resources.files("intergan"))) / "assets" / BUNDLED[name]


def is_bundled(name: str | os.PathLike) -> bool:
    """True when ``name`` is one of the bundled short names."""
    return str(name).strip() in BUNDLED


def _bundled(name: str, files: tuple[str, ...], flag: str, what: str) -> Path:
    folder = bundled_dir(name)
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise UserError(
            f"the bundled model {name!r} is not in this copy of intergan "
            f"({', '.join(missing)} missing in {folder}); pass {flag} PATH to {what}, or "
            + _MAKE_BUNDLE.format(folder=folder)
        )
    return folder


def resolve_model(model: str | os.PathLike, flag: str | None = None) -> Path:
    """A bundled short name or a path -> the folder/file ``load_generator`` and
    ``Editor.from_pretrained`` load.

    Raises ``UserError`` when the path does not exist, or when a bundled model's
    weights are not in this copy of the package (say how to train and export it).
    ``flag`` names the command-line option in the messages (``--model``, ``RUN``).
    """
    text = str(model).strip()
    if text in BUNDLED:
        return _bundled(text, BUNDLE_FILES, flag or "--model", "an exported model or run")
    path = Path(text).expanduser()
    if not path.exists():
        hint = suggest(text, list(BUNDLED)) if os.sep not in text else ""
        raise UserError(
            f"{flag or 'model'} {text!r} does not exist: it is not a file or folder, nor a bundled "
            f"model name ({', '.join(BUNDLED)}){hint}; pass an exported folder, a run "
            "folder or a checkpoint"
        )
    return path


def resolve_judge(judge: str | os.PathLike, flag: str = "--judge") -> Path:
    """A bundled short name -> the bundled model's folder (which holds its judge);
    anything else -> ``Path(judge)`` unchanged (``load_judge`` checks it)."""
    text = str(judge).strip()
    if text in BUNDLED:
        return _bundled(text, JUDGE_FILES, flag, "a judge folder (intergan classifier train)")
    return Path(text).expanduser()
