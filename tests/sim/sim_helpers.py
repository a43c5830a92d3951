"""Small jobs for the simulator tests: single dots, single lines, planned patterns (small grids)."""

from __future__ import annotations

from lasergen import Job

import numpy as np

from hardware_sim.glass.report import build_report
from hardware_sim.glass.simulate import simulate
from lasergen import MachineProfile
from lasergen import Layer, Pattern
from lasergen import Recipe
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

MACHINE = MachineProfile.load()
PITCH_UM = 2.0


def dot_path(dwell_s: float, energy_uJ: float = 200.0, at=(5.0, 5.0)) -> Toolpath:
    return Toolpath.from_columns(kind=[RAPID, DWELL], x1=[at[0]] * 2, y1=[at[1]] * 2,
                                 dwell_s=[0.0, dwell_s], energy_uJ=[0.0, energy_uJ]).chain()


def line_path(speed_mm_s: float, energy_uJ: float = 200.0, length_mm: float = 1.0, passes: int = 1,
              at=(5.0, 5.0)) -> Toolpath:
    """A horizontal line with a blank run-up and run-out, written `passes` times (serpentine)."""
    x0, y = at
    run = 0.05
    parts = []
    for p in range(passes):
        xs = [x0 - run, x0, x0 + length_mm, x0 + length_mm + run]
        if p % 2:
            xs = xs[::-1]
        parts.append(Toolpath.from_columns(kind=[RAPID, LINE, LINE, LINE], x1=xs, y1=y, speed_mm_s=speed_mm_s,
                                           energy_uJ=[0.0, 0.0, energy_uJ, 0.0], pass_id=p))
    return Toolpath.concat(parts).chain()


def run(path, material="BrI", **kw):
    pred = simulate(path, MACHINE, material, pitch_um=kw.pop("pitch_um", PITCH_UM), **kw)
    return pred, build_report(pred)


def planned(masks: list[np.ndarray], pitch_um: float = 20.0, recipes=("write", "rewrite"), meta=None) -> Toolpath:
    layers = [Layer(m, recipes[min(i, len(recipes) - 1)], f"L{i}") for i, m in enumerate(masks)]
    pattern = Pattern(pitch_um, layers, (5.0, 5.0), {"write": Recipe(), "rewrite": Recipe()}, meta or {})
    return Job.plan(pattern, MACHINE).toolpath


def pixel_values(pred, values: np.ndarray, x_mm, y_mm) -> np.ndarray:
    fr, fc = pred.grid.fractional_index(np.asarray(x_mm), np.asarray(y_mm))
    return values[np.rint(fr).astype(int), np.rint(fc).astype(int)]
