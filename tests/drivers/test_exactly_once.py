"""Issue 9's causes, one test each: what a stopped session proves about its marks."""

import numpy as np
import pytest

from drivers.grbl.job_table import job_table
from drivers.grbl.plan import plan as grbl_plan
from drivers.journal import SessionRecord
from drivers.resume import classify, replay


def _fresh(job, machine):
    table = job_table(job, machine, planner=grbl_plan)
    table.position_tol_mm = 0.0006
    return table, table.plan(np.zeros(table.n_marks, bool))


def _seq(plan, line):
    return int(np.flatnonzero(plan.commands == line)[0])


def test_a_dot_reached_but_not_proven_is_uncertain_not_rewritten(dots_job, machine):
    """Cause 1: the stop position of a dot matches the G0 that led there; its beam-on, dwell
    and beam-off do not move, so the position cannot tell whether the dot ran."""
    table, plan = _fresh(dots_job, machine)
    m = 2
    g0 = _seq(plan, table.mark_first[m] - 1)  # the move to the dot
    m5 = _seq(plan, table.mark_last[m] + 1)
    s = SessionRecord(plan.first_command, len(plan), written=m5, executed=g0 - 1,
                      stop={"position": list(table.end_mm[plan.commands[g0]]), "reached": True}, end="halted")
    done, partial, uncertain = classify(table, plan, s)
    assert m in uncertain and m not in done
    state = replay(table, [s])
    assert state.done[m] and m in state.uncertain  # treated as done, listed: never written twice


@pytest.mark.parametrize("where", ["0.6 um in", "2.3 um before the end"])
def test_any_position_strictly_inside_a_mark_is_a_cut(qr_job, machine, where):
    """Cause 2: the old 3 um tolerance read a stop 0.6-2.3 um into a mark as 'not started' and
    one 2.3 um before its end as 'finished'."""
    table, plan = _fresh(qr_job, machine)
    m = 5
    c = _seq(plan, table.mark_last[m])
    a, b = table.start_mm[table.mark_last[m]], table.end_mm[table.mark_last[m]]
    u = (b - a) / np.hypot(*(b - a))
    p = a + u * 0.0006 if where.startswith("0.6") else b - u * 0.0023
    p = np.round(p, 3)  # as GRBL reports it
    if np.allclose(p, a) or np.allclose(p, b):
        p = a + u * 0.001 if where.startswith("0.6") else b - u * 0.002
    s = SessionRecord(plan.first_command, len(plan), written=c + 3, executed=c - 1,
                      stop={"position": list(p), "reached": True}, end="halted")
    done, partial, uncertain = classify(table, plan, s)
    assert m in partial and m not in done


def test_a_refused_beam_on_line_does_not_book_the_dot(dots_job, machine):
    """Cause 3: error:N on `G1..M3S..`: the beam never came on, even though its G4 and M5 ran."""
    table, plan = _fresh(dots_job, machine)
    m = 1
    on = _seq(plan, table.mark_first[m])
    m5 = _seq(plan, table.mark_last[m] + 1)
    s = SessionRecord(plan.first_command, len(plan), written=m5, executed=m5, refused=on,
                      stop={"position": list(table.end_mm[table.mark_last[m]]), "reached": True}, end="halted")
    done, partial, uncertain = classify(table, plan, s)
    assert m not in done + partial + uncertain
    assert not replay(table, [s]).done[m]  # it will be written by the resume


def test_an_ambiguous_position_leaves_the_span_undecided(qr_job, machine):
    """A position that fits two candidates (a path crossing one point twice): nothing between
    them is claimed done for sure, and nothing is claimed not started."""
    table, plan = _fresh(qr_job, machine)
    x, w = 10, 40
    target = table.end_mm[plan.commands[w - 2]]
    s = SessionRecord(plan.first_command, len(plan), written=w, executed=x,
                      stop={"position": list(target), "reached": True}, end="halted")
    done, partial, uncertain = classify(table, plan, s)
    last_seq = {int(m): _seq(plan, table.mark_last[m]) for m in done}
    assert all(seq <= w for seq in last_seq.values())


def test_unknown_position_lists_everything_written_and_unproven(qr_job, machine):
    table, plan = _fresh(qr_job, machine)
    s = SessionRecord(plan.first_command, len(plan), written=60, executed=20,
                      stop={"position": None, "reached": True}, end="halted")
    done, partial, uncertain = classify(table, plan, s)
    in_window = {int(table.mark_of[plan.commands[k]]) for k in range(21, 61) if table.mark_of[plan.commands[k]] >= 0}
    assert in_window and in_window <= set(uncertain) | set(partial) | set(done)


def test_a_refused_dwell_leaves_the_dot_cut_not_done(dots_job, machine):
    """error:N on a dot's `G4`: its beam came on (G1..M3S ran) and went off at the M5, the dwell
    never ran. Not done (a stop position past it must not book it), not rewritten: listed."""
    table, plan = _fresh(dots_job, machine)
    m = 1
    g4 = _seq(plan, table.mark_last[m])
    after = _seq(plan, table.mark_first[m + 1]) - 1  # the G0 to the next dot ran
    s = SessionRecord(plan.first_command, len(plan), written=after + 3, executed=after, refused=g4,
                      stop={"position": list(table.end_mm[plan.commands[after]]), "reached": True}, end="halted")
    done, partial, uncertain = classify(table, plan, s)
    assert m in partial and m not in done
    state = replay(table, [s])
    assert state.done[m] and m in state.partial
