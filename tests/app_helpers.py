"""Shared set-up for the app tests: a tiny random model exported like a real one.

The model is the real InterGAN generator (tiny preset, 32 px, random weights)
written with the real export code, plus a tiny random judge classifier, so the
web editor and the demo run their whole path; only the weights are untrained.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image

from intergan.config import Config, model_config
from intergan.models import build_generator
from intergan.models.export import save_exported
from intergan.models.judge import JudgeArch, build_judge

SIZE = 32


def export_tiny(out: Path, attrs=None, seed: int = 0) -> Path:
    """Export a tiny random generator + judge into ``out``; returns ``out``."""
    torch.manual_seed(seed)
    cfg = Config(model=model_config("tiny", img_size=SIZE, attrs=attrs))
    save_exported(build_generator(cfg.model), cfg, out)
    build_judge(cfg.model.attrs, SIZE, JudgeArch(width=4)).save(out)
    return out


def sample_face(seed: int = 3, size: int = SIZE) -> tuple[np.ndarray, dict, dict]:
    """A SynthFaces render (size, size, 3) uint8, its identity and its labels."""
    from intergan.data import synthfaces

    rng = np.random.default_rng(seed)
    identity = synthfaces.sample_identity(rng)
    labels = synthfaces.sample_attributes(rng, balanced=True)
    return synthfaces.render(identity, labels, size), identity, labels


def save_png(image: np.ndarray, path: Path) -> Path:
    Image.fromarray(image).save(path)
    return path


def web_handlers(model: Path, folder: Path, max_pixels: int = 10**6, **limits):
    """The web page's callbacks offering ``model`` under the name ``str(model)``, with
    their open pictures in ``folder`` (``limits``: the store's bounds)."""
    from intergan.app.catalog import Catalog
    from intergan.app.handlers import Handlers
    from intergan.app.store import Store

    return Handlers(Catalog({str(model): Path(model)}), Store(folder, **limits), max_pixels)
