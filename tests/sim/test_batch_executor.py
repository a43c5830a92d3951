"""The executor's batch path (`hardware_sim.grbl.batch`) gives the history the emulator records
line by line: planned rasters, dots, two passes, clamped power, hand-written G-code."""

from __future__ import annotations

import numpy as np
import pytest

from hardware_sim.batch import body_lines, history_of, run_grbl
from hardware_sim.grbl.batch import batch_history
from hardware_sim.ledger import COLUMNS
from lasergen import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import PRESETS
from lasergen.sources.qr import make_qr, qr_mask

from .sim_helpers import MACHINE, planned


def assert_same(lines):
    fast = batch_history(lines, MACHINE)
    assert fast is not None, "not in the dialect"
    slow = run_grbl(lines, MACHINE).recorder.history()
    assert len(fast) == len(slow) > 0
    for name in COLUMNS:
        np.testing.assert_allclose(getattr(fast, name), getattr(slow, name), rtol=1e-12, atol=1e-12, err_msg=name)


def emitted(path):
    return body_lines(path, MACHINE)


def test_planned_qr_raster():
    assert_same(emitted(planned([qr_mask(make_qr("batch"), 2)])))


def test_planned_dots_and_a_rewrite_pass():
    mask = np.zeros((6, 7), bool)
    mask[::2, ::3] = True
    dots = plan(Pattern(20.0, [Layer(mask, "dots", "d")], (20.0, 20.0), dict(PRESETS)), MACHINE)
    two = planned([mask | np.eye(6, 7, dtype=bool), np.eye(6, 7, dtype=bool)])
    assert_same(emitted(dots))
    assert_same(emitted(two))


def test_hand_written_dialect_with_clamp_short_runs_and_reversals():
    lines = ["G21G90G94", "M5", "M3S0", "G0X5Y5", "G1X5.2F24S200", "G1X5.25S0", "G1X5.3S1500", "G1X5.3Y5.1S200",
             "G1X5Y5.1S0", "G0X6Y6", "G1X5.9Y6F300S300", "M5", "G0X6Y5", "G1F3000M3S250", "G4P0.7", "M5",
             "G0X6.02Y5", "G1F3000M3S200", "G4P1.25", "M5", "M3S0", "G0X1Y1", "G1X1.001F24S200", "M5"]
    assert_same(lines)
    hist = batch_history(lines, MACHINE)
    assert hist.clamped.sum() == 1 and hist.s_command.max() == 1500 and hist.is_dwell.sum() == 2


def test_outside_the_dialect_runs_line_by_line():
    assert batch_history(["G21G90", "G0 X5 Y5", "M3 S200", "G1 X6 F24", "M5"], MACHINE) is None
    assert batch_history(["G0X500Y5"], MACHINE) is None           # beyond the soft limits: the alarm is reported
    with pytest.raises(Exception, match="ALARM:2"):
        history_of("G0X500Y5\n", MACHINE)


def _two_planes(mode):
    mask = np.zeros((6, 7), bool)
    mask[1:5, 1:6] = True
    layers = [Layer(mask, mode, "top", depth_um=150.0), Layer(mask, mode, "bottom", depth_um=350.0)]
    return plan(Pattern(20.0, layers, (10.0, 10.0), dict(PRESETS), {}), MACHINE)


@pytest.mark.parametrize("mode", ["write", "dots"])
def test_a_planned_job_in_depth_runs_in_batch_with_the_same_history(mode):
    lines = emitted(_two_planes(mode))
    assert any("Z" in line for line in lines)
    assert_same(lines)
    hist = batch_history(lines, MACHINE)
    written = hist.beam_on.astype(bool)
    assert sorted(set(np.round(hist.z1[written], 4))) == [0.0982, 0.2291]  # two planes, marks at constant Z


