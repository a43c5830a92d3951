"""G-code: emit -> parse gives the same toolpath; every line is one GRBL 1.1 accepts; the laser is
gated off around travel; bad blocks get GRBL's own error codes."""

import numpy as np
import pytest

from lasergen import LasergenError
from lasergen.backends.grbl.gcode import GcodeError, Interpreter, clean_line
from lasergen.backends.grbl import motion
from lasergen.backends.grbl.gcode.emit import as_written, emit_body, number_columns
from lasergen.job import read_job, render_job
from lasergen import Layer, Pattern
from lasergen.planner import plan
from lasergen import Recipe
from lasergen.recipe import PRESETS
from lasergen.toolpath import COLUMNS, LINE, RAPID


def _job(machine):
    rng = np.random.default_rng(5)
    base = rng.random((12, 15)) < 0.5
    top = base & (rng.random((12, 15)) < 0.5)
    dots = rng.random((12, 15)) < 0.1
    recipes = {**PRESETS, "rewrite": Recipe(passes=2, speed_mm_s=1.0), "dots": Recipe(mode="dots", dwell_s=1.25,
                                                                                       energy_uJ=150.0)}
    pat = Pattern(20.0, [Layer(base, "write", "w"), Layer(top, "rewrite", "rw"), Layer(dots, "dots", "d")],
                  (10.0, 20.0), recipes, {"source": "test"})
    path = plan(pat, machine)
    return pat, path, render_job(pat, path, machine, "BrI")


def test_round_trip_same_toolpath(machine):
    """Read back, the body gives the toolpath as written: the planner's, but for an armed pass's
    in-line rapids into marks, which are the blank G1s at the top rate that arm them."""
    pat, path, text = _job(machine)
    back = read_job(text, machine).toolpath
    written = as_written(path, machine, {})
    assert len(back) == len(path)
    converted = (path.kind == RAPID) & (written.kind == LINE)
    assert converted.any() and text.count("\nM4S0\n") >= 1
    for name in COLUMNS:
        np.testing.assert_allclose(getattr(back, name), getattr(written, name), atol=1e-4, err_msg=name)


def test_armed_and_m3_bodies_take_the_same_time_and_write_the_same_marks(machine):
    """GRBL plans a blank G1 at (or above) the axes' top rate exactly as the G0 it replaces (the
    nominal speed is capped by the rates along the move either way) and forces no planner sync
    on a bare G0 under M4, so arming changes neither the plan nor the marks. (Checked on GRBL
    1.1h's own code too: the same job armed and under M3 ran to the same time to the microsecond.)"""
    pat, path, text = _job(machine)
    armed = read_job(text, machine).toolpath
    m3 = read_job(b"".join(emit_body(path, machine, {}, armed=False)).decode(), machine).toolpath
    assert motion.estimate(armed, machine)["time_s"] == motion.estimate(m3, machine)["time_s"]
    assert motion.estimate(path, machine)["time_s"] == motion.estimate(m3, machine)["time_s"]
    for name in COLUMNS:
        np.testing.assert_array_equal(getattr(armed.take(armed.is_mark), name), getattr(m3.take(m3.is_mark), name))


def test_every_line_is_short_and_accepted_by_grbl_rules(machine):
    _, _, text = _job(machine)
    interp = Interpreter(laser_mode=True)
    for raw in text.splitlines():
        assert len(raw) < 80, raw
        block = clean_line(raw)
        if block:
            interp.execute(block)  # raises GcodeError with GRBL's code on anything GRBL rejects


def test_laser_is_off_in_travel_and_at_the_end(machine):
    _, _, text = _job(machine)
    interp = Interpreter(laser_mode=True)
    lines = [line for line in text.splitlines() if clean_line(line)]
    assert lines[-1] == "M5"
    for raw in lines:
        for action in interp.execute(clean_line(raw)):
            if action.kind == "move" and action.rapid:
                assert action.power_s == 0
    assert interp.state.spindle == "M5"


def test_manifest_describes_the_job(machine):
    pat, path, text = _job(machine)
    job = read_job(text, machine)
    m = job.manifest
    assert m["format"] == "lasergen-job" and m["material"] == "BrI"
    assert m["counts"]["marks"] == int(path.is_mark.sum())
    assert m["counts"]["passes"] == 4  # write, rewrite x2, dots
    assert [layer["name"] for layer in m["layers"]] == ["w", "rw", "d"]
    assert m["estimate"]["time_s"] > 0 and m["promises"] == {"source": "test"}


def test_edited_body_is_detected(machine):
    _, _, text = _job(machine)
    edited = text.replace("S200", "S250", 1)
    with pytest.raises(LasergenError, match="checksum"):
        read_job(edited, machine)
    assert len(read_job(edited, machine, check_sum=False).toolpath)


@pytest.mark.parametrize("block, code", [
    ("G1X1", 22),  # no feed rate
    ("G0X1P2", 36),  # unused word
    ("G0G1X1", 24),  # two motion commands: axis command conflict (gcode.c checks it before the modal group)
    ("G17G18", 21),  # modal group violation
    ("G5X1", 20),  # unsupported command
    ("X", 2),  # bad number
    ("G4", 28),  # missing P
    ("G1X1F-2", 4),  # negative feed
    ("G1.5X1", 23),  # G0-G3 take no decimal
    ("G28.5", 20),
    ("M3.5", 23),
    ("G43X1", 20),
    ("G0X1X2", 25),  # repeated word
    ("G80X1", 31),  # axis words with no command using them
    ("G2X1Y1F10", 35),  # arc without offsets
    ("G1M3S200", 22),  # explicit G1 needs a feed even without axis words
    ("1X", 1),
])
def test_rejected_blocks_get_grbl_codes(block, code):
    with pytest.raises(GcodeError) as err:
        Interpreter().execute(clean_line(block))
    assert err.value.code == code


def test_laser_mode_rules():
    it = Interpreter(laser_mode=True)
    it.execute("G1F60")
    assert it.execute("M3S100")[0].kind == "spindle"
    move = it.execute("G0X1")[0]
    assert move.power_s == 0  # G0 never fires
    it.execute("G1M3S300")
    dwell = it.execute("G4P0.5")[0]
    assert dwell.power_s == 300  # M3 keeps power through a dwell in G1
    it.execute("M4")
    assert it.execute("G4P0.5")[0].power_s == 0  # M4 does not fire at rest


def test_number_formatting():
    values = np.array([0, 1.5, -2.25, 123.4567, 0.00004, -0.00001, 99.99999, -0.5])
    out = [bytes(r[r != 0]).decode() for r in number_columns(values, 4)]
    assert out == ["0", "1.5", "-2.25", "123.4567", "0", "0", "100", "-0.5"]


def test_parse_reports_line_and_code(machine):
    with pytest.raises(LasergenError, match=r"line 2: error:22"):
        read_job("G21G90\nG1X1\n", machine)


def test_g1_without_axes_still_needs_a_feed():
    # GRBL 1.1 rejects `G1M3S200` with error:22 until an F has been set; with F it only sets modes
    with pytest.raises(GcodeError) as err:
        Interpreter().execute("G1M3S200")
    assert err.value.code == 22
    it = Interpreter()
    assert [a.kind for a in it.execute("G1F3000M3S200")] == ["spindle"]
    with pytest.raises(GcodeError) as err:
        it.execute("G2")
    assert err.value.code == 26
