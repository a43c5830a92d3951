"""Sweep values from the command line or a spec: `a:b:step` (arithmetic, b included when the
steps land on it), `a:b:xF` (geometric, factor F > 1), `a,b,c` (a list) or one number.

    120:240:20   -> 120, 140, ..., 240
    0.1:1.6:x2   -> 0.1, 0.2, 0.4, 0.8, 1.6
Values are rounded to 9 significant digits so 0.1 + 0.2 steps print as 0.3, not 0.30000000000000004.
"""

from __future__ import annotations

import math

from lasergen import LasergenError

MAX_VALUES = 200  # a sweep longer than this is a typo (a grid of 200 x 200 cells is ~50 mm wide)


def _number(text: str, what: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise LasergenError(f"{what}: {text!r} is not a number") from None
    if not math.isfinite(value):
        raise LasergenError(f"{what}: {text!r} is not a finite number")
    return value


def _tidy(value: float) -> float:
    return float(f"{value:.9g}")


def parse_sweep(text, what: str = "sweep") -> list[float]:
    """The values a sweep names, in the order written (a list) or ascending (a range)."""
    if isinstance(text, (int, float)) and not isinstance(text, bool):
        return [_number(str(text), what)]
    if isinstance(text, (list, tuple)):
        values = [_number(str(v), what) for v in text]
    else:
        text = str(text).strip()
        if ":" in text:
            values = _range(text, what)
        else:
            values = [_number(part.strip(), what) for part in text.split(",") if part.strip()]
    if not values:
        raise LasergenError(f"{what}: no values in {text!r}")
    if len(values) > MAX_VALUES:
        raise LasergenError(f"{what}: {len(values)} values (at most {MAX_VALUES})")
    if len(set(values)) != len(values):
        raise LasergenError(f"{what}: a value appears twice in {text!r}")
    return values


def _range(text: str, what: str) -> list[float]:
    parts = text.split(":")
    if len(parts) != 3:
        raise LasergenError(f"{what}: a range is 'start:stop:step' or 'start:stop:xFACTOR', got {text!r}")
    start, stop = _number(parts[0], what), _number(parts[1], what)
    step_text = parts[2].strip()
    if stop < start:
        raise LasergenError(f"{what}: range {text!r} runs downwards (start > stop)")
    if step_text[:1] in ("x", "X", "*"):
        factor = _number(step_text[1:], what)
        if factor <= 1:
            raise LasergenError(f"{what}: geometric factor must be > 1, got {step_text!r}")
        if start <= 0:
            raise LasergenError(f"{what}: a geometric range must start above 0, got {start:g}")
        count = int(math.floor(math.log(stop / start) / math.log(factor) + 1e-9)) + 1
        if count > MAX_VALUES:
            raise LasergenError(f"{what}: {count} values (at most {MAX_VALUES})")
        return [_tidy(start * factor ** k) for k in range(count)]
    step = _number(step_text, what)
    if step <= 0:
        raise LasergenError(f"{what}: step must be > 0, got {step_text!r}")
    count = int(math.floor((stop - start) / step + 1e-9)) + 1
    if count > MAX_VALUES:
        raise LasergenError(f"{what}: {count} values (at most {MAX_VALUES})")
    return [_tidy(start + k * step) for k in range(count)]
