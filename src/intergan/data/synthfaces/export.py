"""Writing a SynthFaces dataset in the CelebA layout, and reading identities back.

Layout of ``out/``::

    img_align_celeba/000001.png ...   the images (PNG, size x size)
    list_attr_celeba.txt              count line, the 40 CelebA names, then rows
                                      ``000001.png -1  1 ...`` (1 / -1)
    list_eval_partition.txt           ``000001.png 0`` (0 train, 1 valid, 2 test)
    identities.jsonl                  one JSON object per image: file, attrs, identity
    synthfaces.json                   the arguments that made the set

CelebA columns SynthFaces does not model are -1, except two it draws: Gray_Hair
(1 when no hair colour is set, not bald, and the identity's fallback hair colour
is grey rather than red) and Wearing_Lipstick (1 when Male=0: women get lipstick).

The set is written into a temporary folder beside ``out`` and renamed into place
at the end, so an interrupted run never leaves a folder that looks complete.
"""

from __future__ import annotations

import json
import math
import multiprocessing as mp
import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
from PIL import Image

from intergan.attributes import CELEBA_ATTRS
from intergan.data.formats import write_attr_file, write_partition
from intergan.data.synthfaces.identity import (
    ATTRS,
    HAIR,
    VERSION,
    restrict,
    sample_attributes,
    sample_identity,
)
from intergan.data.synthfaces.render import render
from intergan.errors import UserError
from intergan.files import output_folder

IMAGES = "img_align_celeba"
ATTR_FILE, PARTITION_FILE = "list_attr_celeba.txt", "list_eval_partition.txt"
IDENTITY_FILE, META_FILE = "identities.jsonl", "synthfaces.json"


def sample_record(seed: int, index: int, balanced: bool, vary: Sequence[str]) -> tuple:
    """Identity and labels of image ``index`` of a set made with ``seed``.

    Each image has its own generator ``default_rng([seed, index])``, so a record does
    not depend on the others, on ``n`` or on the number of worker processes.
    """
    rng = np.random.default_rng([seed, index])
    ident = sample_identity(rng)
    labels = sample_attributes(rng, balanced)
    return ident, restrict(labels, vary)


def celeba_row(labels: dict, ident: dict) -> list[int]:
    """The 40 CelebA values (1 / -1) for one image; see the module docstring."""
    v = {a: -1 for a in CELEBA_ATTRS}
    for a in ATTRS:
        v[a] = 1 if labels[a] else -1
    no_colour = not any(labels[h] for h in HAIR)
    if no_colour and not labels["Bald"] and ident["alt_hair_grey"]:
        v["Gray_Hair"] = 1
    if not labels["Male"]:
        v["Wearing_Lipstick"] = 1
    return [v[a] for a in CELEBA_ATTRS]


def split_counts(n: int, split: Sequence[float]) -> tuple[int, int, int]:
    """Train/valid/test sizes: valid and test rounded, train takes the rest."""
    ok = len(split) == 3 and all(math.isfinite(f) and f >= 0 for f in split)
    if not ok or abs(sum(split) - 1) > 1e-6:
        raise UserError(f"split must be three fractions >= 0 that sum to 1, got {list(split)}")
    n_valid, n_test = round(n * split[1]), round(n * split[2])
    return n - n_valid - n_test, n_valid, n_test


def _render_chunk(job: tuple) -> int:
    folder, size, items = job
    for name, ident, labels in items:
        path = os.path.join(folder, name)
        Image.fromarray(render(ident, labels, size)).save(path, format="PNG", compress_level=1)
    return len(items)


def _render_all(folder: Path, size: int, items: list, workers: int, progress: bool) -> None:
    chunk = 128
    jobs = [(str(folder), size, items[i : i + chunk]) for i in range(0, len(items), chunk)]
    from tqdm import tqdm

    with tqdm(total=len(items), unit="img", desc="synth", disable=not progress) as bar:
        if workers > 1 and len(jobs) > 1:
            method = "fork" if "fork" in mp.get_all_start_methods() else "spawn"
            with mp.get_context(method).Pool(workers) as pool:
                for done in pool.imap_unordered(_render_chunk, jobs):
                    bar.update(done)
                pool.close()
                pool.join()
        else:
            for job in jobs:
                bar.update(_render_chunk(job))


