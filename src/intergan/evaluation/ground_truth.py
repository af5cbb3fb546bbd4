"""Ground-truth edits for SynthFaces exports: the exact re-render with the target attributes.

A SynthFaces export (CelebA layout plus ``identities.jsonl``) lets any of its
images be rendered again with other attributes. ``GroundTruth`` maps the images
of one split, in the order the dataset yields them (the dataset's ``names`` when
it has them, else the file order of ``list_eval_partition.txt``), to their
identity and full label set, and renders targets and "outside the edited
region" masks for whole batches.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from intergan.attributes import DEFAULT_ATTRS
from intergan.errors import UserError

IDENTITY_FILE = "identities.jsonl"
REGION_CACHE = 1024  # masks kept: a batch's images x attributes
SPLIT_IDS = {"train": ("0",), "valid": ("1",), "test": ("2",), "all": ("0", "1", "2")}


def is_synthfaces_export(path: str | os.PathLike) -> bool:
    """True when ``path`` is a folder with a SynthFaces identity file."""
    return (Path(path) / IDENTITY_FILE).is_file()


def _export_of_cache(folder: Path) -> Path:
    """The SynthFaces export a prepared cache was made from, else ``folder`` itself."""
    from intergan.data.cache import read_manifest

    if is_synthfaces_export(folder) or not (folder / "manifest.json").is_file():
        return folder
    try:
        source = read_manifest(folder).get("source")
    except UserError:  # not a readable cache: no ground truth, as for any other folder
        return folder
    if isinstance(source, str) and source and is_synthfaces_export(source):
        return Path(source)
    return folder


def _read_partition(folder: Path, split: str) -> list[str]:
    part = folder / "list_eval_partition.txt"
    if split not in SPLIT_IDS:
        raise UserError(f"--split {split!r} is not one of {', '.join(SPLIT_IDS)}")
    if not part.is_file():
        raise UserError(f"{part} is missing; the SynthFaces export is incomplete")
    from intergan.data.formats import read_partition  # the one parser, duplicates refused

    return [f for f, s in read_partition(part).items() if str(s) in SPLIT_IDS[split]]


def _read_labels(folder: Path) -> dict[str, dict[str, int]]:
    """``list_attr_celeba.txt`` -> {file: {attr: 0/1}} for every column in the file."""
    path = folder / "list_attr_celeba.txt"
    if not path.is_file():
        raise UserError(f"{path} is missing; the SynthFaces export is incomplete")
    from intergan.data.formats import read_attr_file

    table = read_attr_file(path)
    return {f: dict(zip(table.columns, map(int, row))) for f, row in zip(table.files, table.values)}


class GroundTruth:
    """Re-renders the images of one split of a SynthFaces export.

    ``attrs``: the model's attributes (order of the label tensors given to
    ``render``/``outside``); ``size``: the render side in pixels.
    """

    def __init__(
        self, folder: str | os.PathLike, files: Sequence[str], attrs: Sequence[str], size: int
    ) -> None:
        from intergan.data import synthfaces

        self._sf = synthfaces
        self.folder = Path(folder)
        self.attrs = list(attrs)
        self.size = size
        self.files = [Path(f).name for f in files]
        identities = synthfaces.load_identities(self.folder)
        labels = _read_labels(self.folder)
        missing = [f for f in self.files if f not in identities or f not in labels]
        if missing:
            raise UserError(
                f"{self.folder}: {len(missing)} images (e.g. {missing[0]}) "
                f"have no entry in {IDENTITY_FILE} or list_attr_celeba.txt; re-export the data"
            )
        self.identities = [identities[f] for f in self.files]
        self.labels = [labels[f] for f in self.files]
        self._regions: dict[tuple[int, str], np.ndarray] = {}  # region masks are costly

    def region(self, index: int, name: str) -> np.ndarray:
        """``synthfaces.region_mask`` of image ``index`` for ``name``, cached."""
        key = (index, name)
        if key not in self._regions:
            if len(self._regions) >= REGION_CACHE:
                self._regions.clear()
            mask = self._sf.region_mask(self.identities[index], name, self.size)
            self._regions[key] = np.asarray(mask, dtype=bool)
        return self._regions[key]

    def __len__(self) -> int:
        return len(self.files)

    def _attr_dict(self, index: int, target01: torch.Tensor) -> dict[str, int]:
        d = dict(self.labels[index])  # attributes the model does not edit keep their value
        for name, value in zip(self.attrs, target01.tolist()):
            d[name] = int(value > 0.5)
        return d

    def render(self, indices: Sequence[int], targets01: torch.Tensor) -> torch.Tensor:
        """Exact images for binary ``targets01`` (B, n): uint8 (B, 3, S, S)."""
        out = [
            self._sf.render(self.identities[i], self._attr_dict(i, t), self.size)
            for i, t in zip(indices, targets01)
        ]
        return torch.from_numpy(np.stack(out)).permute(0, 3, 1, 2).contiguous()

    def outside(self, indices: Sequence[int], changed: torch.Tensor) -> torch.Tensor:
        """bool (B, S, S): pixels outside every region of the attributes ``changed`` (B, n)."""
        masks = []
        for i, row in zip(indices, changed.tolist()):
            region = np.zeros((self.size, self.size), dtype=bool)
            for name, c in zip(self.attrs, row):
                if c:
                    region |= self.region(i, name)
            masks.append(~region)
        return torch.from_numpy(np.stack(masks))


def open_ground_truth(
    folder: str | os.PathLike,
    split: str,
    attrs: Sequence[str],
    size: int,
    dataset: torch.utils.data.Dataset,
) -> tuple[GroundTruth | None, str]:
    """A ``GroundTruth`` for ``dataset`` (one split of ``folder``), else (None, why not).

    ``folder`` may be a cache made by ``intergan prepare`` from a SynthFaces export:
    the identities are read from the export it names (its images are the same)."""
    folder = _export_of_cache(Path(folder))
    if not is_synthfaces_export(folder):
        return None, f"no {IDENTITY_FILE} in {folder}: not a SynthFaces export"
    unknown = [a for a in attrs if a not in DEFAULT_ATTRS]  # SynthFaces renders these 13
    if unknown:
        return None, f"SynthFaces cannot render {', '.join(unknown)}"
    names = getattr(dataset, "names", None)
    files = list(names) if names is not None else _read_partition(Path(folder), split)
    if len(files) != len(dataset):
        return None, (
            f"the {split!r} split lists {len(files)} files but the dataset yields "
            f"{len(dataset)} images; cannot pair images with identities"
        )
    return GroundTruth(folder, files, attrs, size), ""
