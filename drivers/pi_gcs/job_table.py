"""A lasergen GCS job as the runner sees it: one row per command, one entry per mark, and the
send plan that exposes the marks not yet done exactly once.

Commands are the body's GCS lines plus its `;@energy` lines (the session carries those out on
the attenuator); other `;` lines are the host's and never sent. Built from the language's
reader (`lasergen.backends.pi_gcs.read`), which gives the toolpath and the line of every
motion command, without re-interpreting the job here: positions are filled forward from the
motion commands, marks found by searching the arming `TRO <gate> 1` before each writing MOV.
Z (`end_z_mm`) is filled the same way from the first MOV that names the profile's Z axis on;
a job whose MOVs never name it has none (reconcile then compares X, Y).
  line mark  mark_first = its `TRO <gate> 1`, mark_last = its MOV (the beam follows motion)
  dot        mark_first = mark_last = its `MAC START LGDOT ...`
A resume (`plan`) starts at the row group whose MOV brings the stage to the first mark not
done; a preamble re-establishes the controller's state there (gate closed, trigger mode and
axis, the dot macro, ACC/DEC and VEL in force, a rapid to the start, the energy in force; in a
job in depth Z's ACC/DEC/VEL too, and the rapid goes to the start's plane as well);
later marks already done are sent blank (their TRO dropped, the motion kept) or, for dots,
dropped.
"""

from __future__ import annotations

import numpy as np

from drivers.session import JobTable, SendPlan
from lasergen.backends.pi_gcs.emit import latency_ms, prologue
from lasergen.backends.pi_gcs.motion import durations
from lasergen.job import read_job
from lasergen.toolpath import DWELL

MODAL = ("VEL ", "ACC ", "DEC ", "CTO ", ";@energy ")


def is_command(line: str) -> bool:
    text = line.strip()
    return bool(text) and (not text.startswith(";") or text.startswith(";@energy "))


def build_table(job_path: str, machine, check_sum: bool = True) -> JobTable:
    text = open(job_path).read()
    job = read_job(text if "\n" in text else text + "\n", machine, check_sum=check_sum)
    lines = text.splitlines()
    cmd_line = np.array([i for i, line in enumerate(lines) if is_command(line)], dtype=np.int64)
    texts = [lines[i].strip() for i in cmd_line]
    cmd_of_line = np.full(len(lines) + 1, -1, dtype=np.int64)
    cmd_of_line[cmd_line] = np.arange(cmd_line.size)
    path, row_line = job.toolpath, job.program.row_line
    row_cmd = cmd_of_line[row_line]
    n = cmd_line.size
    end = np.full((n, 2), np.nan)
    end[row_cmd, 0], end[row_cmd, 1] = path.x1, path.y1
    last = np.maximum.accumulate(np.where(np.isnan(end[:, 0]), -1, np.arange(n)))
    end = np.where(last[:, None] >= 0, end[np.maximum(last, 0)], 0.0)
    start = np.vstack([[0.0, 0.0], end[:-1]]) if n else end.copy()
    end_z = _end_z(texts, row_cmd, path.z1, machine)
    moves = np.zeros(n, dtype=bool)
    moves[row_cmd] = (path.kind != DWELL) & ((path.x1 != path.x0) | (path.y1 != path.y0) | (path.z1 != path.z0))
    duration = np.zeros(n)
    duration[row_cmd] = durations(path, machine)
    mark_rows = np.flatnonzero(path.is_mark)
    mark_last = row_cmd[mark_rows]
    arm_text = f"TRO {machine.gate_line} 1"
    arms = np.array([k for k, t in enumerate(texts) if t == arm_text], dtype=np.int64)
    before = np.searchsorted(arms, mark_last) - 1
    is_dot = path.kind[mark_rows] == DWELL
    mark_first = np.where(is_dot | (before < 0), mark_last, arms[np.maximum(before, 0)] if arms.size else mark_last)
    mark_of = np.full(n, -1, dtype=np.int64)
    mark_of[mark_first] = np.arange(mark_rows.size)
    mark_of[mark_last] = np.arange(mark_rows.size)
    motion = np.zeros(n, dtype=bool)
    motion[row_cmd] = True
    table = JobTable(start, end, moves, mark_of, mark_first, mark_last, duration, planner=plan, end_z_mm=end_z)
    table.position_tol_mm = 0.0005  # the servo stops within its on-target window, not at the 1e-6 mm POS? shows
    table.motion_proves_beam = False  # the arming TRO is a command of its own (see drivers.session.JobTable)
    table.texts, table.motion, table.machine = texts, motion, machine
    table.is_dot = np.zeros(mark_rows.size, dtype=bool) | is_dot
    return table


