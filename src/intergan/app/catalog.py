"""The models a web editor offers: the only ones its page can load.

The operator names them when starting the server: every ``--model`` (a bundled
name, an exported folder, a run or a checkpoint), every export in each
``--models-dir`` folder, and the user's imports (``intergan import``, in
``models_home()``) unless ``--no-imports``. The page shows them by name in a menu
and loads a model by that name only: it never takes a path, so a visitor cannot
make the server open, or tell the existence of, any other file. A name the menu
does not hold is refused with the list of names; a listed model that fails to load
is reported by name, its path and the details going to the server's log.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from intergan.errors import UserError
from intergan.models.pretrained import BUNDLE_FILES, is_bundled, local_models, resolve_model

GENERIC = {"export", "exported", "model", "checkpoints", "final", "latest"}


class NotOffered(UserError):
    """A model name the server's menu does not hold."""


@dataclass
class Catalog:
    """Menu name -> model path (what ``Editor.from_pretrained`` loads), in menu order;
    the first is the one the page starts with."""

    models: dict[str, Path] = field(default_factory=dict)

    @classmethod
    def build(
        cls, models: list[str], dirs: list[str] | None = None, imports: bool = True
    ) -> Catalog:
        """The menu from the server's flags. Each ``models`` entry must exist (a
        ``UserError`` before serving, naming it); ``dirs`` must be folders."""
        out = cls()
        for m in models:
            path = resolve_model(m, "--model")
            out.add(str(m).strip() if is_bundled(m) else display_name(path), path)
        for d in dirs or []:
            folder = Path(d).expanduser()
            if not folder.is_dir():
                raise UserError(f"--models-dir {d!r} is not a folder; pass a folder of exports")
            for sub in sorted(folder.iterdir()):
                if sub.is_dir() and all((sub / f).is_file() for f in BUNDLE_FILES):
                    out.add(sub.name, sub)
        if imports:
            for name, path in local_models().items():
                out.add(name, path)
        if not out.models:
            raise UserError("no model to serve: pass --model NAME (e.g. synthfaces-64)")
        return out

    def add(self, name: str, path: Path) -> None:
        """Add ``path`` as ``name`` (a path already listed is skipped; a taken name
        gets `` (2)``, `` (3)``...)."""
        if any(p.resolve() == path.resolve() for p in self.models.values()):
            return
        base, k = name, 2
        while name in self.models:
            name, k = f"{base} ({k})", k + 1
        self.models[name] = path

    @property
    def names(self) -> list[str]:
        return list(self.models)

    @property
    def default(self) -> str:
        return self.names[0]

    def path(self, name: str | None) -> Path:
        """The path of menu entry ``name``; ``NotOffered`` (listing the menu) otherwise."""
        key = str(name or "").strip()
        if key not in self.models:
            raise NotOffered(
                f"model {key!r} is not offered by this server; choose one of: "
                + ", ".join(self.names)
            )
        return self.models[key]


def display_name(path: Path) -> str:
    """A short menu name for a model path: its folder's name, with the parent's in front
    when the name alone says little (``runs/celeba/export`` -> ``celeba/export``)."""
    path = Path(path)
    name = path.stem if path.is_file() else path.name
    if name.lower() in GENERIC or path.is_file():
        parent = path.parent
        if parent.name.lower() in GENERIC:  # runs/x/checkpoints/step_1.pt
            parent = parent.parent
        name = f"{parent.name}/{name}" if parent.name else name
    return name
