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


def _scan_line(y, marks, run_up, forward=True, gap=RAPID, v=0.4):
    """A raster line as lasergen plans it: G0 to the run-up point, a blank lead-in, the marks
    [(x_from, x_to)] with a collinear G0 (or a blank G1 at v) over each gap, a blank lead-out."""
    d = 1 if forward else -1
    rows = [(RAPID, marks[0][0] - d * run_up, y, 0, 0, 0), (LINE, marks[0][0], y, v, 0, 0)]
    for i, (a, b) in enumerate(marks):
        if i:
            rows.append((gap, a, y, v if gap == LINE else 0, 0, 0))
        rows.append((LINE, b, y, v, 0, 200))
    return rows + [(LINE, marks[-1][1] + d * run_up, y, v, 0, 0)]


QR_MARKS = [(10.0, 10.1), (10.12, 10.2), (10.22, 10.26), (10.36, 10.5)]  # 20 um pixels, 20-100 um gaps
QR_BACK = [(b, a) for a, b in reversed(QR_MARKS)]

# Gap crossings at the paper's 0.4 mm/s, measured the same way but with `M3S0` after the header
# (as lasergen's jobs run: under M3, where GRBL synchronises on a move it drops for having no
# motor step). A 4.1 um run-up is one step (4 um at 250 steps/mm) plus the G-code's resolution;
# a 1 um run-up, as the planner wrote before, rounds to no step: GRBL stops at each line's start
# and end and holds its 25 ms lock (+45 ms over the two lines here).
CROSSINGS = {
    "two_lines_G0_gaps_step_run_ups": (_scan_line(10.0, QR_MARKS, 0.0041)
                                       + _scan_line(10.02, QR_BACK, 0.0041, forward=False), 2.4756),
    "two_lines_G0_gaps_sub_step_run_ups": (_scan_line(10.0, QR_MARKS, 0.001)
                                           + _scan_line(10.02, QR_BACK, 0.001, forward=False), 2.5209),
    "two_lines_blank_G1_gaps": (_scan_line(10.0, QR_MARKS, 0.0041, gap=LINE)
                                + _scan_line(10.02, QR_BACK, 0.0041, forward=False, gap=LINE), 3.0282),
    # a 2 um G0 between two marks rounds to no step: GRBL stops there
    "sub_step_G0_gap": (_scan_line(10.0, [(10.0, 10.1), (10.102, 10.2)], 0.0041), 0.9876),
    # a G0 gap that changes direction (junction-deviation speeds at both ends)
    "diagonal_G0_gap": ([(RAPID, 9.9959, 10, 0, 0, 0), (LINE, 10, 10, 0.4, 0, 0), (LINE, 10.1, 10, 0.4, 0, 200),
                         (RAPID, 10.14, 10.03, 0, 0, 0), (LINE, 10.24, 10.03, 0.4, 0, 200),
                         (LINE, 10.2441, 10.03, 0.4, 0, 0)], 1.0172),
}


@pytest.mark.parametrize("name", sorted(CROSSINGS))
def test_gap_crossings_match_grbl(name):
    rows, grbl_s = CROSSINGS[name]
    est = motion.estimate(_toolpath(rows), MACHINE)["time_s"]
    assert est == pytest.approx(grbl_s, rel=0.005)


def test_a_move_of_no_motor_step_is_dropped_and_stops_the_machine(monkeypatch):
    """GRBL rounds targets to steps: a 1 um lead-in is no move at all, and it costs a stop (the
    deceleration before it, the start from rest after it, one idle lock), chunked or not."""
    from lasergen.backends.grbl.estimate import JobEstimate

    rows_sub, _ = CROSSINGS["two_lines_G0_gaps_sub_step_run_ups"]
    path = _toolpath(rows_sub)
    prof = motion.profile(path, MACHINE)
    lead_ins = [1, 11]
    assert np.all(prof.duration_s[lead_ins] == 0.0)
    assert np.all(prof.v_entry[np.array(lead_ins) + 1] == 0.0)  # the first mark of each line starts from rest
    monkeypatch.setattr(motion, "CHUNK_BLOCKS", 3)  # planning windows cut between the pieces too
    whole = motion.estimate(path, MACHINE)
    for cut in (1, 2, 5, 10, 11, 12):
        job = JobEstimate(MACHINE)
        job.feed(path.take(slice(0, cut)))
        job.feed(path.take(slice(cut, len(path))))
        assert job.result() == whole


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


