"""Raster line changes (turnarounds): the blank moves from the end of a scan line's last mark to
the first mark of the next line, which runs the other way, chosen per line change with the
controller's own motion model.

A mark must be written at speed v over its whole length, so the move after the last mark must
let it leave at v, and the next line's first mark must be entered at v from a collinear run-up
of at least `run_up` (v^2 / a, and at least one motor step): a resume restarts a line from the
G0 before that run-up (`G0X..Y..`, the line's restart point), from rest, anywhere. Candidates,
in the line's own frame (it runs along d, ends at x_e; the next one starts at x_n, y2):
  lead      lead-out G1 at v (run_up), G0 to the run-up point, lead-in G1 at v (the earlier plan)
  corner    G0 along the line to the run-up point's column (where the next line reaches
            further), G0 straight across (perpendicular), run-up G1 at the rapid rate
  wide      the corner with its first G0 at least a run-up long where the next line steps
            back (it then runs back along the next line: a longer run-up), so the mark can
            leave at v above the corner's junction speed
  diagonal  G0 straight to the run-up point, run-up G1 at the rapid rate
A look-ahead controller (GRBL's junction deviation: $11 = 0.01 mm, 200 mm/s^2) takes a 90 deg
corner at about 2.2 mm/s, above the writing speeds of the paper, and caps each junction at the
lower of the two blocks' programmed rates: a corner out of a mark leaves it at v, and a run-up
programmed at the rapid rate still enters its mark at exactly v (it ends in a collinear junction
with the mark), while it runs its few micrometres faster than a lead-in at v. Measured on
GRBL 1.1h's own code at 0.4 mm/s over 20 um line steps: 36.9 ms per line change by lead, 20.3
by corner, 18.4 by diagonal (the point-mass bound: 20 ms). The diagonal stops where it nearly
reverses (a step-back of more than a few pixels), the corner's first G0 would be under one step
when the next line reaches less than a run-up further: so each candidate is planned on the model
between two marks at v, and the quickest of those that keep both marks at v is taken (the lead
always does: its lead-out and lead-in are each long enough to stop from v).
Controllers without look-ahead (every move from rest: PI) keep the lead turn.
"""

from __future__ import annotations

import numpy as np

from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

VARIANTS = ("lead", "corner", "wide", "diagonal")  # the candidates planned (benchmarks pin one)
SLOTS = 3  # rows a turn takes at most


def candidate_rows(variant: str, x_e, x_n, y, y2, d, run_up: float, v: float, v_fast: float):
    """(kind, x1, y1, speed, used, ok), each (n, SLOTS): a candidate's rows per line change; `used`
    marks the slots it fills, `ok` where it is geometrically allowed (no move under a run-up)."""
    n = x_e.size
    kind = np.full((n, SLOTS), RAPID, np.uint8)
    x1 = np.empty((n, SLOTS))
    y1 = np.repeat(y2[:, None], SLOTS, axis=1)
    speed = np.zeros((n, SLOTS), np.float32)
    used = np.ones((n, SLOTS), bool)
    ok = np.ones(n, bool)
    point = x_n + d * run_up  # the run-up point of the next line
    if variant == "lead":
        kind[:, 0], x1[:, 0], y1[:, 0], speed[:, 0] = LINE, x_e + d * run_up, y, v
        x1[:, 1] = point
        kind[:, 2], x1[:, 2], speed[:, 2] = LINE, x_n, v
    elif variant in ("corner", "wide"):
        beyond = d * (x_n - x_e)  # how much further the next line reaches at this end
        ext = beyond >= 0 if variant == "corner" else np.ones(n, bool)
        x_c = np.where(ext, x_e + d * np.maximum(beyond + run_up, run_up), x_e)  # the column of the step across
        x1[:, 0], y1[:, 0] = x_c, y
        used[:, 0] = ext
        x1[:, 1] = x_c
        kind[:, 2], x1[:, 2], speed[:, 2] = LINE, x_n, v_fast
        ok = ext | (beyond <= -run_up)  # else the run-up would be shorter than run_up
        if variant == "wide":
            ok = beyond < 0  # (where the next line reaches further, it is the corner)
    elif variant == "diagonal":
        used[:, 0] = False
        x1[:, 0] = x_e
        x1[:, 1] = point
        kind[:, 2], x1[:, 2], speed[:, 2] = LINE, x_n, v_fast
    else:
        raise ValueError(f"unknown turn variant {variant!r}")
    return kind, x1, y1, speed, used, ok


