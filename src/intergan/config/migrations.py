"""Reading configs written by earlier versions: fields added since, and fields removed.

A saved config (a checkpoint's, an export's, a run's config.json) must build the model
it was written with. Fields added after files existed get the value that reproduces
the old models; a removed option reads as long as the file holds its old default
(what every such model was built with), and is a clear error otherwise. A data field
added since (``data.framing``) takes its default, which means "not recorded".
"""

from __future__ import annotations

from typing import Any

from intergan.errors import UserError

# What a saved `bottleneck: 0` means: the per-size defaults of the files that stored 0
# (checkpoints and exports written before 2026-12-02, the bundled model's included).
# 8x8 and 16x16 generators have the same parameter shapes, so reading such a file with
# a changed BOTTLENECK_BY_SIZE would build the wrong model without an error. Files
# written since record the resolved side (Config.to_dict). Never edit this table.
SAVED_ZERO_BOTTLENECK = {32: 8, 64: 8, 128: 16, 256: 16, 512: 32}
# Fields added after checkpoints existed, and the value that reproduces the old models.
LEGACY_MODEL_FIELDS = {
    "head_norm": lambda m: m.get("norm", "instance"),
    "cti_start": lambda m: 1,
    "cti_init": lambda m: "default",
}
# Options removed, by section: {field: (the default every file may hold, why it went)}.
REMOVED_FIELDS: dict[str, dict[str, tuple[Any, str]]] = {
    "model": {
        "rgb_skips": (
            False,
            "output skips: no gain under the full recipe, docs/recipe.md section 15",
        ),
    },
    "train": {
        "keep_d_scale": (
            False,
            "holding D's filter norms: never measured in a run, docs/recipe.md section 5",
        ),
    },
}


def drop_removed(section: str, values: dict[str, Any]) -> dict[str, Any]:
    """``values`` without the removed fields that hold their old default; a removed
    field set otherwise is a ``UserError`` (this version cannot build that model)."""
    removed = REMOVED_FIELDS.get(section, {})
    if not removed.keys() & values.keys():
        return values
    for name in removed.keys() & values.keys():
        default, why = removed[name]
        if values[name] != default:
            raise UserError(
                f"{section}.{name} is {values[name]!r}: this version has no such option "
                f"any more ({why}) and reads only its default, {default!r}; use an intergan "
                "from before 2026-12-08 for this file"
            )
    return {k: v for k, v in values.items() if k not in removed}


def legacy_model(values: dict[str, Any]) -> dict[str, Any]:
    """A saved model section from before a field existed builds the model it saved."""
    if not values or "bottleneck" in values:
        return values
    values = dict(values)
    values["bottleneck"] = values.get("img_size", 64) // 2 ** values.get("n_down", 4)
    for name, old in LEGACY_MODEL_FIELDS.items():
        values.setdefault(name, old(values))
    return values


def saved_model(values: dict[str, Any]) -> dict[str, Any]:
    """The model section of a file written with a model: as ``legacy_model``, and a
    ``bottleneck`` of 0 becomes the side those files meant."""
    values = legacy_model(values)
    if values.get("bottleneck") == 0 and values.get("variant", "intergan") != "attgan":
        size = values.get("img_size", 64)
        if isinstance(size, int) and size in SAVED_ZERO_BOTTLENECK:
            values = {**values, "bottleneck": SAVED_ZERO_BOTTLENECK[size]}
    return values
