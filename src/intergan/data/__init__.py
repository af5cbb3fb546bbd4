"""Datasets: CelebA, CelebA-HQ, custom folders, SynthFaces exports and prepared caches."""

from intergan.data.datasets import build_dataset
from intergan.data.loader import make_loader, set_epoch

__all__ = ["build_dataset", "make_loader", "set_epoch"]
