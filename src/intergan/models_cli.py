"""``intergan models``: the models ``--model NAME`` finds on this machine.

Lists the models shipped in the package, the exports in the user's model folder
(``models_home()``, where ``intergan import`` writes) and the intergan exports in the
Hugging Face cache (``--model org/name``), each with its kind, size, image size,
whether it holds a judge, and its attributes (what ``edit --set`` takes).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from intergan.errors import UserError
from intergan.models import hub
from intergan.models.export import find_judge
from intergan.models.io import read_config
from intergan.models.pretrained import BUNDLED, bundled_dir, local_models, models_home


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--paths", action="store_true", help="also print each model's folder")


def _size(folder: Path) -> int:
    return sum(f.stat().st_size for f in folder.iterdir() if f.is_file())


def _mb(n: int) -> str:
    return f"{n / 1e6:.1f} MB"


def found_models() -> list[tuple[str, str, Path, int | None]]:
    """``(name, kind, folder, bytes)`` of every model ``--model NAME`` can load by name:
    bundled, then imports (``models_home()``), then the Hub cache."""
    rows: list[tuple[str, str, Path, int | None]] = []
    for name in BUNDLED:
        folder = bundled_dir(name)
        rows.append((name, "bundled", folder, _size(folder) if folder.is_dir() else None))
    for name, folder in local_models().items():
        rows.append((name, "import", folder, _size(folder)))
    for repo, folder, size in hub.cached_models():
        rows.append((repo, "hub cache", folder, size))
    return rows


def describe(folder: str | os.PathLike) -> str:
    """``64 px, judge, 13 attributes: Bald, Bangs, ...`` for a model folder (or why not)."""
    try:
        m = read_config(folder).model
    except UserError as e:
        return f"unreadable ({e})"
    judge = ", judge" if find_judge(folder) else ""
    return f"{m.img_size} px{judge}, {len(m.attrs)} attributes: {', '.join(m.attrs)}"


def run(args: argparse.Namespace) -> int:
    for name, kind, folder, size in found_models():
        if size is None:
            print(f"{name} ({kind}): not in this copy of intergan")
            continue
        print(f"{name} ({kind}, {_mb(size)}): {describe(folder)}")
        if args.paths:
            print(f"  {folder}")
    print(
        f"\nimports are looked up in {models_home()} (INTERGAN_HOME); Hub models load by id "
        "(--model org/name[@revision]) and are cached by huggingface_hub"
        + ("" if hub.available() else f" ({hub.HUB_EXTRA})")
    )
    return 0