def _turn_job(variant, dx, v=0.4):
    """Two raster lines as the planner writes them around one line change (lasergen/turns.py's
    rows): a 0.3 mm mark from x = 10 to 10.3 at y = 10, the turn, a mark back at y = 10.02 from
    10.3 + dx to 10, with a run-up before the first and a run-out after the last."""
    from lasergen.turns import candidate_rows

    run_up = max(0.0041, v * v / 200.0)
    rows = [(RAPID, 10 - run_up, 10, 0, 0, 0), (LINE, 10, 10, v, 0, 0), (LINE, 10.3, 10, v, 0, 200)]
    kind, x1, y1, speed, used, ok = candidate_rows(variant, *(np.array([c]) for c in (10.3, 10.3 + dx, 10.0, 10.02, 1.0)),
                                                   run_up, v, MACHINE.max_rate_mm_s[0])
    assert ok[0]
    rows += [(int(kind[0, j]), x1[0, j], y1[0, j], speed[0, j], 0, 0) for j in range(3) if used[0, j]]
    return rows + [(LINE, 10.0, 10.02, v, 0, 200), (LINE, 10 - run_up, 10.02, v, 0, 0)]


# Line changes, measured the same way (`M3S0` after the header; GRBL's figure less the 25 ms $1
# lock it holds once at reset, before the first line). `slow`: a mark leaves or enters below v
# (the diagonal nearly reverses into the run-up and GRBL stops there), so the planner may not pick it.
TURNS = {  # (speed, dx, variant): (GRBL 1.1h seconds, slow)
    (0.4, 0.0, "lead"): (2.0282, False), (0.4, 0.0, "corner"): (2.0118, False), (0.4, 0.0, "diagonal"): (2.0102, False),
    (0.4, 0.04, "lead"): (2.1368, False), (0.4, 0.04, "corner"): (2.1256, False),
    (0.4, 0.04, "diagonal"): (2.1218, False),
    (0.4, -0.04, "lead"): (1.9368, False), (0.4, -0.04, "corner"): (1.9230, False),
    (0.4, -0.04, "diagonal"): (1.9171, False),
    (0.4, 0.16, "lead"): (2.4647, False), (0.4, 0.16, "corner"): (2.4507, False),
    (0.4, 0.16, "diagonal"): (2.4514, False),
    (0.4, -0.2, "lead"): (1.5716, False), (0.4, -0.2, "corner"): (1.5550, False), (0.4, -0.2, "diagonal"): (1.5516, True),
    (5.0, -0.2, "lead"): (0.7037, False), (5.0, -0.2, "wide"): (0.6815, False),
    (5.0, 0.0, "lead"): (0.6993, False), (5.0, 0.0, "corner"): (0.6955, False),
}


@pytest.mark.parametrize("case", sorted(TURNS), ids=str)
def test_line_changes_match_grbl(case):
    speed, dx, variant = case
    grbl_s, slow = TURNS[case]
    path = _toolpath(_turn_job(variant, dx, speed))
    assert motion.estimate(path, MACHINE)["time_s"] == pytest.approx(grbl_s, rel=0.005)
    prof = motion.profile(path, MACHINE)
    at_speed = np.allclose(np.c_[prof.v_entry[path.is_mark], prof.v_exit[path.is_mark]], np.float32(speed))
    assert at_speed != slow


@pytest.mark.parametrize("speed, dx", sorted({(s, d) for s, d, _ in TURNS}))
def test_the_planner_picks_the_line_change_quickest_on_grbl_that_keeps_the_marks_at_speed(speed, dx):
    from lasergen.turns import candidate_rows, plan_turns

    measured = {v: t for (s, d, v), (t, slow) in TURNS.items() if (s, d) == (speed, dx) and not slow}
    run_up = max(0.0041, speed * speed / 200.0)
    kind, x1, y1, v, used = plan_turns(*(np.array([c]) for c in (10.3, 10.3 + dx, 10.0, 10.02, 1.0)), run_up, speed,
                                       MACHINE)
    fastest = min(measured, key=measured.get)
    f_kind, f_x1, _, f_v, f_used, _ = candidate_rows(fastest, *(np.array([c]) for c in (10.3, 10.3 + dx, 10.0, 10.02, 1.0)),
                                                     run_up, speed, MACHINE.max_rate_mm_s[0])
    assert np.array_equal(used, f_used)
    for picked, wanted in ((kind, f_kind), (x1, f_x1), (v, f_v)):
        assert np.array_equal(picked[used], wanted[used]), fastest
