"""Short names for the models shipped inside the package.

``resolve_model("synthfaces-64")`` gives the folder of the bundled exported model
(``generator.safetensors`` + ``config.json`` + the judge classifier) under
``intergan/assets/``; any other argument is taken as a path. Nothing is ever
downloaded: a bundled name whose files are missing raises a ``UserError`` that
says how to make them.
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


def bundled_dir(name: str) -> Path:
    """Where the bundled model ``name`` lives (whether or not its files exist)."""
    return Path(str(resources.files("intergan"))) / "assets" / BUNDLED[name]


def resolve_model(model: str | os.PathLike) -> Path:
    """A bundled short name or a path -> the folder/file ``Editor.from_pretrained`` loads.

    Raises ``UserError`` when the path does not exist, or when a bundled model's
    weights are not in this copy of the package (say how to train and export it).
    """
    text = str(model).strip()
    if text in BUNDLED:
        folder = bundled_dir(text)
        missing = [f for f in BUNDLE_FILES if not (folder / f).is_file()]
        if missing:
            raise UserError(
                f"the bundled model {text!r} is not in this copy of intergan "
                f"({', '.join(missing)} missing in {folder}); pass --model PATH to an "
                "exported model or run, or make the bundle (docs/training.md): "
                "`intergan synth --out data/synth64 --n 30000 --size 64`, "
                "`intergan train --data data/synth64 --preset small --size 64 --out runs/synth64`, "
                "`intergan classifier train --data data/synth64 --size 64 --out runs/judge64`, "
                f"`intergan export runs/synth64 --judge runs/judge64 --out {folder}`"
            )
        return folder
    path = Path(text).expanduser()
    if not path.exists():
        hint = suggest(text, list(BUNDLED)) if os.sep not in text else ""
        raise UserError(
            f"model {text!r} does not exist: it is not a file or folder, nor a bundled "
            f"model name ({', '.join(BUNDLED)}){hint}; pass an exported folder, a run "
            "folder or a checkpoint"
        )
    return path
