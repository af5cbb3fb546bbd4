"""How the command line changes a config: the fields with flags of their own, and
``--set SECTION.FIELD=VALUE`` for every field.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import TYPE_CHECKING, Any

from intergan.attributes import resolve_attrs
from intergan.config.typecheck import optional_arg, type_name
from intergan.errors import UserError

if TYPE_CHECKING:
    from intergan.config.schema import Config

# TrainConfig fields that `intergan train` sets with a flag of their own; TRAIN_FLAGS
# are the plain ones (the flag's value is the field's). The others are set with --set.
TRAIN_FLAGS = (
    "steps",
    "epochs",
    "batch_size",
    "lr",
    "n_d",
    "lr_decay_at",
    "rec_warmup",
    "n_d_warmup",
    "mode",
    "b_distribution",
    "thres_int",
    "test_int",
    "amp",
    "device",
    "seed",
    "log_every",
    "sample_every",
    "sample_count",
    "checkpoint_every",
    "keep_last",
)
TRAIN_FLAGGED = frozenset((*TRAIN_FLAGS, "ema", "channels_last", "compile", "deterministic"))


def train_field(name: str) -> str:
    """A train field as an error names it: with its flag, or how to ``--set`` it."""
    if name in TRAIN_FLAGGED:
        return f"train.{name} (--{name.replace('_', '-')})"
    return f"train.{name} (--set train.{name}=...)"


def _coerce(value: str, current: Any, key: str, hint: Any) -> Any:
    """``value`` as the type of ``current``; a field declared ``X | None`` (``hint``)
    also takes none/null, and an unset one is read as an X."""
    optional = optional_arg(hint)
    if optional is not None:
        if value.lower() in ("none", "null"):
            return None
        if current is None and optional is not str:
            current = optional()  # int(), float(), bool(): only the type matters
    try:
        if isinstance(current, bool):
            if value.lower() not in ("true", "false", "1", "0", "yes", "no"):
                raise ValueError
            return value.lower() in ("true", "1", "yes")
        if isinstance(current, int):
            return int(value)
        if isinstance(current, float):
            number = float(value)
            if not math.isfinite(number):
                raise UserError(f"--set {key}={value}: expected a finite number")
            return number
        if isinstance(current, list):
            return resolve_attrs(value) if key == "model.attrs" else value.split(",")
    except ValueError:
        raise UserError(f"--set {key}={value}: expected {type_name(hint)}") from None
    return value


def apply_overrides(cfg: Config, items: list[str]) -> None:
    """Apply ``--set SECTION.FIELD=VALUE`` items to ``cfg`` in place, each value coerced
    to the field's type; a wrong key or value is a ``UserError`` naming it."""
    for item in items:
        key, sep, value = item.partition("=")
        section, _, name = key.partition(".")
        obj = getattr(cfg, section, None) if section in ("model", "data", "train") else None
        if not sep or obj is None or name not in {f.name for f in dataclasses.fields(obj)}:
            raise UserError(
                f"--set {item!r}: use SECTION.FIELD=VALUE with a field of "
                "model, data or train (see a run's config.json)"
            )
        hint = typing.get_type_hints(type(obj))[name]
        setattr(obj, name, _coerce(value, getattr(obj, name), key, hint))
