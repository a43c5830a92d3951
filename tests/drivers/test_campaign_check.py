"""The fault campaign's invariants must see what they claim to see: a mark exposed twice, a
skipped mark, a stray beam-on row, the time to beam-off (records built by hand)."""

import numpy as np

from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

import pytest

from .blackbox import REST_DEFECT_S, Record, beam_off_after, beam_off_times, check, split_rests


def _path(rows):
    kind, x0, y0, x1, y1, dwell, energy = zip(*rows)
    return Toolpath.from_columns(kind=list(kind), x0=list(x0), y0=list(y0), x1=list(x1), y1=list(y1),
                                 speed_mm_s=[2.0 if k == LINE else 0.0 for k in kind], dwell_s=list(dwell),
                                 energy_uJ=list(energy))


JOB = _path([(RAPID, 0, 0, 1.0, 1.0, 0, 0), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (LINE, 1.2, 1.0, 1.3, 1.0, 0, 0),
             (LINE, 1.3, 1.0, 1.5, 1.0, 0, 200), (RAPID, 1.5, 1.0, 2.0, 2.0, 0, 0), (DWELL, 2.0, 2.0, 2.0, 2.0, 0.05, 200)])


def _record(rows, starts=None):
    path = _path(rows)
    starts = np.arange(len(path), dtype=float) if starts is None else np.asarray(starts, float)
    return Record(path, starts, starts + np.where(path.is_dwell, path.dwell_s, 0.5))


def test_exactly_once_passes():
    v = check(JOB, _record([(LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (LINE, 1.3, 1.0, 1.5, 1.0, 0, 200),
                            (DWELL, 2.0, 2.0, 2.0, 2.0, 0.05, 200)]))
    assert (v.twice, v.skipped, v.stray) == ([], [], 0)


def test_a_raster_mark_written_over_its_first_two_um_again_is_twice():
    v = check(JOB, _record([(LINE, 1.0, 1.0, 1.002, 1.0, 0, 200), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200),
                            (LINE, 1.5, 1.0, 1.3, 1.0, 0, 200), (DWELL, 2.0, 2.0, 2.0, 2.0, 0.05, 200)]))
    assert v.twice == [0] and v.skipped == [] and v.stray == 0  # marks are numbered in mark order