def test_hand_written_z_moves_rapid_feed_diagonal_and_a_dot_at_depth():
    lines = ["G21G90G94", "M5", "M3S0", "G0Z0.3", "G0X5Y5", "G1X5.2F24S200", "G1X5.2Z0.25S0", "G1X5.2Z0.2F60S0",
             "G1X5.4Y5.1Z0.21F24S150", "G1X5.5S0", "G0Z0.1", "M5", "G0X6Y5Z0.12", "G1F3000M3S250", "G4P0.7", "M5",
             "G0Z0.1", "G0Z0.1", "M3S0", "G0X1Y1Z0", "G1X1.001F24S200", "M5"]
    assert_same(lines)
    hist = batch_history(lines, MACHINE)
    z_only = (hist.x0 == hist.x1) & (hist.y0 == hist.y1) & (hist.z0 != hist.z1)
    assert z_only.sum() == 5 and not hist.beam_on[z_only].any()
    assert hist.z1[hist.is_dwell.astype(bool)].tolist() == [0.12]


def test_z_outside_the_dialect_or_the_travel_runs_line_by_line():
    assert batch_history(["G0X5Y5", "M3S0Z0.1", "M5"], MACHINE) is None   # Z on a spindle line
    assert batch_history(["G0Z20"], MACHINE) is None                      # beyond Z's travel: an alarm


ARMED = ["G21G90G94", "M5", ";@pass 0 layer 0 recipe r mode raster name x", "M4S0", "G0X10.0759Y10.49",
         "G1X10.08Y10.49F24S0", "X10.22S200", "G0", "G1X10.24F6000S0", "X10.26F24S200", "G0", "G1X10.3S0",
         "G0X10.5041Y10.47", "G1X10.5Y10.47F3000S0", "X10.48F24S1500", "G0", "G1X10.47S0", "M5"]
DOTS = ["G0X12Y12", "G1F3000M3S250", "G4P0.7", "M5", "G0X12.02Y12", "G1F3000M3S200", "G4P1.25", "M5"]


@pytest.mark.parametrize("name, lines", [("armed raster", ARMED + ["M5"]),
                                         ("M3 dots then an armed pass", ["G21G90G94", "M5"] + DOTS + ARMED[2:]),
                                         ("an armed pass then M3 dots", ARMED + DOTS)])
def test_armed_raster_passes_run_in_batch_with_the_same_history(name, lines):
    assert_same(lines)


def test_armed_marks_fire_at_their_s_and_leave_no_rest_exposure():
    hist = batch_history(ARMED + DOTS, MACHINE)
    assert hist is not None, "an armed pass at constant writing speed runs in batch"
    marks = hist.beam_on.astype(bool) & ~hist.is_dwell.astype(bool)
    assert marks.sum() == 3 and hist.clamped[marks].sum() == 1  # S1500 clamped by $30 as under M3
    np.testing.assert_allclose(np.c_[hist.x0[marks], hist.x1[marks]], [[10.08, 10.22], [10.24, 10.26], [10.5, 10.48]])
    np.testing.assert_allclose(hist.v_entry[marks], np.float32(0.4))   # at writing speed throughout
    np.testing.assert_allclose(hist.v_exit[marks], np.float32(0.4))
    rests = hist.is_dwell.astype(bool)
    assert hist.x0[rests].tolist() == [12.0, 12.02] and hist.beam_on[rests].all()  # the M3 dots' rests only


@pytest.mark.parametrize("lines, fires", [
    (["M4S0", "G0X5Y5", "G1X5.1F24S0", "X5.3S200", "M5"], True),           # the mark stops at its end: a ramp
    (["M4S0", "G0X5Y5", "X5.3F24S200", "M5"], False),                      # a bare mark after a G0: a G0 by mode
    (["M3S0", "G0X5Y5", "G1X5.1F24S0", "G0", "X6S200", "M5"], False),      # a bare G0 under M3: GRBL syncs on it
])
def test_armed_forms_the_batch_cannot_take_run_line_by_line(lines, fires):
    assert batch_history(lines, MACHINE) is None
    hist = run_grbl(lines, MACHINE).recorder.history()
    assert len(hist) > 0 and bool(hist.beam_on.any()) == fires
