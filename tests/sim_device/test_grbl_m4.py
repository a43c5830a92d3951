"""The emulated GRBL controller fires M4 (dynamic laser power) as GRBL 1.1h does, line by line.

Hand-written G-code streamed through the emulator; the figures are worked out by hand on the
default machine (X: 200 mm/s^2, F600 = 10 mm/s: a ramp of 0.05 s = five 10 ms stepper segments
over 0.25 mm, $1 = 25 ms idle lock, S1 = 1 uJ):
  - under M4 each segment fires at S x (its end speed / F): from rest a 1 mm line at S100 runs
    at 20, 40, 60, 80 uJ for 10 ms each, 100 uJ for 60 ms, then 80, 60, 40, 20, 0: 10 uJ s in
    all (= S L / F), where M3 gives 100 uJ for the whole 0.175 s block, 17.5 uJ s;
  - at rest under M4 the beam is off (after a move, through a pause, in a G4 dwell).
"""

import numpy as np
import pytest

from hardware_sim.faults import FaultPlan
from hardware_sim.grbl.dynamic_power import TICK_S
from hardware_sim.grbl.emulator import GrblEmulator
from lasergen import MachineProfile

MACHINE = MachineProfile.load()
F_MM_S, ACCEL, S = 10.0, 200.0, 100.0


def stream(lines, faults=None, pause_after=None, pause_s=0.0) -> GrblEmulator:
    """Stream lines as a sender would (each in as soon as GRBL takes it); optionally stop sending
    for pause_s of emulated time after line number `pause_after` (0-based)."""
    emu = GrblEmulator(MACHINE, faults=faults)
    emu.receive(b"$X\n")
    for i, line in enumerate(lines):
        emu.receive(line.encode() + b"\n")
        if i == pause_after:
            emu.advance(emu.now_s + pause_s)
    emu.run_until_idle()
    return emu


def exposures(emu):
    h = emu.recorder.history()
    return h.take(h.is_exposure)


def dose_uJ_s(h) -> float:
    return float(np.sum(h.energy_uJ * h.duration_s))


def test_m4_line_from_rest_has_a_constant_dose_per_mm_where_m3_overdoses_its_ends():
    m4 = exposures(stream(["M4S100", "G1X1F600S100", "M5"]))
    m3 = exposures(stream(["M3S100", "G1X1F600S100", "M5"]))
    assert dose_uJ_s(m4) == pytest.approx(S * 1.0 / F_MM_S, rel=1e-12)  # 3.0 + 5.0 + 2.0 uJ s
    assert dose_uJ_s(m3) == pytest.approx(S * (0.15 + 0.025), rel=1e-12)  # M3: S for the block's whole time
    assert list(np.round(m4.energy_uJ, 9)) == [20, 40, 60, 80, 100, 80, 60, 40, 20]  # the last 10 ms fire at 0
    assert np.allclose(m4.duration_s, [0.01] * 4 + [0.06] + [0.01] * 4)
    assert m4.x0[0] == 0 and m4.x1[-1] == pytest.approx(0.99) and np.all(m4.x0[1:] == m4.x1[:-1])
    # cumulative dose along the line against S x / F: off by at most one ramp's staircase excess
    # (S a tick t_ramp / 2F = 0.5 uJ s) under M4; under M3 the first 0.25 mm alone get 5 uJ s, twice the 2.5
    bound = S * ACCEL * TICK_S * (F_MM_S / ACCEL) / (2 * F_MM_S)
    along = np.cumsum(m4.energy_uJ * m4.duration_s)
    assert np.max(np.abs(along - S * m4.x1 / F_MM_S)) <= bound + 1e-9
    full = m4.take(m4.energy_uJ == S)  # the ramp's last segment ends at 10 mm/s: full S from there
    assert (full.x0[0], full.x1[0]) == pytest.approx((0.16, 0.75))
    from hardware_sim.glass.exposure import time_along
    t_ramp_end = time_along(0.25, 1.0, m3.v_entry[0], m3.v_peak[0], m3.v_exit[0], m3.accel[0]) * \
        m3.duration_s[0] / time_along(1.0, 1.0, m3.v_entry[0], m3.v_peak[0], m3.v_exit[0], m3.accel[0])
    assert S * t_ramp_end > S * 0.25 / F_MM_S + 4 * bound


