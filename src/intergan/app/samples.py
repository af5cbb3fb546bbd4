"""Built-in sample faces for the web editor: SynthFaces renders made on the fly.

The samples are already framed like the training data, so the page opens them
with face alignment off. They are written once per process as PNGs so the page
can show them as thumbnails and open them like any upload.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from PIL import Image

from intergan.data import synthfaces

SAMPLE_SEED = 2024  # fixed: the same faces on every machine


def sample_faces(n: int, size: int, seed: int = SAMPLE_SEED) -> list[np.ndarray]:
    """``n`` SynthFaces renders (size, size, 3) uint8 with varied attributes."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        identity = synthfaces.sample_identity(rng)
        attrs = synthfaces.sample_attributes(rng, balanced=True)
        out.append(synthfaces.render(identity, attrs, size))
    return out


def write_samples(n: int, size: int, out: str | Path | None = None) -> list[Path]:
    """Save ``n`` sample faces as ``sample_K.png`` in ``out`` (a new temp dir if None)."""
    folder = Path(out) if out else Path(tempfile.mkdtemp(prefix="intergan-samples-"))
    folder.mkdir(parents=True, exist_ok=True)
    paths = []
    for k, face in enumerate(sample_faces(n, size)):
        p = folder / f"sample_{k + 1}.png"
        Image.fromarray(face).save(p)
        paths.append(p)
    return paths
