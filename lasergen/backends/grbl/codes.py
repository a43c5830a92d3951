"""GRBL 1.1 message tables (error, alarm, setting and build-option codes), from the CSV files
GRBL publishes (doc/csv), shipped in drivers/data. Looked up, never hard-coded in if-chains."""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path

DATA = Path(__file__).parent / "data"


@lru_cache(maxsize=None)
def _table(name: str) -> dict[str, tuple[str, ...]]:
    with open(DATA / f"{name}_codes_en_US.csv", newline="") as f:
        rows = list(csv.reader(f))
    return {row[0].strip(): tuple(cell.strip() for cell in row[1:]) for row in rows[1:] if row}


def error_text(code: int) -> str:
    row = _table("error").get(str(code))
    return f"error:{code} {row[0]}: {row[1]}" if row else f"error:{code} (unknown error code)"


def alarm_text(code: int) -> str:
    row = _table("alarm").get(str(code))
    return f"ALARM:{code} {row[0]}: {row[1]}" if row else f"ALARM:{code} (unknown alarm code)"


def setting_name(number: int) -> str:
    row = _table("setting").get(str(number))
    return f"${number} ({row[0]}, {row[1]})" if row else f"${number}"


def build_option(letter: str) -> str:
    row = _table("build_option").get(letter)
    return row[0] if row else f"unknown option {letter!r}"
