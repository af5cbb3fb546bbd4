"""Short names for the models shipped inside the package.

``resolve_model("synthfaces-64")`` gives the folder of the bundled exported model
(``generator.safetensors`` + ``config.json`` + the judge classifier) under
``intergan/assets/``; ``resolve_judge("synthfaces-64")`` the same folder for its
judge. Any other argument is taken as a path (a bundled name wins over a folder of
the same name in the current directory: write ``./synthfaces-64`` for that one).
Nothing is ever downloaded: a bundled name whose files are missing raises a
``UserError`` that says how to make them. Every command that takes ``--model`` or
``--judge`` goes through these two functions.

Besides the bundled names, a name that is not a path is looked up in the user's model
folder, :func:`models_home` (``$INTERGAN_HOME/models``, by default
``~/.cache/intergan/models``): ``intergan import`` writes there unless told otherwise,
so ``--model NAME`` finds an import by its folder name. :func:`local_models` lists it.

Last, an ``org/name`` (optionally ``org/name@revision``) that is none of the above is a
Hugging Face Hub model id: ``intergan.models.hub.download`` fetches the export's files
into the Hugging Face cache (the ``hub`` extra). A local path or name always wins.
"""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from intergan.attributes import suggest
from intergan.errors import UserError
from intergan.models import hub

# short name -> folder under intergan/assets/
BUNDLED: dict[str, str] = {
    "synthfaces-64": "synthfaces-64",  # small preset, 64 px, 13 attributes, SynthFaces-64
}
BUNDLE_FILES = ("config.json", "generator.safetensors")
JUDGE_FILES = ("judge.json", "judge.safetensors")
# for --help texts: "..., a bundled name (synthfaces-64) or a Hub id ..."
BUNDLED_HELP = f"a bundled name ({', '.join(BUNDLED)}) or a Hub id org/name[@revision]"

_MAKE_BUNDLE = (
    "make the bundle (docs/training.md): "
    "`intergan synth --out data/synth64 --n 30000 --size 64`, "
    "`intergan train --data data/synth64 --preset small --size 64 --out runs/synth64`, "
    "`intergan classifier train --data data/synth64 --size 64 --out runs/judge64`, "
    "`intergan export runs/synth64 --judge runs/judge64 --out {folder}`"
)


def models_home() -> Path:
    """The user's model folder: ``$INTERGAN_HOME/models`` (default ``~/.cache/intergan/models``).

    It need not exist; nothing here creates it."""
    home = os.environ.get("INTERGAN_HOME", "").strip()
    base = Path(home).expanduser() if home else Path.home() / ".cache" / "intergan"
    return base / "models"


def local_models() -> dict[str, Path]:
    """Name -> folder of each exported model in :func:`models_home` (sorted by name)."""
    home = models_home()
    if not home.is_dir():
        return {}
    found = {}
    for folder in sorted(home.iterdir()):
        if folder.is_dir() and all((folder / f).is_file() for f in BUNDLE_FILES):
            found[folder.name] = folder
    return found


def bundled_dir(name: str) -> Path:
    """Where the bundled model ``name`` lives (whether or not its files exist)."""
    return Path(str(resources.files("intergan"))) / "assets" / BUNDLED[name]


def is_bundled(name: str | os.PathLike) -> bool:
    """True when ``name`` is one of the bundled short names."""
    return str(name).strip() in BUNDLED


def is_named(model: str | os.PathLike) -> bool:
    """True when ``model`` is a bundled name or a Hub id rather than a local path: its
    outputs then go under ``out/NAME/``, never into the package or the Hub cache."""
    text = str(model).strip()
    return is_bundled(text) or (
        not Path(text).expanduser().exists() and bool(hub.parse_hub_id(text))
    )


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


def resolve_model(
    model: str | os.PathLike, flag: str | None = None, revision: str | None = None
) -> Path:
    """A bundled short name, a path, a name in :func:`models_home` or a Hub id
    (``org/name[@revision]``; ``revision`` is the Hub revision) -> the folder/file
    ``load_generator`` and ``Editor.from_pretrained`` load.

    Raises ``UserError`` when the path does not exist, or when a bundled model's
    weights are not in this copy of the package (say how to train and export it).
    ``flag`` names the command-line option in the messages (``--model``, ``RUN``).
    """
    text = str(model).strip()
    path = Path(text).expanduser()
    found = text in BUNDLED or path.exists()
    local = {} if found else local_models()  # listed once
    is_hub = not found and text not in local and bool(hub.parse_hub_id(text))
    if revision and not is_hub:
        raise UserError(f"revision={revision!r} applies to Hub ids only; {text} is local")
    if text in BUNDLED:
        return _bundled(text, BUNDLE_FILES, flag or "--model", "an exported model or run")
    if found:
        return path
    if text in local:
        return local[text]
    if is_hub and not isinstance(model, Path):
        return hub.download(text, revision)
    hint = suggest(text, [*BUNDLED, *local]) if os.sep not in text else ""
    raise UserError(
        f"{flag or 'model'} {text!r} does not exist: it is not a file or folder, nor a bundled "
        f"model name ({', '.join(BUNDLED)}) nor a model in {models_home()}{hint}; pass an "
        "exported folder, a run folder, a checkpoint or a Hugging Face Hub id (org/name)"
    )


def resolve_judge(judge: str | os.PathLike, flag: str = "--judge") -> Path:
    """A bundled short name -> the bundled model's folder (which holds its judge); a
    Hub id that is not a local path -> its snapshot folder; anything else ->
    ``Path(judge)`` unchanged (``load_judge`` checks it)."""
    text = str(judge).strip()
    if text in BUNDLED:
        return _bundled(text, JUDGE_FILES, flag, "a judge folder (intergan classifier train)")
    path = Path(text).expanduser()
    if not path.exists() and hub.parse_hub_id(text) and not isinstance(judge, Path):
        return hub.download(text, patterns=hub.JUDGE_PATTERNS)
    return path