def _write_tables(tmp: Path, names: list[str], records: list, counts: tuple) -> None:
    rows = np.array([celeba_row(labels, ident) for ident, labels in records]) > 0
    write_attr_file(tmp / ATTR_FILE, CELEBA_ATTRS, names, rows)
    write_partition(
        tmp / PARTITION_FILE, names, [0] * counts[0] + [1] * counts[1] + [2] * counts[2]
    )
    with open(tmp / IDENTITY_FILE, "w", newline="\n") as f:
        for name, (ident, labels) in zip(names, records):
            row = {"file": name, "attrs": labels, "identity": ident}
            f.write(json.dumps(row, sort_keys=True, separators=(",", ":")) + "\n")


def is_synthfaces_data(path: str | os.PathLike) -> bool | None:
    """Whether training data at ``path`` is SynthFaces: an export (its ``synthfaces.json``)
    or a cache packed from one (its manifest says so). None when ``path`` is not here."""
    p = Path(path)
    if (p / META_FILE).is_file():
        return True
    manifest = p / "manifest.json"
    if manifest.is_file():
        try:
            return bool(json.loads(manifest.read_text()).get("synthfaces", False))
        except (OSError, ValueError, AttributeError):
            return None
    return False if p.is_dir() else None


def write_dataset(
    out: str | os.PathLike,
    n: int,
    size: int = 64,
    seed: int = 0,
    balanced: bool = False,
    attrs: Sequence[str] | None = None,
    split: Sequence[float] = (0.9, 0.05, 0.05),
    overwrite: bool = False,
    workers: int | None = None,
    progress: bool = False,
) -> Path:
    """Render ``n`` faces of ``size`` px into ``out`` in the CelebA layout; returns ``out``.

    ``attrs``: the attributes that vary (default: all 13); the others are fixed at
    ``identity.NEUTRAL`` (feature absent: 0, but No_Beard=1 and Young=1), except
    where a conflict rule forces them (Mustache=1 forces No_Beard=0).
    ``workers``: processes for rendering (default: the CPU count, at most 8).
    """
    if not isinstance(n, int) or n < 1:
        raise UserError(f"--n must be a positive number of images, got {n!r}")
    if not isinstance(size, int) or not 16 <= size <= 1024:
        raise UserError(f"--size must be between 16 and 1024 pixels, got {size!r}")
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**32:
        raise UserError(f"--seed must be a whole number from 0 to 2**32 - 1, got {seed!r}")
    vary = list(ATTRS if attrs is None else attrs)
    for a in vary:
        if a not in ATTRS:
            raise UserError(f"SynthFaces cannot vary {a!r}; it renders only {', '.join(ATTRS)}")
    counts = split_counts(n, split)
    out = Path(out)
    with output_folder(out, overwrite) as tmp:
        records = [sample_record(seed, i, balanced, vary) for i in range(n)]
        width = max(6, len(str(n)))
        names = [f"{i + 1:0{width}d}.png" for i in range(n)]
        (tmp / IMAGES).mkdir()
        items = [(nm, ident, lab) for nm, (ident, lab) in zip(names, records)]
        workers = workers or min(os.cpu_count() or 1, 8)
        _render_all(tmp / IMAGES, size, items, workers, progress)
        _write_tables(tmp, names, records, counts)
        meta = {"format": "synthfaces", "version": VERSION, "n": n, "size": size,
                "seed": seed, "balanced": balanced, "attrs": vary, "split": list(split),
                "counts": list(counts)}  # fmt: skip
        (tmp / META_FILE).write_text(json.dumps(meta, indent=2) + "\n")
    return out


def load_records(folder: str | os.PathLike) -> list[dict]:
    """The rows of ``identities.jsonl``: dicts with ``file``, ``attrs`` and ``identity``."""
    path = Path(folder) / IDENTITY_FILE
    if not path.is_file():
        raise UserError(f"{path} not found: is {folder} a SynthFaces export (intergan synth)?")
    rows, seen = [], {}
    with open(path) as f:
        for k, line in enumerate(f, 1):
            try:
                row = json.loads(line)
                rows.append(
                    {"file": row["file"], "attrs": row["attrs"], "identity": row["identity"]}
                )
                first = seen.setdefault(row["file"], k)
            except (ValueError, KeyError, TypeError) as e:
                raise UserError(f"{path} line {k} is not a SynthFaces identity record: {e}") from e
            if first != k:
                raise UserError(
                    f"{path}: line {k} repeats {row['file']!r} (first on line {first}); "
                    "keep one record per image"
                )
    return rows


def load_identities(folder: str | os.PathLike) -> dict[str, dict]:
    """{file name: identity} from a SynthFaces export, to re-render any image."""
    return {r["file"]: r["identity"] for r in load_records(folder)}
