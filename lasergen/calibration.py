"""Calibration grids: a process-window test pattern, one cell per recipe.

The classic first job on a new glass or laser (the central paper's Fig. 1): rows sweep pulse
energy, columns sweep exposure, i.e. the dwell of a static dot (`mode = "dots"`) or the speed
of a written line (`mode = "raster"`). Every cell is its own layer with its own recipe, so the
job manifest, the simulator's per-layer statistics and the photo of the written sample can be
read cell by cell. Image row 0 (the top of the grid) is the lowest energy.

    [calibration]
    mode = "dots"                       # or "raster"
    energies_uJ = [100, 150, 200, 250]
    dwells_s = [0.5, 1.0, 1.5, 2.0]     # dots;  raster: speeds_mm_s = [0.2, 0.4, 0.8]
    cell_um = 200                        # cell pitch
    pitch_um = 20                        # grid pitch
    line_um = 120                        # raster: length of each written line
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError
from lasergen.composition import HEAD_KEYS, refuse_unknown, spec_head, table_of
from lasergen.pattern import Layer, Pattern
from lasergen.quantities import checked
from lasergen.recipe import Recipe

DEFAULTS = {"mode": "dots", "energies_uJ": [100.0, 150.0, 200.0, 250.0], "dwells_s": [0.5, 1.0, 1.5, 2.0],
            "speeds_mm_s": [0.2, 0.4, 0.8, 1.6], "cell_um": 200.0, "pitch_um": 20.0, "line_um": 120.0,
            "rep_rate_kHz": 10.0}
SWEEP = {"dots": ("dwells_s", "dwell_s"), "raster": ("speeds_mm_s", "speed_mm_s")}


def _sweep(values, kind: str, where: str) -> list[float]:
    if not isinstance(values, list) or not values:
        raise LasergenError(f"{where}: empty sweep or not a list of numbers: {values!r}")
    return [checked(kind, v, where) for v in values]


def _settings(spec: dict) -> dict:
    cal = table_of(spec, "calibration")
    refuse_unknown(cal, DEFAULTS, "calibration")
    s = {**DEFAULTS, **cal}
    if not isinstance(s["mode"], str) or s["mode"] not in SWEEP:
        raise LasergenError(f"calibration: mode must be one of {tuple(SWEEP)}, got {s['mode']!r}")
    sweep_key, recipe_field = SWEEP[s["mode"]]
    s["energies_uJ"] = _sweep(s["energies_uJ"], "energy_uJ", "calibration energies_uJ")
    s[sweep_key] = _sweep(s[sweep_key], recipe_field, f"calibration {sweep_key}")
    for key, kind in (("cell_um", "cell_um"), ("pitch_um", "pitch_um"), ("line_um", "line_um"),
                      ("rep_rate_kHz", "rep_rate_kHz")):
        s[key] = checked(kind, s[key], f"calibration {key}")
    cell_px = s["cell_um"] / s["pitch_um"]
    line_px = s["line_um"] / s["pitch_um"]
    if cell_px < 2 or cell_px != int(cell_px) or line_px != int(line_px) or line_px >= cell_px:
        raise LasergenError(f"calibration: cell_um ({s['cell_um']}) and line_um ({s['line_um']}) must be whole "
                            f"multiples of pitch_um ({s['pitch_um']}) with line_um < cell_um")
    return s


def pattern_from_calibration(spec: dict) -> Pattern:
    s = _settings(spec)
    sweep_key, recipe_field = SWEEP[s["mode"]]
    energies, exposures = [float(e) for e in s["energies_uJ"]], [float(v) for v in s[sweep_key]]
    cell = int(s["cell_um"] / s["pitch_um"])
    line = int(s["line_um"] / s["pitch_um"])
    shape = (cell * len(energies), cell * len(exposures))
    layers, recipes, cells = [], {}, []
    for row, energy in enumerate(energies):
        for col, exposure in enumerate(exposures):
            name = f"E{energy:g}uJ_{recipe_field.split('_')[0]}{exposure:g}"
            recipes[name] = Recipe(energy_uJ=energy, rep_rate_kHz=float(s["rep_rate_kHz"]), mode=s["mode"],
                                   **{recipe_field: exposure})
            mask = np.zeros(shape, dtype=bool)
            r0, c0 = row * cell + cell // 2, col * cell + (cell - line) // 2
            if s["mode"] == "dots":
                mask[r0, col * cell + cell // 2] = True
            else:
                mask[r0, c0:c0 + line] = True
            layers.append(Layer(mask, name, name))
            cells.append({"layer": name, "energy_uJ": energy, recipe_field: exposure, "row": row, "col": col})
    head = spec_head(spec, HEAD_KEYS - {"pitch_um"})  # the grid's pitch is [calibration] pitch_um
    meta = {"source": "calibration", "mode": s["mode"], "cells": cells, "material": head["material"]}
    return Pattern(float(s["pitch_um"]), layers, head["origin_mm"], recipes, meta)
