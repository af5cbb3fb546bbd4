"""The type check of a loaded config file: each field's value against its type hint.

One small checker for the types the config uses (int, float, str, bool, list[str],
X | None), shared by ``Config.from_dict``, ``--set`` (``overrides``) and judge.json.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from typing import Any

from intergan.errors import UserError


def check_types(kind, values: dict[str, Any], section: str) -> dict[str, Any]:
    """``values`` checked against the dataclass ``kind``'s field types (int, float, str,
    bool, list[str], X | None): the one place a loaded file's types are checked.

    Returns a copy with integers given for float fields made floats. Raises a
    ``UserError`` naming ``section.field`` and the type it needs.
    """
    hints = typing.get_type_hints(kind)
    names = [f.name for f in dataclasses.fields(kind)]
    unknown = sorted(set(values) - set(names))
    if unknown:
        raise UserError(
            f"unknown config field(s) {', '.join(section + '.' + u for u in unknown)}; "
            f"valid: {', '.join(sorted(names))}"
        )
    out = {}
    for name, value in values.items():
        ok, value = _typed(value, hints[name])
        if not ok:
            raise UserError(
                f"{section}.{name} is {value!r:.60} ({type(value).__name__}): "
                f"expected {type_name(hints[name])}"
            )
        out[name] = value
    return out


def optional_arg(hint: Any) -> Any:
    """The X of a type hint ``X | None``; ``None`` for any other hint."""
    args = typing.get_args(hint)
    return next(a for a in args if a is not type(None)) if type(None) in args else None


def _typed(value: Any, hint: Any) -> tuple[bool, Any]:
    """(does ``value`` fit ``hint``, the value to keep)."""
    optional = optional_arg(hint)
    if optional is not None:  # X | None
        if value is None:
            return True, None
        return _typed(value, optional)
    if hint is bool:
        return isinstance(value, bool), value
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool), value
    if hint is float:
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if number and math.isfinite(value):
            return True, float(value)
        return False, value
    if hint is str:
        return isinstance(value, str), value
    if typing.get_origin(hint) is list:
        (item,) = typing.get_args(hint)
        ok = isinstance(value, list) and all(_typed(v, item)[0] for v in value)
        return ok, list(value) if ok else value
    return True, value  # a type this checker does not know: left to the field's validation


def type_name(hint: Any) -> str:
    """How an error names the type a field needs."""
    if optional_arg(hint) is not None:
        return type_name(optional_arg(hint)) + " or null"
    if typing.get_origin(hint) is list:
        return f"a list of {type_name(typing.get_args(hint)[0]).split()[-1]}s"
    names = {bool: "true or false", int: "an integer", float: "a finite number", str: "a string"}
    return names.get(hint, str(hint))
