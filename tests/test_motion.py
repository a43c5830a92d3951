"""Motion timing against trapezoids computed by hand (a = 200 mm/s^2 per axis, $11 = 0.01 mm).

GRBL also holds the steppers for the $1 idle lock each time motion runs dry (at a sync and at
the end): `IDLE` per stop is added to the hand figures.
"""

import math

import numpy as np
import pytest

import lasergen.backends.grbl.motion as motion
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath


def _path(moves, start=(0.0, 0.0)):
    """moves: (kind, x, y, speed_mm_s or dwell_s)."""
    kind = [m[0] for m in moves]
    x1 = [m[1] for m in moves]
    y1 = [m[2] for m in moves]
    speed = [m[3] if m[0] == LINE else 0.0 for m in moves]
    dwell = [m[3] if m[0] == DWELL else 0.0 for m in moves]
    return Toolpath.from_columns(kind=kind, x1=x1, y1=y1, speed_mm_s=speed, dwell_s=dwell).chain(start)


IDLE = 0.025  # $1 = 25 ms


def total(moves, machine):
    return motion.estimate(_path(moves), machine)["time_s"]


def test_accelerate_cruise_decelerate(machine):
    # 10 mm at 10 mm/s: 0.25 mm ramps of 0.05 s each, 9.5 mm cruise at 10 mm/s
    assert total([(LINE, 10, 0, 10.0)], machine) == pytest.approx(0.05 + 0.95 + 0.05 + IDLE, rel=1e-9)


def test_triangle_when_too_short_to_reach_speed(machine):
    # 1 mm rapid: peak sqrt(a L) = 14.1 mm/s < 50, t = 2 sqrt(L / a)
    assert total([(RAPID, 1, 0, 0)], machine) == pytest.approx(2 * math.sqrt(1 / 200) + IDLE, rel=1e-9)


def test_collinear_blocks_do_not_stop(machine):
    assert total([(LINE, 5, 0, 10.0), (LINE, 10, 0, 10.0)], machine) == pytest.approx(1.05 + IDLE, rel=1e-9)


def test_right_angle_junction_speed(machine):
    # junction deviation: a_j = 200 * sqrt2 (diagonal), s = sin(45 deg)
    s = math.sqrt(0.5)
    vj2 = 200 * math.sqrt(2) * 0.01 * s / (1 - s)
    vj = math.sqrt(vj2)
    block = (20 - 0) / 200 + (20 - vj) / 200 + (10 - 400 / 400 - (400 - vj2) / 400) / 20
    prof = motion.profile(_path([(LINE, 10, 0, 20.0), (LINE, 10, 10, 20.0)]), machine)
    assert prof.v_exit[0] == pytest.approx(vj, rel=1e-9) == pytest.approx(2.613, abs=1e-3)
    assert prof.total_s == pytest.approx(2 * block + IDLE, rel=1e-9)


def test_reversal_stops(machine):
    assert total([(LINE, 10, 0, 20.0), (LINE, 0, 0, 20.0)], machine) == pytest.approx(2 * (0.1 + 0.1 + 0.4) + IDLE)


def test_dwell_synchronises_and_adds_its_time(machine):
    moves = [(LINE, 5, 0, 10.0), (DWELL, 5, 0, 1.0), (LINE, 10, 0, 10.0)]
    assert total(moves, machine) == pytest.approx(2 * (0.05 + 0.45 + 0.05 + IDLE) + 1.0, rel=1e-9)


def test_planner_buffer_limits_speed_on_tiny_segments(machine):
    # 1000 x 10 um at 50 mm/s: GRBL can plan only 14 blocks ahead, so it may never exceed
    # sqrt(2 a * 14 * 0.01 mm) = 7.48 mm/s, unlike one 10 mm move (0.447 s)
    chain = [(LINE, 0.01 * (i + 1), 0, 50.0) for i in range(1000)]
    t = total(chain, machine)
    assert t == pytest.approx(10 / math.sqrt(2 * 200 * 14 * 0.01) + IDLE, rel=0.03)
    assert total([(LINE, 10, 0, 50.0)], machine) == pytest.approx(2 * math.sqrt(10 / 200) + IDLE)


def test_chunked_planning_is_exact(machine, monkeypatch):
    rng = np.random.default_rng(0)
    pts = rng.random((500, 2)) * 20
    moves = [(LINE if i % 3 else RAPID, x, y, 5.0 + 10 * (i % 4)) for i, (x, y) in enumerate(pts)]
    path = _path(moves)
    whole = motion.durations(path, machine)
    monkeypatch.setattr(motion, "CHUNK_BLOCKS", 17)
    np.testing.assert_allclose(motion.durations(path, machine), whole, rtol=1e-9, atol=1e-12)


def test_estimate_splits_time(machine):
    est = motion.estimate(_path([(RAPID, 1, 0, 0), (LINE, 2, 0, 10.0)]), machine)
    assert est["time_s"] == pytest.approx(est["travel_time_s"] + est["blank_time_s"] + est["mark_time_s"]
                                          + est["dwell_time_s"])
    assert est["distance_mm"] == pytest.approx(2.0)
