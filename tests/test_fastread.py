"""The vectorised reader gives exactly the interpreter's toolpath on lasergen's own jobs, and
leaves everything else (other dialects, errors) to the interpreter."""

from lasergen import Job
import numpy as np
import pytest

from lasergen import LasergenError
from lasergen.backends.grbl.gcode.fastread import fast_read
from lasergen.backends.grbl.gcode.reader import interpret_program, read_program
from lasergen import MachineProfile
from lasergen import Layer, Pattern
from lasergen import Recipe
from lasergen.recipe import PRESETS
from lasergen import pattern_from_file
from lasergen.toolpath import COLUMNS

from .conftest import PATTERNS



def _mixed(machine, origin=(10.0, 20.0)):
    rng = np.random.default_rng(2)
    base = rng.random((20, 30)) < 0.5
    recipes = {**PRESETS, "rewrite": Recipe(passes=2, speed_mm_s=3.0), "dots": Recipe(mode="dots", dwell_s=0.75)}
    return Pattern(20.0, [Layer(base, "write", "w"), Layer(base & (rng.random(base.shape) < 0.4), "rewrite", "r"),
                          Layer(rng.random(base.shape) < 0.05, "dots", "d")], origin, recipes)


def _centred_machine():
    m = MachineProfile.load()
    return MachineProfile(**{**m.__dict__, "x_range_mm": (-50.0, 50.0), "y_range_mm": (-50.0, 50.0)})


JOBS = {
    "mixed raster, rewrite and dots": lambda m: _mixed(m),
    "negative coordinates": lambda m: _mixed(m, origin=(-5.3, -2.1)),
    "three-level E/F": lambda m: pattern_from_file(PATTERNS / "three_level_EF.toml"),
    "calibration grid": lambda m: pattern_from_file(PATTERNS / "calibration_grid.toml"),
}


def assert_same(lines, machine):
    fast = fast_read(lines, machine)
    assert fast is not None, "lasergen's own job must take the vectorised path"
    ref = interpret_program(lines, machine)
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(fast[0], name), getattr(ref.toolpath, name), err_msg=name)
    np.testing.assert_array_equal(fast[1], ref.row_line)


@pytest.mark.parametrize("name", sorted(JOBS))
def test_identical_to_the_interpreter(name):
    machine = _centred_machine() if "negative" in name else MachineProfile.load()
    pattern = JOBS[name](machine)
    assert_same(Job.plan(pattern, machine).text.splitlines(), machine)


def test_without_pass_markers_passes_follow_the_laser(machine):
    pattern = _mixed(machine)
    lines = [line for line in Job.plan(pattern, machine).text.splitlines()
             if not line.startswith(";")]
    assert_same(lines, machine)


@pytest.mark.parametrize("text", [
    "G21 G90\nG0 X1 Y1\n",          # spaces: another sender's style
    "g0x1y1\n",                     # lower case
    "G1X1Y1F100S0\nG2X2Y2I1J0\n",   # an arc
    "$32=1\nG0X1Y1\n",              # a setting line
])
def test_other_dialects_go_to_the_interpreter(machine, text):
    lines = text.splitlines()
    assert fast_read(lines, machine) is None
    assert len(read_program(lines, machine).toolpath) >= 1


def test_errors_are_the_interpreters(machine):
    lines = ["G21G90G94", "G1X1S0"]  # G1 before any F: GRBL's error:22
    assert fast_read(lines, machine) is None
    with pytest.raises(LasergenError, match="error:22"):
        read_program(lines, machine)
