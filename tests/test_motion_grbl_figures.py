"""The time model against figures measured on GRBL 1.1h itself.

Each expected time below was obtained by streaming the G-code lasergen emits for the toolpath
(header `G21G90G94`, the rows, `M5`) through GRBL 1.1h's own parser, planner, segment
generator and stepper ISR, compiled natively with stubbed AVR registers and a virtual clock
(planner kept full by the sender, $11=0.01, $110/$111=3000, $120/$121=200, $32=1, all other
settings at GRBL's defaults: $1=25 ms, $100/$101=250 steps/mm). The times include the 25 ms
stepper idle lock GRBL takes each time the steppers run dry and G4's 50 ms dwell steps.
"""

import numpy as np
import pytest

from lasergen.backends.grbl import motion
from lasergen.backends.grbl.gcode.emit import format_rows
from lasergen import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

MACHINE = MachineProfile.load()


def _toolpath(rows):
    kind, x1, y1, speed, dwell, energy = (np.array(c, dtype=float) for c in zip(*rows))
    return Toolpath.from_columns(kind=kind.astype(np.uint8), x0=np.r_[0.0, x1[:-1]], y0=np.r_[0.0, y1[:-1]],
                                 x1=x1, y1=y1, speed_mm_s=speed, dwell_s=dwell, energy_uJ=energy,
                                 pass_id=0, layer=0)


def _raster_lines(n):
    rows = []
    for k in range(n):
        y = 0.02 * k
        rows += [(RAPID, 0, y, 0, 0, 0), (LINE, 0.5, y, 20, 0, 0), (LINE, 2.5, y, 20, 0, 200), (LINE, 3, y, 20, 0, 0)]
    return rows


CASES = {
    # 3 blocks at 20 mm/s with two sharp junctions (junction-deviation speeds)
    "zigzag_20": ([(LINE, 5, 1, 20, 0, 200), (LINE, 0, 2, 20, 0, 200), (LINE, 5, 3, 20, 0, 200)], 1.0706),
    # a full reversal: GRBL stops between the two blocks
    "reversal_20": ([(LINE, 5, 0, 20, 0, 200), (LINE, 0, 0, 20, 0, 200)], 0.7249),
    # rapids and dots: syncs, idle locks, G4 in 50 ms steps (0.12 s runs as 0.15 s)
    "dwells": ([(RAPID, 1, 1, 0, 0, 0), (DWELL, 1, 1, 0, 0.5, 200), (RAPID, 2, 1, 0, 0, 0),
                (DWELL, 2, 1, 0, 0.12, 200), (RAPID, 0, 0, 0, 0, 0)], 1.2078),
    # 60 collinear 0.1 mm blocks at 50 mm/s: the 15-block planner horizon caps the speed
    "collinear_60x0.1_at_50": ([(LINE, 0.1 * (i + 1), 0, 50, 0, 200) for i in range(60)], 0.3956),
    # three raster lines at 20 mm/s with lead-in/out and rapids between them
    "raster_3_lines_20": (_raster_lines(3), 1.2615),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_estimate_matches_grbl(name):
    rows, grbl_s = CASES[name]
    est = motion.estimate(_toolpath(rows), MACHINE)["time_s"]
    assert est == pytest.approx(grbl_s, rel=0.01)


def test_dwell_runs_in_whole_50ms_steps():
    got = motion.dwell_seconds(np.array([1.0, 1.5, 0.5, 0.12, 0.15, 0.35, 0.001, 0.0]))
    np.testing.assert_allclose(got, [1.0, 1.5, 0.5, 0.15, 0.15, 0.35, 0.05, 0.0], atol=1e-12)


def test_idle_lock_charged_once_per_stop():
    one = _toolpath([(LINE, 5, 0, 20, 0, 200)])
    two = _toolpath([(LINE, 5, 0, 20, 0, 200), (DWELL, 5, 0, 0, 0.5, 200), (LINE, 10, 0, 20, 0, 200)])
    lock = motion.idle_lock_s(MACHINE)
    assert lock == pytest.approx(0.025)
    t1, t2 = motion.estimate(one, MACHINE)["time_s"], motion.estimate(two, MACHINE)["time_s"]
    assert t2 == pytest.approx(2 * t1 + 0.5, abs=1e-9)  # two stops, two locks


def test_dot_line_has_a_feed_rate():
    # GRBL answers error:22 to an axis-less G1 while no F has been set (a dots-only job)
    text = format_rows(_toolpath([(RAPID, 1, 1, 0, 0, 0), (DWELL, 1, 1, 0, 1.0, 200)]), MACHINE).decode()
    dot = [line for line in text.splitlines() if "M3" in line]
    assert dot == ["G1F3000M3S200"]
