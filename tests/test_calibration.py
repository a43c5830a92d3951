"""Calibration grids: one cell per (energy, dwell or speed), each its own layer and recipe."""

import numpy as np
import pytest

from lasergen import LasergenError
from lasergen.planner import plan
from lasergen.spec import pattern_from_file, pattern_from_spec

from .conftest import PATTERNS



def test_shipped_dot_grid_sweeps_energy_down_and_dwell_across(machine):
    pattern = pattern_from_file(PATTERNS / "calibration_grid.toml")
    path = plan(pattern, machine)
    dots = path.is_dwell
    assert dots.sum() == 16 and len(pattern.layers) == 16
    xy = np.column_stack([path.x0[dots], path.y0[dots]])
    energy, dwell = path.energy_uJ[dots], path.dwell_s[dots]
    # higher on the stage (larger Y) = lower energy; further right = longer dwell
    for a in range(16):
        for b in range(16):
            if xy[a, 1] > xy[b, 1] + 1e-6:
                assert energy[a] < energy[b]
            if xy[a, 0] > xy[b, 0] + 1e-6:
                assert dwell[a] > dwell[b]
    assert sorted(set(np.round(dwell, 3))) == [0.5, 1.0, 1.5, 2.0]


def test_raster_grid_writes_one_line_per_cell(machine):
    spec = {"calibration": {"mode": "raster", "energies_uJ": [150, 200], "speeds_mm_s": [0.4, 0.8, 1.6],
                            "cell_um": 200, "line_um": 120}}
    pattern = pattern_from_spec(spec)
    path = plan(pattern, machine)
    marks = path.is_mark
    assert marks.sum() == 6
    np.testing.assert_allclose(path.length_mm[marks], 0.12)
    assert sorted(set(path.speed_mm_s[marks].round(2))) == [0.4, 0.8, 1.6]


@pytest.mark.parametrize("cal, message", [
    ({"mode": "spiral"}, "mode must be one of"),
    ({"cell_um": 30}, "whole multiples"),
    ({"energies_uJ": []}, "empty sweep"),
    ({"dwell": [1]}, "unknown key"),
])
def test_bad_calibration_settings(cal, message):
    with pytest.raises(LasergenError, match=message):
        pattern_from_spec({"calibration": cal})