def test_m4_beam_is_off_at_rest_through_a_pause_where_m3_keeps_burning():
    pause = dict(pause_after=1, pause_s=1.0)
    m4 = stream(["M4S100", "G1X1F600", "M5"], **pause).recorder.history()
    m3 = stream(["M3S100", "G1X1F600", "M5"], **pause).recorder.history()
    assert not m4.is_dwell.any() and m4.t_end_s[m4.is_exposure].max() == pytest.approx(0.14)  # last segment at 0
    (rest,) = np.flatnonzero(m3.is_dwell)
    assert (m3.x0[rest], m3.energy_uJ[rest]) == (1.0, S)
    assert m3.duration_s[rest] == pytest.approx(1.0 - 0.175)  # from the block's end to M5


def test_g4_dwell_exposes_nothing_under_m4_and_a_dot_under_m3_in_g1():
    m4 = stream(["G1F600M4S100", "G4P0.5", "M5"]).recorder.history()
    m3 = stream(["G1F600M3S100", "G4P0.5", "M5"]).recorder.history()
    assert not m4.is_exposure.any()
    assert m3.is_dwell.sum() == 1 and dose_uJ_s(m3.take(m3.is_exposure)) == pytest.approx(S * 0.5)


# two scan lines of an armed raster pass (ARMED dialect): arming lines at S0, bare marks, bare G0
ARMED = ["M4S0",
         "G0X1Y1", "G1X2F600S0", "X2.5S100", "G0", "G1X3S0", "X3.5S150", "G0", "G1X4S0", "X4.6S80", "G0",
         "G1X5S0",
         "G0X1Y2", "G1X2S0", "X3S120", "G0", "G1X4S0",
         "M5"]
MARKS = [((2.0, 1.0), (2.5, 1.0), 100), ((3.0, 1.0), (3.5, 1.0), 150), ((4.0, 1.0), (4.6, 1.0), 80),
         ((2.0, 2.0), (3.0, 2.0), 120)]


def marks_of(h):
    e = h.take(h.is_exposure)
    return [((float(e.x0[i]), float(e.y0[i])), (float(e.x1[i]), float(e.y1[i])), float(e.energy_uJ[i]),
             float(e.duration_s[i])) for i in range(len(e))]


def test_armed_raster_writes_each_mark_where_and_as_long_as_it_should():
    emu = stream(ARMED)
    got = marks_of(emu.recorder.history())
    assert [(a, b, pytest.approx(e)) for a, b, e, _ in got] == MARKS  # one row per mark: constant speed
    assert [d for *_, d in got] == pytest.approx([(b[0] - a[0]) / F_MM_S for a, b, _ in MARKS])


def test_a_refused_arming_line_leaves_its_mark_unwritten_and_the_others_unchanged():
    good = marks_of(stream(ARMED).recorder.history())
    arming = ARMED.index("G1X3S0") + 2  # lines count from 1 on the connection, after `$X`
    emu = stream(ARMED, faults=FaultPlan(error_on=(arming, 20)))
    assert ("error:20" in emu.take_output().decode()) and emu.fault_log[0][1] == "error:20"
    refused = marks_of(emu.recorder.history())
    assert [m[:3] for m in refused] == [m[:3] for m in good if m[2] != 150]  # the 150 mark is not written
    assert [m[3] for m in refused] == pytest.approx([m[3] for m in good if m[2] != 150])  # as long as before
    moves = emu.recorder.toolpath()
    skipped = moves.take((moves.x0 == 2.5) & (moves.x1 == 3.5))
    assert len(skipped) == 1 and skipped.energy_uJ[0] == 0  # crossed as a G0, the beam off


def test_m4_move_cut_by_an_alarm_keeps_the_staircase_up_to_where_it_stopped():
    # alarm 0.1 mm into the move: the accel ramp's first four segments, the last one cut short
    emu = stream(["M4S100", "G1X1F600S100", "M5"], faults=FaultPlan(alarm_at=(3, 100.0, 1)))
    e = exposures(emu)
    assert list(np.round(e.energy_uJ, 9)) == [20, 40, 60, 80]  # the cut segment keeps its level
    assert e.x1[-1] == pytest.approx(0.1) and e.t_end_s[-1] == pytest.approx(emu.fault_log[-1][0])
    assert np.all(np.diff(e.t_start_s) > 0) and np.all(e.x0[1:] == e.x1[:-1])