def test_a_dot_dwelt_in_two_separate_intervals_is_twice_and_a_short_dwell_is_skipped():
    twice = check(JOB, _record([(LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (LINE, 1.3, 1.0, 1.5, 1.0, 0, 200),
                                (DWELL, 2.0, 2.0, 2.0, 2.0, 0.02, 200), (DWELL, 2.0, 2.0, 2.0, 2.0, 0.05, 200)],
                               starts=[0, 1, 2, 5]))
    assert twice.twice == [2]
    short = check(JOB, _record([(LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (LINE, 1.3, 1.0, 1.5, 1.0, 0, 200),
                                (DWELL, 2.0, 2.0, 2.0, 2.0, 0.02, 200)]))
    assert short.skipped == [2] and short.not_listed([2]) == [] and short.not_listed([]) == [2]


def test_a_cut_tail_is_skipped_and_the_gap_written_is_stray():
    v = check(JOB, _record([(LINE, 1.0, 1.0, 1.1977, 1.0, 0, 200), (LINE, 1.2, 1.0, 1.5, 1.0, 0, 200),
                            (DWELL, 2.0, 2.0, 2.0, 2.0, 0.05, 200), (DWELL, 3.0, 3.0, 3.0, 3.0, 0.5, 200)]))
    assert v.skipped == [0] and v.stray_lines == 1 and v.stray_rests_s == [0.5]  # the gap 1.2..1.3, a rest


def test_time_to_beam_off_is_from_the_fault_to_the_end_of_the_last_beam_on_row():
    record = _record([(LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (RAPID, 1.2, 1.0, 2.0, 2.0, 0, 0),
                      (DWELL, 2.0, 2.0, 2.0, 2.0, 3.0, 200)], starts=[0.0, 1.0, 2.0])
    assert beam_off_after(record, 2.5, None) == 2.5  # the rest burns until 5.0
    assert beam_off_after(record, 2.5, 3.0) == 0.5  # a reset at 3.0 ends it
    assert beam_off_after(record, 5.5, None) == 0.0


def test_a_killed_senders_beam_off_ends_with_what_it_left_running_not_with_the_next_sessions_work():
    """A PI controller is not reset by a new connection: the rows the resume writes are not the
    killed sender's. A move it left running still counts to its end."""
    record = _record([(LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (LINE, 1.3, 1.0, 1.5, 1.0, 0, 200)], starts=[0.0, 10.0])
    assert beam_off_after(record, 0.25, None) == 10.25  # unbounded: "on" until the resume's last mark
    assert beam_off_after(record, 0.25, None, next_session_s=4.0) == 0.25  # the mark it left running
    assert beam_off_after(record, 5.0, None, next_session_s=8.0) == 0.0  # the sender died with the beam off


def test_a_rest_is_a_defect_from_the_physics_threshold_and_a_stall_rest_is_apart():
    v = check(JOB, _record([(LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (LINE, 1.3, 1.0, 1.5, 1.0, 0, 200),
                            (DWELL, 2.0, 2.0, 2.0, 2.0, 0.05, 200), (DWELL, 3.0, 3.0, 3.0, 3.0, 0.03, 200),
                            (DWELL, 1.2, 1.0, 1.2, 1.0, 0.05, 200), (DWELL, 1.5, 1.0, 1.5, 1.0, 1.0, 200)],
                           starts=[0, 1, 2, 3, 4, 5]))
    speed = 20.0  # sender s = emulator s / 20: rests of 1.5 ms, 2.5 ms and 50 ms
    assert REST_DEFECT_S == 2e-3
    defect, minor, stall = split_rests(v, stalls_s=[5.2], speed=speed)
    assert (defect, stall) == (pytest.approx(0.0025), pytest.approx(0.05))
    assert minor == pytest.approx(0.0015)
    assert split_rests(v, stalls_s=[], speed=40.0) == (pytest.approx(0.025), pytest.approx(0.00125), 0.0)


def test_a_rewrite_pass_cut_short_needs_only_the_cut_mark_listed():
    """Two passes over one line (a rewrite): a stop cuts the first; the resume writes the second
    only. The piece is one exposure short, and the sender listed the cut mark: nothing unlisted."""
    job = _path([(RAPID, 0, 0, 1.0, 1.0, 0, 0), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200),
                 (RAPID, 1.2, 1.0, 1.0, 1.0, 0, 0), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200)])
    v = check(job, _record([(LINE, 1.0, 1.0, 1.05, 1.0, 0, 200), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200)]))
    assert v.skipped == [0, 1] and v.not_listed([0]) == [] and v.not_listed([]) == [0, 1]
    both_short = check(job, _record([(LINE, 1.0, 1.0, 1.05, 1.0, 0, 200)]))
    assert both_short.not_listed([0]) == [1]


def test_a_power_loss_is_its_own_reset_and_the_next_session_is_not_counted_as_its_beam():
    """A power loss turns every output off: beam-on rows that the next connect's job writes
    after it (no reset in between, e.g. the loss came while the sender was still connecting)
    are that session's work, not a beam the fault left on; a stall's beam lasts to the reset."""
    rows = [(LINE, 1.0, 1.0, 1.2, 1.0, 0, 200), (LINE, 1.3, 1.0, 1.5, 1.0, 0, 200)]
    record = _record(rows, starts=[10.0, 20.0])  # each row 0.5 s
    log = [(5.0, "power_cycle")]
    assert beam_off_times(record, log, [], [0.0], speed=1.0) == [("power_cycle", 0.0)]
    stalled = [(10.2, "stall"), (10.4, "soft_reset")]
    (kind, off_s), = beam_off_times(record, stalled, [], [0.0], speed=2.0)
    assert kind == "stall" and off_s == pytest.approx(0.1)  # to the reset, in sender seconds
