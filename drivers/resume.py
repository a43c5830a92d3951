"""Exactly once: which marks a stopped session exposed, from its proofs and the machine's position.

Written once for every controller family, in the terms of `drivers.session`: a session sent
a plan (seqs 0..n-1, each standing for a job command); its journal says through which seq
commands were written (w), proven executed (x), which seq was refused, and where the halted
machine stood (P, or unknown). Commands run in order, so:
  - everything through x ran; nothing after w ran; a refused command did not run;
  - a known position P settles (x, w]: P at the end of moving command e means everything
    through e ran and no later moving command started; the non-moving commands right after e
    (a dot's beam-on, dwell and beam-off) may or may not have run; P strictly inside moving
    command c means c was cut. Positions are compared within the controller's reporting
    resolution (`JobTable.position_tol_mm`), so any position strictly inside a mark is a cut.
    Where the job states Z (`JobTable.end_z_mm`) and the controller reported one, positions
    are points (x, y, z), each axis within its own tolerance, so a position fits a command
    only in that command's plane: a multi-plane job has marks at the same X, Y in each plane,
    and a Z-only move between planes is a segment like any other (a stop inside it cuts it).
    Compared in X, Y alone (an old journal, a controller that reports no Z, a command before
    the job's first Z) a position also fits the other planes' commands at its X, Y: never a
    mark booked wrongly (the true command is always among the fits, and more fits only widen
    the undecided span), but marks listed uncertain that Z would have proven.
    When P fits several commands (a path that passes one point twice), everything between
    the first and the last fit is undecided; when it fits none, it is unknown;
  - unknown P: all of (x, w] is undecided.
A mark (commands first..last) is then: done when its last command ran; NOT started when its
first command was refused (the beam never came on), or the command that arms it was
(`JobTable.arming`: the mark's own line then runs with the beam disabled), or it lies after what
could have run;
"partial" when its first command ran (or its line was cut) but its last is not proven or was
refused (a dot whose `G4` was refused: its beam came on and went off again at once);
"uncertain" when its first command is undecided, or, where the motion does not prove the beam
(`JobTable.motion_proves_beam` False: PI's arming `TRO`), when its motion ran but its first
command is not proven executed. Partial and uncertain marks are treated as
done and listed by number: a second exposure changes a spot's colour, a listed gap can be
rewritten on purpose.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivers.journal import SessionRecord
from drivers.session import JobTable
from lasergen import LasergenError


@dataclass
class ResumeState:
    done: np.ndarray  # per mark: exposed (or treated as exposed)
    uncertain: list  # marks nobody could prove either way
    partial: list  # marks cut in the middle by a stop
    skipped: int = 0  # marks done before the last replayed session (sent blank or not at all)

    @property
    def complete(self) -> bool:
        return bool(self.done.all())


def _position(s: SessionRecord):
    """Where the halted machine stood: (x, y) or (x, y, z) as the journal has it, or None."""
    for where in (s.stop.get("position") if s.stop is not None else None, s.settled):
        if where is not None:
            return np.asarray(where[:3], float)
    return None


def _frame(table: JobTable, commands: np.ndarray, position: np.ndarray):
    """Starts and ends of job `commands` and the position, in units of each axis's tolerance
    (so "within tolerance" is a distance of at most 1): X, Y, and Z where both the job and the
    controller give it. A command whose Z the job leaves unstated (NaN) is compared in X, Y."""
    tol = table.position_tol_mm
    start, end = table.start_mm[commands], table.end_mm[commands]
    if table.end_z_mm is None or position.size < 3 or not np.isfinite(position[2]):
        return start / tol, end / tol, position[:2] / tol
    z_end = table.end_z_mm[commands]
    z_start = np.where(commands > 0, table.end_z_mm[np.maximum(commands - 1, 0)], np.nan)
    unstated = np.isnan(z_start) | np.isnan(z_end)
    z_start, z_end = np.where(unstated, position[2], z_start), np.where(unstated, position[2], z_end)
    scale = np.array([tol, tol, table.z_tol_mm or tol])
    return (np.column_stack([start, z_start]) / scale, np.column_stack([end, z_end]) / scale,
            position[:3] / scale)


def settle_window(table: JobTable, commands: np.ndarray, x: int, w: int, refused, position):
    """(ran, undecided_to, cut): seqs through `ran` ran, (ran, undecided_to] may have run,
    `cut` is the seq of a moving command the position cuts (or None)."""
    if position is None or w <= x:
        return x, w, None
    position = np.asarray(position, float)
    seqs = np.arange(x + 1, w + 1)
    seqs = seqs[(commands[seqs] >= 0) & (seqs != (refused if refused is not None else -2))]
    seqs = seqs[table.moves[commands[seqs]]]
    fits, cuts = [], []
    if x >= 0 and commands[x] >= 0:
        _, end, p = _frame(table, commands[x:x + 1], position)
        if np.all(np.abs(end[0] - p) <= 1.0):
            fits.append(x)
    if seqs.size:
        a, b, p = _frame(table, commands[seqs], position)
        at_end = np.all(np.abs(b - p) <= 1.0, axis=1)
        at_start = np.all(np.abs(a - p) <= 1.0, axis=1)
        ab, ap = b - a, p - a
        t = np.einsum("ij,ij->i", ap, ab) / np.maximum(np.einsum("ij,ij->i", ab, ab), 1e-18)
        off = np.linalg.norm(ap - t[:, None] * ab, axis=1)  # distance from the command's line
        inside = (t > 0) & (t < 1) & (off <= 1.0) & ~at_end & ~at_start
        fits += [int(k) for k in seqs[at_end]]
        cuts += [int(k) for k in seqs[inside]]
    if not fits and not cuts:
        return x, w, None  # the position fits nothing that could have run: unknown
    lo, hi = min(fits + cuts), max(fits + cuts)
    ran = lo if lo in fits else lo - 1
    if hi in cuts and hi not in fits:
        undecided_to = hi
    else:
        later = np.flatnonzero((np.arange(len(commands)) > hi) & (np.arange(len(commands)) <= w)
                               & (commands >= 0) & table.moves[np.maximum(commands, 0)])
        undecided_to = int(later[0]) - 1 if later.size else w
    cut = lo if (lo == hi and lo in cuts and lo not in fits) else None
    return max(ran, x), max(undecided_to, x), cut


def classify(table: JobTable, plan, s: SessionRecord):
    """(done marks, partial marks, uncertain marks) of one session of the given plan."""
    commands = plan.commands
    sent_marks = np.unique(table.mark_of[commands[commands >= 0]])
    sent_marks = sent_marks[sent_marks >= 0]
    blank = set(plan.blanked)
    marks = np.array([m for m in sent_marks if m not in blank], dtype=np.int64)
    if marks.size == 0:
        return [], [], []
    body = np.flatnonzero(commands >= 0)
    first_seq = body[np.searchsorted(commands[body], table.mark_first[marks])]
    last_seq = body[np.searchsorted(commands[body], table.mark_last[marks])]
    if s.end == "complete":
        return [int(m) for m in marks], [], []
    w = max(s.written, s.executed)
    ran, undecided_to, cut = settle_window(table, commands, s.executed, w, s.refused, _position(s))
    refused = s.refused if s.refused is not None else -2
    refused_first = first_seq == refused
    if refused >= 0 and table.arming is not None and commands[refused] >= 0 and table.arming[commands[refused]]:
        refused_first |= first_seq == refused + 1  # its arming line refused: the mark ran disarmed
    done = ~refused_first & (last_seq <= ran) & (last_seq != refused)  # a refused dwell did not run
    # the motion ran, but nothing proves the beam came on with it: uncertain (listed)
    beam_unproven = done & (first_seq > s.executed) & (not table.motion_proves_beam)
    done &= ~beam_unproven
    started = ~refused_first & ~done & ~beam_unproven & (
        (first_seq <= ran) | (first_seq == (cut if cut is not None else -2)))
    maybe = ~refused_first & ~done & ~started & ((first_seq <= undecided_to) | beam_unproven)
    return [int(m) for m in marks[done]], [int(m) for m in marks[started]], [int(m) for m in marks[maybe]]


def replay(table: JobTable, sessions: list[SessionRecord]) -> ResumeState:
    """Replay the sessions of a journal: which marks are exposed, uncertain or cut."""
    done = np.zeros(table.n_marks, bool)
    uncertain, partial, skipped = [], [], 0
    for k, s in enumerate(sessions):
        plan = table.plan(done)
        if plan is None:
            break
        if plan.first_command != s.first_command or len(plan) != s.n_sent:
            raise LasergenError(f"journal session {k} does not match the job's send plan (the job changed?)")
        skipped = int(done.sum())
        ok, cut, unsure = classify(table, plan, s)
        done[ok] = True
        for m in cut + unsure:
            if not done[m]:
                done[m] = True
                (partial if m in cut else uncertain).append(m)
    return ResumeState(done, sorted(uncertain), sorted(partial), skipped)
