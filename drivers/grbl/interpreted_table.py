"""The GRBL job table's columns for any G-code GRBL accepts, by running lasergen's interpreter
line by line (the slow path of `drivers.grbl.job_table`, for files that are not lasergen's own
dialect): per line the block sent, positions, planner blocks, GRBL's sync, the spindle before it,
the marks it exposes, and the lines that arm a mark (GRBL's modal arming, found by its rule:
`_arming`). Tested equal to the dialect scan on lasergen's jobs."""

from __future__ import annotations

import numpy as np

from lasergen.backends.grbl.gcode import GcodeError, Interpreter, clean_line
from lasergen.backends.grbl.gcode.commands import read_words
from lasergen.backends.grbl.gcode.words import split_words
from lasergen.backends.grbl.motion import durations
from lasergen.job import read_job
from lasergen.machine import MachineProfile

NO_MARK = -1


def interpreted_columns(full_text: list[str], machine: MachineProfile) -> dict:
    """The same columns for any G-code GRBL accepts, by running the interpreter line by line."""
    job = read_job("\n".join(full_text) + "\n", machine, check_sum=False)
    n = len(full_text)
    interp = Interpreter(laser_mode=True)
    texts = [""] * n
    start, end = np.zeros((n, 2)), np.zeros((n, 2))
    end_z = np.full(n, np.nan)
    z_stated = False
    blocks = np.zeros(n, np.int32)
    sync, laser_before, rapid, dynamic_before = (np.zeros(n, bool) for _ in range(4))
    sets_motion, blank_g1 = np.zeros(n, bool), np.zeros(n, bool)
    motion_after = [""] * n
    for i, raw in enumerate(full_text):
        block = "" if raw.startswith(";@") else clean_line(raw)
        start[i] = interp.state.position[:2]
        laser_before[i] = interp.state.spindle != "M5"
        dynamic_before[i] = interp.state.spindle == "M4"
        if block and not block.startswith("$"):
            try:
                actions = interp.execute(block)
            except GcodeError:
                actions = []
            moves = [a for a in actions if a.kind == "move" and a.start != a.end]
            blocks[i] = len(moves)
            sets_motion[i] = "motion" in read_words(split_words(block)).groups
            blank_g1[i] = len(moves) == 1 and not moves[0].rapid and moves[0].power_s <= 0
            motion_after[i] = interp.state.motion
            sync[i] = interp.synced
            rapid[i] = any(a.rapid for a in moves)
        texts[i] = block
        end[i] = interp.state.position[:2]
        z_stated = z_stated or ("Z" in block and not block.startswith("$"))
        end_z[i] = interp.state.position[2] if z_stated else np.nan
    path = job.program.toolpath
    mark_rows = np.flatnonzero(path.is_mark)
    mark_line = job.program.row_line[mark_rows].astype(np.int64)
    first = mark_line.copy()
    for m in np.flatnonzero(path.kind[mark_rows] == 2):  # a dot's beam comes on at the G1M3S line before its G4
        j = mark_line[m] - 1
        while j > 0 and not (sync[j] and "M3" in texts[j]):
            j -= 1
        first[m] = j
    mark_of = np.full(n, NO_MARK, np.int64)
    for m, (a, b) in enumerate(zip(first, mark_line)):
        mark_of[a] = m
        mark_of[b] = m
    row_s = durations(path, machine)
    duration = np.bincount(job.program.row_line, weights=row_s, minlength=n)
    raster = mark_line[path.kind[mark_rows] != 2]
    beam_on = np.zeros(n, bool)
    beam_on[raster[~dynamic_before[raster]]] = True  # under M3 the beam stays on at rest after it
    arming = _arming(raster, texts, sets_motion, blank_g1, motion_after)
    return dict(start_mm=start, end_mm=end, moves=blocks > 0, mark_of=mark_of, mark_first=first,
                mark_last=mark_line, duration_s=duration, end_z_mm=end_z, texts=texts, sendable=np.array([bool(t) for t in texts], bool),
                blocks=blocks, sync=sync, laser_on_before=laser_before, rapid=rapid, beam_on=beam_on,
                dynamic_before=dynamic_before, arming=arming)


def _arming(raster: np.ndarray, texts: list, sets_motion, blank_g1, motion_after) -> np.ndarray:
    """Per line: it arms the raster mark of the next sent line (the dialect's rule, for any G-code):
    the mark's block names no motion mode, the line before it is a blank G1 move, and the line
    before that leaves G0, so the mark runs as G0 if its arming line is refused."""
    sent = [i for i, t in enumerate(texts) if t]
    previous = {b: a for a, b in zip(sent[:-1], sent[1:])}
    arming = np.zeros(len(texts), bool)
    for m in raster.tolist():
        p = previous.get(m)
        q = previous.get(p) if p is not None else None
        if q is not None and not sets_motion[m] and blank_g1[p] and motion_after[p] == "G1" and motion_after[q] == "G0":
            arming[p] = True
    return arming
