"""GRBL 1.1's message codes (errors, alarms, settings, build options): one table, the project's own.

`data/codes.csv` holds one row per code: kind (error, alarm, setting, option), code (a number,
or a build-option letter), key (the name code refers to it by, e.g. STATUS["word_repeated"]),
a short name and a description written for lasergen's users. The numbers are GRBL's
(interface facts); the words are ours. It is package data, read through importlib.resources,
so an installed lasergen finds it wherever it lives. Looked up, never hard-coded in if-chains.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

KINDS = ("error", "alarm", "setting", "option")


@dataclass(frozen=True)
class Code:
    kind: str
    code: str
    key: str
    name: str
    description: str


@lru_cache(maxsize=None)
def table() -> tuple[Code, ...]:
    text = resources.files(__package__).joinpath("data", "codes.csv").read_text(encoding="utf-8")
    return tuple(Code(**row) for row in csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=None)
def _by_code(kind: str) -> dict[str, Code]:
    return {row.code: row for row in table() if row.kind == kind}


@lru_cache(maxsize=None)
def keyed(kind: str) -> dict[str, int]:
    """key -> code number for a numeric kind, e.g. keyed("error")["axis_command_conflict"] == 24."""
    return {row.key: int(row.code) for row in table() if row.kind == kind}


def lookup(kind: str, code) -> Code | None:
    return _by_code(kind).get(str(code))


def error_text(code: int) -> str:
    row = lookup("error", code)
    return f"error:{code} {row.name}: {row.description}" if row else f"error:{code} (unknown error code)"


def alarm_text(code: int) -> str:
    row = lookup("alarm", code)
    return f"ALARM:{code} {row.name}: {row.description}" if row else f"ALARM:{code} (unknown alarm code)"


def setting_name(number: int) -> str:
    row = lookup("setting", number)
    return f"${number} ({row.name})" if row else f"${number}"


def build_option(letter: str) -> str:
    row = lookup("option", letter)
    return row.name if row else f"unknown option {letter!r}"
