"""What every dataset reader returns (:class:`Source`) and the helpers they share
to find a layout's files on disk (``intergan.data.sources``, ``intergan.data.hq``)."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from intergan.data import formats as F
from intergan.errors import UserError

IMAGE_EXTS = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"})
ATTR_FILE = "list_attr_celeba.txt"  # CelebA's label file (also read for CelebA-HQ)


@dataclass
class Source:
    """A labelled image folder, whatever its format."""

    format: str  # celeba | celebahq | custom
    root: Path
    image_dir: Path
    label_file: Path
    columns: list[str]  # the label file's attribute names
    names: list[str]  # per row: the label file's name for the image
    paths: list[Path | None]  # per row: the image file, None when missing
    labels: np.ndarray  # (N, C) uint8 in {0, 1}
    split: np.ndarray  # (N,) int8: 0 train, 1 valid, 2 test
    split_rule: str  # how the split was made, for messages
    unlabelled: list[str] = field(default_factory=list)  # image files with no label row
    synthfaces: bool = False

    @property
    def missing(self) -> list[str]:
        """Labelled names whose image file does not exist."""
        return [n for n, p in zip(self.names, self.paths) if p is None]

    def indices(self, split: str) -> np.ndarray:
        """Row indices of the present images in ``split`` (train|valid|test|all)."""
        present = np.array([p is not None for p in self.paths], dtype=bool)
        if split == "all":
            return np.nonzero(present)[0]
        return np.nonzero(present & (self.split == split_id(split)))[0]

    def require_match(self) -> None:
        """Raise if the label file and the image folder disagree."""
        missing = self.missing
        if missing:
            raise UserError(
                f"{len(missing)} image(s) listed in {self.label_file} are not in "
                f"{self.image_dir}, e.g. {', '.join(missing[:3])}; point --data at the "
                "complete folder, or pass --skip-bad to skip them"
            )
        if self.unlabelled:
            raise UserError(
                f"{len(self.unlabelled)} image(s) in {self.image_dir} have no row in "
                f"{self.label_file}, e.g. {', '.join(self.unlabelled[:3])}; add their rows, "
                "move them out, or pass --skip-bad to ignore them"
            )


def split_id(split: str) -> int:
    if split not in F.SPLITS:
        raise UserError(f"unknown split {split!r}; use train, valid, test or all")
    return F.SPLITS.index(split)


def find_first(root: Path, candidates: tuple[str, ...], want_dir: bool) -> Path | None:
    for c in candidates:
        p = root / c
        if p.is_dir() if want_dir else p.is_file():
            return p
    return None


def list_images(folder: Path) -> dict[str, Path]:
    """Image files directly inside ``folder``: name -> path.

    A link that leads nowhere (dangling, or a loop) is listed like a file: it is one
    bad image, which decoding names (``data check``) and ``--skip-bad`` skips, not a
    missing one and not an error that stops the listing."""
    with os.scandir(folder) as it:
        return {
            e.name: Path(e.path)
            for e in it
            if os.path.splitext(e.name)[1].lower() in IMAGE_EXTS and _file_or_bad_link(e)
        }


def _file_or_bad_link(entry: os.DirEntry) -> bool:
    try:
        return entry.is_file() or entry.is_symlink()  # a dangling link is no file
    except OSError:  # ELOOP: a symbolic link loop
        return True


def find_image_dir(root: Path, candidates: tuple[str, ...]) -> Path:
    found = find_first(root, candidates, True)
    folder = found or root
    if not list_images(folder):
        raise UserError(
            f"no images (*.jpg, *.png, ...) in {folder}; put the images there or in "
            f"one of {', '.join(c + '/' for c in candidates)}"
        )
    return folder