def _end_z(texts: list[str], row_cmd: np.ndarray, z1: np.ndarray, machine) -> np.ndarray | None:
    """Per command, the Z after it: NaN before the first MOV naming the Z axis, None if none does."""
    z_axis = getattr(machine, "z_axis", None)
    naming = [k for k, t in enumerate(texts) if t.startswith("MOV ") and z_axis in t.split()[1::2]]
    if z_axis is None or not naming:
        return None
    n = len(texts)
    end = np.full(n, np.nan)
    end[row_cmd] = z1
    last = np.maximum.accumulate(np.where(np.isnan(end), -1, np.arange(n)))
    end = np.where(last >= 0, end[np.maximum(last, 0)], np.nan)
    end[:naming[0]] = np.nan
    return end


def _modal_state(texts: list[str], upto: int, machine) -> list[str]:
    """The modal commands in force before command `upto`, latest first per kind and axis."""
    vel: dict[str, str] = {}
    last: dict[str, str] = {}
    for t in texts[:upto]:
        if t.startswith("VEL "):
            words = t.split()[1:]
            vel.update(zip(words[0::2], words[1::2]))
        elif t.startswith(MODAL[1:]):
            last[t.split()[0] if not t.startswith("CTO ") else " ".join(t.split()[:3])] = t
    out = [t for key, t in last.items() if key in ("ACC", "DEC") or key.startswith("CTO")]
    if vel:
        out.append("VEL " + " ".join(f"{a} {v}" for a, v in vel.items()))
    if ";@energy" in last:
        out.append(last[";@energy"])
    return out


def plan(table: JobTable, done: np.ndarray) -> SendPlan | None:
    undone = np.flatnonzero(~np.asarray(done, dtype=bool))
    if undone.size == 0 and len(done):  # every mark done; a job without marks (travel only) always runs
        return None
    machine, texts, motion = table.machine, table.texts, table.motion
    first_mark = int(undone[0]) if undone.size else 0
    motions = np.flatnonzero(motion)
    if first_mark == 0 and not np.asarray(done).any():
        first = 0
        preamble: list[str] = []
    else:
        prior = motions[motions < table.mark_first[first_mark]]
        first = int(prior[-2]) + 1 if prior.size >= 2 else 0
        x, y = table.start_mm[first]
        ax, ay = machine.axes
        vmax = machine.max_rate_mm_s
        with_z = table.end_z_mm is not None
        z = table.end_z_mm[first - 1] if with_z and first > 0 else np.nan
        to_start = f"MOV {ax} {x:.4f} {ay} {y:.4f}" + (f" {machine.z_axis} {z:.4f}" if np.isfinite(z) else "")
        preamble = prologue(machine, with_z) + [f"VEL {ax} {vmax[0]:g} {ay} {vmax[1]:g}",
                                                to_start] + _modal_state(texts, first, machine)
    skip = set()
    blanked = []
    for m in np.flatnonzero(np.asarray(done, dtype=bool)):
        if table.mark_first[m] >= first:
            skip.add(int(table.mark_first[m]))  # the arming TRO, or the dot's MAC START
            blanked.append(int(m))
    commands = [-1] * len(preamble) + [k for k in range(first, len(texts)) if k not in skip]
    items = [(t, 0.0) for t in preamble] + [(texts[k], float(table.duration_s[k])) for k in commands[len(preamble):]]
    return SendPlan(np.array(commands, dtype=np.int64), first, blanked, payload=items)


__all__ = ["build_table", "plan", "latency_ms"]
