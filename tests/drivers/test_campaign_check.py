"""The fault campaign's invariants must see what they claim to see: a mark exposed twice, a
skipped mark, a stray beam-on row, the time to beam-off (records built by hand)."""

import numpy as np

from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

from .blackbox import Record, beam_off_after, check


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


def test_a_rewrite_pass_cut_short_needs_only_the_cut_mark_listed():
    """Two passes over one line (a rewrite): a stop cuts the first; the resume writes the second
    only. The piece is one exposure short, and the sender listed the cut mark: nothing unlisted."""
    job = _path([(RAPID, 0, 0, 1.0, 1.0, 0, 0), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200),
                 (RAPID, 1.2, 1.0, 1.0, 1.0, 0, 0), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200)])
    v = check(job, _record([(LINE, 1.0, 1.0, 1.05, 1.0, 0, 200), (LINE, 1.0, 1.0, 1.2, 1.0, 0, 200)]))
    assert v.skipped == [0, 1] and v.not_listed([0]) == [] and v.not_listed([]) == [0, 1]
    both_short = check(job, _record([(LINE, 1.0, 1.0, 1.05, 1.0, 0, 200)]))
    assert both_short.not_listed([0]) == [1]
