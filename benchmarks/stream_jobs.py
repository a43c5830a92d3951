"""The raster jobs `stream_bench.py` streams: a pattern of about N G-code lines, by kind.

stripes: every scan line alternates one-pixel marks and gaps (each mark a barrier unit of two
lines); rows: one 100-pixel mark per scan line (three lines, one barrier); dither: a
Floyd-Steinberg dithered grey ramp, the scattered marks of one to a few pixels that a
dithered photo gives (as the bitmaps the sender issue compared).
"""

from __future__ import annotations

import numpy as np

from lasergen.job import render_job
from lasergen.machine import MachineProfile
from lasergen.pattern import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import PRESETS, Recipe

COLS = 120


def _stripes_mask(target_lines: int) -> np.ndarray:
    """Each scan line alternates one-pixel marks and gaps: every mark a barrier unit of two lines."""
    mask = np.zeros((max(1, target_lines // (COLS + 3)), COLS), bool)
    mask[:, ::2] = True
    return mask


def _rows_mask(target_lines: int) -> np.ndarray:
    """One 100-pixel mark per scan line (three lines per scan line, one barrier)."""
    mask = np.zeros((max(1, target_lines // 4), COLS), bool)
    mask[:, 10:110] = True
    return mask


def _dither_mask(target_lines: int) -> np.ndarray:
    """A Floyd-Steinberg dithered grey ramp (light to dark across, a slow wave down): the
    scattered marks of one to a few pixels a dithered photo gives."""
    from PIL import Image

    from lasergen.sources.bitmap import gray_to_mask

    def mask_of(rows: int) -> np.ndarray:
        x, y = np.meshgrid(np.linspace(0.1, 0.9, COLS), np.arange(rows))
        gray = np.clip(x + 0.1 * np.sin(y / 7.0), 0, 1)
        return gray_to_mask(Image.fromarray((255 * gray).astype(np.uint8)), dither="floyd-steinberg")

    probe = mask_of(100)
    runs_per_row = np.count_nonzero(probe[:, 1:] & ~probe[:, :-1], axis=1).mean() + probe[:, 0].mean()
    return mask_of(max(1, int(target_lines / (2 * runs_per_row + 3))))


PATTERNS = {"stripes": _stripes_mask, "rows": _rows_mask, "dither": _dither_mask}
PITCH_UM = {"rows": 5.0}  # a line of rows is four G-code lines: a finer pitch keeps 20,000 lines in travel


def stripes(target_lines: int, speed_mm_s: float | None = None, kind: str = "stripes") -> Pattern:
    """A raster pattern of about target_lines G-code lines (`PATTERNS`: stripes by default)."""
    recipe = Recipe() if speed_mm_s is None else Recipe(speed_mm_s=speed_mm_s)
    return Pattern(PITCH_UM.get(kind, 20.0), [Layer(PATTERNS[kind](target_lines), "write", kind)], (5.0, 5.0),
                   {**PRESETS, "write": recipe})


def raster_job(target_lines: int, machine: MachineProfile, speed_mm_s: float | None = None,
               kind: str = "stripes", armed: bool = True) -> str:
    """The job as lasergen writes it (raster passes armed under M4), or with `armed=False` its
    body as earlier versions wrote it (M3, one barrier per mark when streamed; no header)."""
    pattern = stripes(target_lines, speed_mm_s, kind)
    path = plan(pattern, machine)
    if armed:
        return render_job(pattern, path, machine)
    from lasergen.backends.grbl.gcode.emit import emit_body

    return b"".join(emit_body(path, machine, {}, armed=False)).decode()
