"""Reconcile across a plane change: the same X, Y in two planes, told apart by Z.

A depth job writes the same pattern at two depths; dots are ordered nearest first, so the
first dot of the upper plane sits right above the last of the lower one and is reached by a
Z-only move. The windows here are built by hand: (x, w] spans the last dots of one plane, the
Z move and the first dots of the next (a stream shaped as lasergen's never holds that much
unproven, but a journal whose last proofs were lost, or G-code from elsewhere, can). Each
stop point of the window is tried: the end and the middle of every moving command. Compared
in X, Y only (an old journal, a controller that reports no Z) the outcome must still be safe
(nothing booked done that may not have run, nothing left unlisted that may have started),
and is looser: marks of the other plane get listed. With Z it is exact, for GRBL and PI GCS.
"""

import json

import numpy as np
import pytest

from drivers import journal as jn
from drivers.grbl.job_table import job_table
from drivers.grbl.plan import plan as grbl_plan
from drivers.journal import SessionRecord
from drivers.pi_gcs.job_table import build_table
from drivers.resume import classify, replay
from lasergen import Job, Layer, MachineProfile, Pattern
from lasergen.recipe import PRESETS

PI = MachineProfile.load("pi-c884")


def stacked_dots_pattern() -> Pattern:
    """A 3 x 3 ring of dots at 350 um (written first) and the same ring at 150 um."""
    mask = np.ones((3, 3), bool)
    mask[1, 1] = False
    layers = [Layer(mask, "dots", "upper", depth_um=150.0), Layer(mask, "dots", "lower", depth_um=350.0)]
    return Pattern(20.0, layers, (10.0, 10.0), dict(PRESETS))


@pytest.fixture(params=["grbl", "pi_gcs"])
def stacked(request, tmp_path, machine):
    family = request.param
    profile = machine if family == "grbl" else PI
    path = tmp_path / f"stack.{family}"
    path.write_text(Job.plan(stacked_dots_pattern(), profile).text)
    if family == "grbl":
        table = job_table(path, profile, planner=grbl_plan)
        table.position_tol_mm = 0.0006
    else:
        table = build_table(str(path), profile)
    return family, table, table.plan(np.zeros(table.n_marks, bool))


def _mark_seqs(table, plan):
    seq_of = {int(c): k for k, c in enumerate(plan.commands) if c >= 0}
    first = np.array([seq_of[int(c)] for c in table.mark_first])
    last = np.array([seq_of[int(c)] for c in table.mark_last])
    return first, last


def _plane_change(table, plan):
    """Seq of the Z-only move between the planes (the second Z change of the job)."""
    z = table.end_z_mm[plan.commands]
    changes = [k for k in range(1, len(plan)) if plan.commands[k] >= 0 and np.isfinite(z[k - 1])
               and np.isfinite(z[k]) and z[k] != z[k - 1]]
    k = changes[-1]
    c = plan.commands[k]
    assert table.moves[c] and np.array_equal(table.start_mm[c], table.end_mm[c])  # Z alone moves
    return k


def _stops(table, plan, x, w):
    """(position x, y, z as the controller reports it, ran_through, may_have_run_through) for
    every stop point of the window: a moving command's end, and its middle (a cut)."""
    moving = [k for k in range(x + 1, w + 1) if table.moves[plan.commands[k]]]
    for i, k in enumerate(moving):
        c = plan.commands[k]
        z0, z1 = table.end_z_mm[c - 1], table.end_z_mm[c]
        a, b = np.r_[table.start_mm[c], z0], np.r_[table.end_mm[c], z1]
        next_move = moving[i + 1] if i + 1 < len(moving) else w + 1
        yield np.round(b, 4), k, next_move - 1
        yield np.round((a + b) / 2, 4), k - 1, k


def _check(table, plan, s, ran, maybe, first, last, exact):
    done, partial, uncertain = (set(v) for v in classify(table, plan, s))
    listed = partial | uncertain
    sent = set(range(table.n_marks))
    proven_beam = table.motion_proves_beam | (first <= s.executed)
    truly_done = {m for m in sent if last[m] <= ran and proven_beam[m]}
    may_have_started = {m for m in sent if first[m] <= maybe}
    assert done <= {m for m in sent if last[m] <= ran}  # never booked done unless it ran
    assert may_have_started <= done | listed  # never left to be written again if it may have started
    if exact:
        assert done == truly_done and listed == may_have_started - truly_done
    return len(listed)


def test_a_stop_across_a_plane_change_is_exact_with_z_and_safe_without(stacked):
    family, table, plan = stacked
    first, last = _mark_seqs(table, plan)
    k = _plane_change(table, plan)
    lower = [m for m in range(table.n_marks) if last[m] < k]
    x = int(last[lower[-3]])  # proven through the third-last dot of the lower plane
    w = int(last[lower[-1] + 2])  # written through the second dot of the upper plane
    over_listed = 0
    for position, ran, maybe in _stops(table, plan, x, w):
        s = dict(first_command=plan.first_command, n_sent=len(plan), written=w, executed=x, end="halted")
        with_z = SessionRecord(**s, stop={"position": position.tolist(), "reached": True})
        xy_only = SessionRecord(**s, stop={"position": position[:2].tolist(), "reached": True})
        exact = _check(table, plan, with_z, ran, maybe, first, last, exact=True)
        over_listed += _check(table, plan, xy_only, ran, maybe, first, last, exact=False) - exact
    assert over_listed > 0  # X, Y alone list marks of the other plane that Z proves


def test_a_stop_inside_the_z_move_leaves_the_stacked_dot_to_be_written(stacked):
    """The machine stopped halfway between the planes: the dot above the last one was not
    started (Z tells), so the resume writes it; by X, Y alone it would be listed, never written."""
    family, table, plan = stacked
    first, last = _mark_seqs(table, plan)
    k = _plane_change(table, plan)
    stacked_dot = int(np.flatnonzero(first > k)[0])
    c = plan.commands[k]
    middle = np.r_[table.end_mm[c], (table.end_z_mm[c - 1] + table.end_z_mm[c]) / 2]
    s = dict(first_command=plan.first_command, n_sent=len(plan), written=int(last[stacked_dot]) + 1,
             executed=k - 1, end="halted")
    state = replay(table, [SessionRecord(**s, stop={"position": middle.tolist(), "reached": True})])
    assert not state.done[stacked_dot] and not state.uncertain and not state.partial
    old = replay(table, [SessionRecord(**s, stop={"position": middle[:2].tolist(), "reached": True})])
    assert old.done[stacked_dot] and stacked_dot in old.uncertain


def test_a_journal_of_x_y_positions_still_resumes(tmp_path, stacked):
    """Journals written before Z was kept hold [x, y]: they replay, compared in X, Y."""
    family, table, plan = stacked
    first, last = _mark_seqs(table, plan)
    k = _plane_change(table, plan)
    c = plan.commands[k - 1]
    path = tmp_path / "old.journal"
    records = [jn.header("sha", "job", table.n_commands),
               {"session": 0, "port": "sim://", "device": {"key": "k"}, "first_command": plan.first_command,
                "n_sent": len(plan), "t": 0.0},
               {"w": k + 2}, {"x": k - 1},
               {"stop": {"position": [float(v) for v in table.end_mm[c]], "reached": True, "kind": "alarm"}},
               {"end": "halted", "reason": "ALARM:1"}]
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    state = replay(table, jn.read_journal(path).sessions)
    assert state.done[last < k].all() and not state.done[first > k + 2].any()