def test_a_hang_under_m4_keeps_the_level_of_the_segment_it_froze_in():
    # the hang comes as the move starts: its first segment (ending at 2 mm/s) fires at S x 2/10
    lines = ["M4S100", "G1X1F600S100", "G1X2"]
    emu = stream(lines, faults=FaultPlan(stall_after=3))
    emu.advance(emu.now_s + 2.0)
    emu.receive(b"\x18")
    h = emu.recorder.history()
    (rest,) = np.flatnonzero(h.is_dwell)
    assert h.energy_uJ[rest] == pytest.approx(S * ACCEL * TICK_S / F_MM_S)
    assert h.duration_s[rest] == pytest.approx(2.0)
    m3 = stream(["M3S100", "G1X1F600S100", "G1X2"], faults=FaultPlan(stall_after=3))
    m3.advance(m3.now_s + 2.0)
    m3.receive(b"\x18")
    h3 = m3.recorder.history()
    assert h3.energy_uJ[h3.is_dwell][0] == S  # M3: the block's own S


def test_status_reports_the_m4_level_of_the_segment_running():
    emu = GrblEmulator(MACHINE, fast_forward=False)
    for line in ("$X", "M4S100", "G1X1F600"):
        emu.receive(line.encode() + b"\n")
        emu.advance(emu.now_s)
    t0 = emu.now_s
    levels = []
    for t in (0.005, 0.015, 0.07, 0.145):  # first segment, second, cruise, last (ends at rest)
        emu.advance(t0 + t)
        emu.take_output()
        emu.receive(b"?")
        levels.append(emu.take_output().decode().split("FS:")[1].split(",")[1].split("|")[0].strip(">\r\n"))
    assert levels == ["20", "40", "100", "0"]


def held(spindle: str):
    """A 1 mm line held 0.03 s in (mid-ramp), resumed 0.5 s later, run to its end."""
    emu = GrblEmulator(MACHINE, fast_forward=False)
    for line in ("$X", f"{spindle}S100", "G1X1F600"):
        emu.receive(line.encode() + b"\n")
        emu.advance(emu.now_s)
    t0 = emu.now_s
    emu.advance(t0 + 0.03)
    emu.receive(b"!")
    emu.advance(t0 + 0.53)
    emu.receive(b"~")
    emu.advance(t0 + 2.0)
    emu.receive(b"M5\n")
    emu.advance(t0 + 3.0)
    return emu.recorder.history(), t0


def test_a_hold_under_m4_cuts_the_staircase_and_the_resumed_move_ramps_its_power_again():
    h, t0 = held("M4")
    (hold,) = np.flatnonzero(h.hold)
    before, after = h.take(np.arange(len(h)) < hold), h.take(np.arange(len(h)) > hold)
    assert before.t_end_s[-1] == pytest.approx(h.t_start_s[hold]) and before.x1[-1] == after.x0[0] == h.x0[hold]
    assert list(np.round(before.energy_uJ[:3], 9)) == [20, 40, 60]  # up the ramp until the hold
    assert after.energy_uJ[0] < S  # from rest again: the resumed block's first segment is not at full S
    assert after.x1[-1] == 1.0 and not h.is_dwell.any()  # the move ends where it should; at rest: off
    # about S L / F in all (each restart's staircase adds at most one ramp's excess); M3 overdoses both ramps
    bound = 2 * S * TICK_S / 2
    assert abs(dose_uJ_s(h.take(h.is_exposure)) - S / F_MM_S) <= bound + 1e-9
    h3, _ = held("M3")
    m3_moving = h3.is_exposure & ~h3.is_dwell
    assert dose_uJ_s(h3.take(m3_moving)) > S / F_MM_S + 2 * bound


def test_a_long_m4_move_is_cut_only_on_its_ramps():
    h = stream(["M4S100", "G1X50F600S100", "M5"]).recorder.history()  # 5 s of cruise between two ramps
    assert len(h) == 10 and np.count_nonzero(h.energy_uJ == S) == 1
    assert dose_uJ_s(h.take(h.is_exposure)) == pytest.approx(S * 50 / F_MM_S, rel=1e-12)
