"""A job as the sender sees it: one entry per file line, with what GRBL will do with it.

Built by running lasergen's GRBL-faithful interpreter over the file once: the block GRBL
receives (comments and `;@` header lines become empty and are never sent), the position
before and after it, how many planner blocks it makes (zero-length moves make none, as in
planner.c), whether GRBL synchronises on it, the spindle state before it, and which mark it
exposes. Marks are the toolpath's marks in order (`Toolpath.is_mark`): a LINE mark is exposed
by its G1 line; a dot by its `G1M3S..` line (beam on) through its `G4` line (dwell).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasergen.backends.grbl.gcode import GcodeError, Interpreter, clean_line
from lasergen.job import Job

NO_MARK = -1


@dataclass
class JobLines:
    text: list[str]
    start_mm: np.ndarray  # (n, 2) position before the line
    end_mm: np.ndarray  # (n, 2) position after it
    blocks: np.ndarray  # planner blocks it creates
    sync: np.ndarray  # GRBL answers it only after the planner ran empty
    laser_on_before: np.ndarray  # M3/M4 active before the line
    rapid: np.ndarray  # the line is a G0 move
    mark_of_line: np.ndarray  # mark id exposed (wholly or partly) by the line, or NO_MARK
    mark_line: np.ndarray  # per mark: the line whose execution completes it
    mark_first_line: np.ndarray  # per mark: the first line of it (the G1M3S of a dot)

    @property
    def n_marks(self) -> int:
        return len(self.mark_line)

    def __len__(self) -> int:
        return len(self.text)


def job_lines(job: Job, full_text: list[str]) -> JobLines:
    n = len(full_text)
    interp = Interpreter(laser_mode=True)
    text = [""] * n
    start, end = np.zeros((n, 2)), np.zeros((n, 2))
    blocks = np.zeros(n, np.int64)
    sync, laser_before, rapid = (np.zeros(n, bool) for _ in range(3))
    for i, raw in enumerate(full_text):
        block = "" if raw.startswith(";@") else clean_line(raw)
        start[i] = interp.state.position[:2]
        laser_before[i] = interp.state.spindle != "M5"
        if block and not block.startswith("$"):
            try:
                actions = interp.execute(block)
            except GcodeError:
                actions = []
            moves = [a for a in actions if a.kind == "move" and a.start != a.end]
            blocks[i] = len(moves)
            sync[i] = interp.synced
            rapid[i] = any(a.rapid for a in moves)
        text[i] = block
        end[i] = interp.state.position[:2]

    path = job.program.toolpath
    mark_rows = np.flatnonzero(path.is_mark)
    mark_line = job.program.row_line[mark_rows].astype(np.int64)
    first = mark_line.copy()
    dots = np.flatnonzero(path.kind[mark_rows] == 2)
    for m in dots:  # a dot's beam comes on at the G1M3S line before its G4
        j = mark_line[m] - 1
        while j > 0 and not (sync[j] and "M3" in text[j]):
            j -= 1
        first[m] = j
    mark_of_line = np.full(n, NO_MARK, np.int64)
    for m, (a, b) in enumerate(zip(first, mark_line)):
        mark_of_line[a] = m
        mark_of_line[b] = m
    return JobLines(text, start, end, blocks, sync, laser_before, rapid, mark_of_line, mark_line, first)
