"""SynthFaces: a procedural face dataset with ground-truth attribute edits.

Public API (see docs in each module):
- ``render(identity, attrs, size) -> uint8 (S, S, 3)``
- ``region_mask(identity, attr, size) -> bool (S, S)``
- ``sample_identity(rng)``, ``sample_attributes(rng, balanced)``
- ``write_dataset(out, n, size, seed, balanced, ...)``, ``load_identities(dir)``
"""

from intergan.data.synthfaces.identity import (
    ATTRS,
    NEUTRAL,
    enforce_rules,
    sample_attributes,
    sample_identity,
)
from intergan.data.synthfaces.render import region_mask, render

__all__ = [
    "ATTRS",
    "NEUTRAL",
    "enforce_rules",
    "region_mask",
    "render",
    "sample_attributes",
    "sample_identity",
]
