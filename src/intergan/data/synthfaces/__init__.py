"""SynthFaces: a procedural face dataset with ground-truth attribute edits.

Public API (see docs in each module):
- ``render(identity, attrs, size) -> uint8 (S, S, 3)``
- ``region_mask(identity, attr, size) -> bool (S, S)``
- ``sample_identity(rng)``, ``sample_attributes(rng, balanced)``
- ``write_dataset(out, n, size, seed, balanced, ...)``, ``load_identities(dir)``
"""

from intergan.data.synthfaces.export import load_identities, load_records, write_dataset
from intergan.data.synthfaces.identity import (
    ATTRS,
    NEUTRAL,
    enforce_rules,
    sample_attributes,
    sample_identity,
)
from intergan.data.synthfaces.preview import preview_grid, write_preview
from intergan.data.synthfaces.render import region_mask, render

__all__ = [
    "ATTRS",
    "NEUTRAL",
    "enforce_rules",
    "load_identities",
    "load_records",
    "preview_grid",
    "region_mask",
    "render",
    "sample_attributes",
    "sample_identity",
    "write_dataset",
    "write_preview",
]
