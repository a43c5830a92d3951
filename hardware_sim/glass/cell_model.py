"""The simulator reduced to isolated calibration-grid cells: what `calibrate fit` and `window`
evaluate thousands of times.

A grid cell (a dot or a short line, cells >= 150 um apart) is written far beyond the thermal
interaction length of its neighbours (PHYSICS D.19: the melt reaches ~30 um, cells sit 250 um
apart), so the full simulator's prediction of a cell equals the simulator run on that cell's
exposure alone. This module does exactly that, with nothing hand-made in between:
  1. the cell's recipe is planned as a one-cell grid (`lasergen.calib.grid`, no fiducials or
     labels) and executed on the emulated controller (`hardware_sim.batch`) once per recipe: its
     beam history (cached, it does not depend on the material);
  2. `exposure.expose` on a small grid around it (the simulator's own pipeline: incubation,
     Arrhenius dose, dissolution, damage, Avrami), and `phase_model.phases` for the intensities;
  3. sizes as the simulator's features measure them, but sub-pixel so the fit sees a smooth
     function: a dot's lit area counts each pixel's lit fraction (X linearly interpolated to the
     detection level across the pixel, exact for a locally linear X), a line's width is
     `features.line_widths_um` (already sub-pixel);
  4. intensities as `calibrate measure` reports them: the mean green and red over the feature,
     relative to a fully crystallized single-pass spot (what the fiducials are).
`tests/calib/test_cell_model.py` checks the reduction against the full simulator on a grid.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from hardware_sim.glass.exposure import Grid, expose, margin_for
from hardware_sim.glass.features import line_widths_um
from hardware_sim.glass.material import Material
from hardware_sim.glass.phase_model import phases
from hardware_sim.ledger import BeamHistory

FIT_PITCH_UM = 1.0  # finer than the simulator's default 2 um: sizes are smooth in the parameters


@dataclass(frozen=True)
class Cell:
    """One grid cell's recipe (units in the names), as a CSV row of `calibrate measure` gives it."""
    mode: str                  # "dots" or "lines"
    energy_uJ: float
    rep_rate_kHz: float = 10.0
    passes: int = 1
    dwell_s: float = 1.5       # dots
    speed_mm_s: float = 0.4    # lines
    line_um: float = 150.0     # lines: written length

    def recipe_values(self) -> dict:
        exposure = {"dwell_s": [self.dwell_s]} if self.mode == "dots" else {"speed_mm_s": [self.speed_mm_s]}
        return {"energy_uJ": [self.energy_uJ], "rep_rate_kHz": [self.rep_rate_kHz], "passes": [self.passes], **exposure}


@lru_cache(maxsize=4096)
def cell_history(cell: Cell) -> BeamHistory:
    """The beam history of one cell written on its own (planned and run on the emulated controller)."""
    from hardware_sim.batch import history_of
    from lasergen.calib.grid import GridSpec, grid_parts
    from lasergen.machine import MachineProfile
    from lasergen.planner import plan

    machine = MachineProfile.load()
    spec = GridSpec(mode=cell.mode, values=cell.recipe_values(), fiducials=False, labels=False,
                    cell_um=max(250.0, 10.0 * np.ceil((cell.line_um + 20.0) / 10.0)),
                    line_um=cell.line_um if cell.mode == "lines" else None)
    part = grid_parts(spec)[0]
    rig = machine if cell.rep_rate_kHz == machine.rep_rate_kHz else replace(machine, rep_rate_kHz=cell.rep_rate_kHz)
    return history_of(plan(part.pattern, rig), rig).exposures()


@dataclass
class CellPrediction:
    size_um: float          # dot diameter or line width (0: dark)
    green_rel: float        # mean green over the feature / a fully crystallized single-pass spot
    red_rel: float
    damaged: bool


def lit_fraction(crystallized: np.ndarray, detect: float) -> np.ndarray:
    """Per pixel, the share of it where X >= detect, X linear across the pixel (smooth in X)."""
    gy, gx = np.gradient(crystallized.astype(np.float64))
    slope = np.hypot(gx, gy)
    with np.errstate(divide="ignore", invalid="ignore"):
        frac = np.where(slope > 1e-9, 0.5 + (crystallized - detect) / np.maximum(slope, 1e-9), 0.0)
    return np.where(slope > 1e-9, np.clip(frac, 0.0, 1.0), (crystallized >= detect).astype(np.float64))


def reference_intensity(material: Material) -> tuple[float, float]:
    """Green and red of a fully crystallized, single-pass pixel (the fiducials' glow)."""
    one = np.ones((1, 1), np.float32)
    maps = phases(one, np.zeros((1, 1), np.float32), material)
    return float(maps.green[0, 0]), float(maps.red[0, 0])


def predict_cell(cell: Cell, material: Material, pitch_um: float = FIT_PITCH_UM) -> CellPrediction:
    history = cell_history(cell)
    grid = Grid.around(history.bounds_mm(), pitch_um, margin_for(history, material, pitch_um))
    exposure = expose(history, material, grid)
    plane = exposure.planes[0]
    x = exposure.crystallized
    detect = material.kinetics["detect_fraction"]
    weight = lit_fraction(x, detect)
    area_px = float(weight.sum())
    if cell.mode == "dots":
        size = 2.0 * np.sqrt(area_px * grid.pixel_area_um2 / np.pi)
    else:
        size = float(line_widths_um(history, grid, x >= detect, crystallized=x, detect=detect).get("median_um", 0.0))
    if area_px <= 0.5:  # under half a pixel lit: dark, as a photo sees it
        return CellPrediction(0.0, 0.0, 0.0, bool(exposure.damaged.any()))
    maps = phases(x, plane.rewrites, material, share=plane.rewritten_share())
    g_ref, r_ref = reference_intensity(material)
    green = float((maps.green * weight).sum() / area_px) / g_ref if g_ref > 0 else 0.0
    red = float((maps.red * weight).sum() / area_px) / r_ref if r_ref > 0 else 0.0
    return CellPrediction(float(size), green, red, bool(exposure.damaged.any()))


def predict_cells(cells: list[Cell], material: Material, pitch_um: float = FIT_PITCH_UM) -> np.ndarray:
    """(n, 3) array: size_um, green_rel, red_rel per cell."""
    out = np.empty((len(cells), 3))
    for i, cell in enumerate(cells):
        p = predict_cell(cell, material, pitch_um)
        out[i] = (p.size_um, p.green_rel, p.red_rel)
    return out