def _probe(cands, x_e, x_n, y, y2, d, v: float, stub_mm: float, machine: MachineProfile):
    """(seconds, keeps_speed) per candidate and line change: each turn planned on the machine's
    model between a mark at v ending at x_e and one starting at x_n, each `stub_mm` long, the
    turns separated by a zero dwell (a synchronisation: the model plans them apart)."""
    from lasergen.backends import language_for

    n = x_e.size
    k = len(cands)
    width = SLOTS + 4  # approach, mark in, the turn, mark out, dwell
    kind = np.empty((k, n, width), np.uint8)
    x1 = np.empty((k, n, width))
    y1 = np.empty((k, n, width))
    speed = np.zeros((k, n, width), np.float32)
    used = np.ones((k, n, width), bool)
    for c, (ck, cx, cy, cs, cu, _) in enumerate(cands):
        kind[c, :, 0], x1[c, :, 0], y1[c, :, 0] = RAPID, x_e - d * stub_mm, y
        kind[c, :, 1], x1[c, :, 1], y1[c, :, 1], speed[c, :, 1] = LINE, x_e, y, v
        kind[c, :, 2:2 + SLOTS], x1[c, :, 2:2 + SLOTS], y1[c, :, 2:2 + SLOTS] = ck, cx, cy
        speed[c, :, 2:2 + SLOTS], used[c, :, 2:2 + SLOTS] = cs, cu
        kind[c, :, -2], x1[c, :, -2], y1[c, :, -2], speed[c, :, -2] = LINE, x_n - d * stub_mm, y2, v
        kind[c, :, -1], x1[c, :, -1], y1[c, :, -1] = DWELL, x_n - d * stub_mm, y2
    energy = np.zeros((k, n, width), np.float32)
    energy[:, :, [1, -2]] = 1.0
    flat = used.ravel()
    path = Toolpath.from_columns(kind=kind.ravel()[flat], x1=x1.ravel()[flat], y1=y1.ravel()[flat],
                                 speed_mm_s=speed.ravel()[flat], energy_uJ=energy.ravel()[flat])
    path.chain((float(x_e[0] - d[0] * (stub_mm + 1.0)), float(y[0])))  # a real first approach
    prof = language_for(machine).profile(path, machine)
    row = np.cumsum(flat).reshape(k, n, width) - 1  # each slot's row in the probe
    turn_s = np.where(used[:, :, 2:2 + SLOTS], prof.duration_s[row[:, :, 2:2 + SLOTS]], 0.0).sum(axis=2)
    v32 = np.float32(v) * (1 - 1e-6)
    keeps = (prof.v_exit[row[:, :, 1]] >= v32) & (prof.v_entry[row[:, :, -2]] >= v32)
    return turn_s, keeps


def plan_turns(x_e, x_n, y, y2, d, run_up: float, v: float, machine: MachineProfile):
    """The rows of each line change, the quickest candidate on the machine's model that keeps
    both marks at v: (kind, x1, y1, speed, used), each (n, SLOTS), a turn's rows in slot order."""
    chosen = VARIANTS if getattr(machine, "planner_blocks", None) is not None else ("lead",)
    names = ("lead", *(name for name in chosen if name != "lead"))  # the lead first: the fallback
    v_fast = float(machine.max_rate_mm_s[0])
    cands = [candidate_rows(name, x_e, x_n, y, y2, d, run_up, v, v_fast) for name in names]
    if len(cands) == 1 or x_e.size == 0:
        return cands[0][:5]
    stub_mm = 2 * v * v / min(machine.accel_mm_s2) + 0.01  # marks long enough to reach v and stop
    turn_s, keeps = _probe(cands, x_e, x_n, y, y2, d, v, stub_mm, machine)
    ok = np.stack([c[5] for c in cands]) & keeps
    # the lead keeps speed by construction; where VARIANTS leaves it out (a benchmark), only
    # where nothing else does
    ok[0] = True if "lead" in chosen else ~ok[1:].any(axis=0)
    pick = np.argmin(np.where(ok, turn_s, np.inf), axis=0)
    at = (pick, np.arange(x_e.size))
    return tuple(np.stack([c[i] for c in cands])[at] for i in range(5))
