"""Toolpath -> G-code body in the GRBL 1.1 laser dialect, formatted with numpy, not per line.

Per toolpath row:
  RAPID  G0X<x>Y<y>                          (laser mode gates the beam off in G0)
  LINE   G1X<x>Y<y>F<mm/min>S<power>         (S0 = blank move at constant speed)
  DWELL  G1M3S<power> / G4P<s> / M5          (a dot: laser on at rest, then off)
Every motion line carries absolute X, Y, F and S, so any line can be resumed from with no
modal history but G21 G90, the position and, inside a raster pass, M3.
A raster pass is bracketed by `M3S0` and `M5`; a `;@pass` comment names it for the reader.
Numbers are written as fixed point with trailing zeros trimmed, by building a byte matrix
(rows x columns) with 0 as "no character" and dropping the zeros in one pass: ~10^7 lines/min.
"""

from __future__ import annotations

import numpy as np

from ..machine import MachineProfile
from ..toolpath import DWELL, LINE, RAPID, Toolpath

CHUNK_ROWS = 500_000


def number_columns(values: np.ndarray, decimals: int) -> np.ndarray:
    """Fixed-point ASCII of each value, right-aligned; 0 bytes where no character goes."""
    scale = 10 ** decimals
    scaled = np.rint(np.abs(values) * scale).astype(np.int64)
    negative = (values < 0) & (scaled > 0)
    int_part, frac = np.divmod(scaled, scale)
    n_int = max(1, len(str(int(int_part.max(initial=0)))))
    out = np.zeros((len(values), 1 + n_int + 1 + decimals), dtype=np.uint8)
    digits_int = int_part[:, None] // 10 ** np.arange(n_int - 1, -1, -1) % 10
    significant = (int_part[:, None] >= 10 ** np.arange(n_int - 1, -1, -1)) | (np.arange(n_int) == n_int - 1)
    out[:, 1:1 + n_int] = np.where(significant, digits_int + 48, 0)
    first_digit = n_int - significant.sum(axis=1)  # index of the first written int digit
    out[np.flatnonzero(negative), first_digit[negative]] = ord("-")
    if decimals:
        digits_frac = frac[:, None] // 10 ** np.arange(decimals - 1, -1, -1) % 10
        # trailing zeros go, and the point with them when the fraction is zero
        keep = np.flip(np.cumsum(np.flip(digits_frac, axis=1), axis=1), axis=1) > 0
        out[:, 2 + n_int:] = np.where(keep, digits_frac + 48, 0)
        out[:, 1 + n_int] = np.where(keep[:, 0], ord("."), 0)
    return out


def literal(n: int, text: str, where: np.ndarray | None = None) -> np.ndarray:
    col = np.frombuffer(text.encode(), dtype=np.uint8)[None, :].repeat(n, axis=0)
    if where is not None:
        col = col * where[:, None].astype(np.uint8)
    return col


def _masked(cols: np.ndarray, where: np.ndarray) -> np.ndarray:
    return cols * where[:, None].astype(np.uint8)


def format_rows(path: Toolpath, machine: MachineProfile) -> bytes:
    """The G-code lines of toolpath rows (no pass brackets), as one bytes object."""
    n = len(path)
    if n == 0:
        return b""
    rapid, line, dwell = path.kind == RAPID, path.kind == LINE, path.kind == DWELL
    move = rapid | line
    s_value = machine.energy_to_s(path.energy_uJ)
    parts = [
        literal(n, "G0", rapid), literal(n, "G1", line), literal(n, "G1M3S", dwell),
        _masked(number_columns(s_value, 1), dwell), literal(n, "\nG4P", dwell),
        _masked(number_columns(path.dwell_s, 3), dwell), literal(n, "\nM5", dwell),
        literal(n, "X", move), _masked(number_columns(path.x1, 4), move),
        literal(n, "Y", move), _masked(number_columns(path.y1, 4), move),
        literal(n, "F", line), _masked(number_columns(path.speed_mm_s * 60.0, 2), line),
        literal(n, "S", line), _masked(number_columns(s_value, 1), line),
        literal(n, "\n"),
    ]
    matrix = np.hstack(parts)
    flat = matrix.ravel()
    return flat[flat != 0].tobytes()


def pass_comment(pass_id: int, layer: int, layer_name: str, recipe: str, mode: str) -> str:
    return f";@pass {pass_id} layer {layer} recipe {recipe} mode {mode} name {layer_name}"[:79]


def emit_body(path: Toolpath, machine: MachineProfile, pass_info: dict[int, dict]) -> str:
    """Program body: units/modes, each pass bracketed, laser off at the end."""
    out = ["G21G90G94", "M5"]
    if len(path):
        bounds = np.flatnonzero(np.r_[True, path.pass_id[1:] != path.pass_id[:-1], True])
        for a, b in zip(bounds[:-1], bounds[1:]):
            pid = int(path.pass_id[a])
            info = pass_info.get(pid, {})
            mode = info.get("mode", "dots" if (path.kind[a:b] == DWELL).any() else "raster")
            out.append(pass_comment(pid, int(path.layer[a]), info.get("name", ""), info.get("recipe", ""), mode))
            if mode == "raster":
                out.append("M3S0")
            chunks = [format_rows(path.take(slice(c, min(c + CHUNK_ROWS, b))), machine).decode()
                      for c in range(a, b, CHUNK_ROWS)]
            out.append("".join(chunks).rstrip("\n"))
            if mode == "raster":
                out.append("M5")
    out.append("M5")
    return "\n".join(out) + "\n"
