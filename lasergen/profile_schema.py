"""Checking machine profile tables: every key known, every value of the right kind, one line per fault.

A schema is a table of `key -> Field`; `check_table` returns the table's values with defaults
filled in, or raises LasergenError naming the profile, the table and the key: an unknown key
lists the known ones (a misspelt `junction_deviaton_mm` is caught, not silently defaulted);
NaN, inf, a negative or zero value where a positive one is required, a string where a number
goes and an array of the wrong length are each refused with what was expected.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable

from lasergen import LasergenError

MISSING = object()


@dataclass(frozen=True)
class Field:
    kind: str  # number, int, text, choice, list
    default: Any = MISSING
    minimum: float | None = None  # inclusive unless `exclusive`
    exclusive: bool = False
    maximum: float | None = None  # inclusive (a controller register's range)
    length: int | None = None  # lists: exact length
    choices: tuple = ()
    item: "Field | None" = None  # lists: what each item is
    help: str = ""


def positive(default=MISSING, help="") -> Field:
    return Field("number", default, 0.0, True, help=help)


def non_negative(default=MISSING, help="") -> Field:
    return Field("number", default, 0.0, False, help=help)


def positive_pair(default=MISSING, help="") -> Field:
    return Field("list", default, length=2, item=positive(), help=help)


def _number(value, field: Field, where: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LasergenError(f"{where} must be a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise LasergenError(f"{where} must be a finite number, got {value}")
    if field.minimum is not None:
        if field.exclusive and value <= field.minimum:
            raise LasergenError(f"{where} must be > {field.minimum:g}, got {value:g}")
        if not field.exclusive and value < field.minimum:
            raise LasergenError(f"{where} must be >= {field.minimum:g}, got {value:g}")
    if field.maximum is not None and value > field.maximum:
        raise LasergenError(f"{where} must be <= {field.maximum:g}, got {value:g}")
    return value


def _int(value, field: Field, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise LasergenError(f"{where} must be a whole number, got {value!r}")
    if field.minimum is not None and value < field.minimum:
        raise LasergenError(f"{where} must be >= {field.minimum:g}, got {value}")
    if field.maximum is not None and value > field.maximum:
        raise LasergenError(f"{where} must be <= {field.maximum:g}, got {value}")
    return value


def _text(value, field: Field, where: str) -> str:
    if not isinstance(value, str):
        raise LasergenError(f"{where} must be a string, got {value!r}")
    return value


def _choice(value, field: Field, where: str) -> str:
    if value not in field.choices:
        raise LasergenError(f"{where} must be one of {', '.join(map(str, field.choices))}, got {value!r}")
    return value


def _list(value, field: Field, where: str) -> tuple:
    if not isinstance(value, (list, tuple)):
        raise LasergenError(f"{where} must be an array, got {value!r}")
    if field.length is not None and len(value) != field.length:
        raise LasergenError(f"{where} must have {field.length} values, got {len(value)}")
    return tuple(check_value(v, field.item, f"{where}[{i}]") for i, v in enumerate(value))


CHECKS: dict[str, Callable] = {"number": _number, "int": _int, "text": _text, "choice": _choice, "list": _list}


def check_value(value, field: Field, where: str):
    return CHECKS[field.kind](value, field, where)


def check_table(data, schema: dict[str, Field], where: str) -> dict:
    """The table's values, checked, with defaults for what it leaves out."""
    if not isinstance(data, dict):
        raise LasergenError(f"{where} must be a table, got {data!r}")
    unknown = sorted(set(data) - set(schema))
    if unknown:
        raise LasergenError(f"{where}: unknown key(s) {', '.join(unknown)} (known: {', '.join(schema)})")
    out = {}
    for key, field in schema.items():
        if key in data:
            out[key] = check_value(data[key], field, f"{where}.{key}")
        elif field.default is MISSING:
            raise LasergenError(f"{where}: missing key {key!r}")
        else:
            out[key] = field.default
    return out
