"""A GRBL job as the runner sees it: one command per file line, with what GRBL will do with it.

Per line: the block GRBL receives (comments and `;@` header lines are empty and never sent),
the position before and after it, how many planner blocks it makes (zero-length moves make
none, as in planner.c), whether GRBL synchronises on it (answers only after the planner ran
empty), the spindle state before it, whether it is a G0, and which mark it exposes. Marks
are the toolpath's marks in order (`Toolpath.is_mark`): a raster mark is exposed by its G1
line; a dot by its `G1..M3S..` line (beam on) through its `G4` line (dwell).

Two ways to build it, with identical results (tested):
  - lasergen's own dialect: vectorised from the fast reader's line scan (`fastread.scan_text`),
    no Python loop per line; `sync` is claimed only where GRBL certainly synchronises (a
    spindle switched on or off, a dwell), never more, because a sync is taken as proof;
  - any other G-code: lasergen's GRBL-faithful interpreter, line by line.
Send texts are not copied per line: a line's bytes are sliced from the file on demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from drivers.session import JobTable
from lasergen import LasergenError
from lasergen.backends.grbl.gcode import GcodeError, Interpreter, clean_line
from lasergen.backends.grbl.gcode import fastread as fr
from lasergen.backends.grbl.motion import durations
from lasergen.job import body_sha256, parse_header, read_job
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

NO_MARK = -1


@dataclass
class GrblJobTable(JobTable):
    data: bytes = b""  # the job file
    line_start: np.ndarray = None  # byte offsets of each line in `data` (dialect path)
    line_end: np.ndarray = None
    texts: list | None = None  # cleaned blocks per line (interpreter path), else None
    sendable: np.ndarray = None  # the line has a block to send
    blocks: np.ndarray = None
    sync: np.ndarray = None
    laser_on_before: np.ndarray = None
    rapid: np.ndarray = None
    beam_on: np.ndarray = None  # a raster mark line: the beam fires through it and stays on after
    body_sha256: str = ""

    def text(self, line: int) -> str:
        if self.texts is not None:
            return self.texts[line]
        return self.data[self.line_start[line]:self.line_end[line]].decode("ascii")


def _shift(values: np.ndarray, first) -> np.ndarray:
    return np.r_[np.asarray([first], values.dtype), values[:-1]]


def _from_scan(scan: fr.LineScan, machine: MachineProfile) -> dict:
    """Per-line columns and marks of a dialect body (all vectorised)."""
    kind, n = scan.kind, len(scan)
    end = np.column_stack([scan.x_pos, scan.y_pos])
    start = np.vstack([np.zeros((1, 2)), end[:-1]])
    move = (kind == fr.RAPID_L) | (kind == fr.MOVE_L)
    moved = move & np.any(start != end, axis=1)
    on_before = _shift(scan.on, False)
    sync = (kind == fr.DWELL_L) | ((kind == fr.OFF_L) & on_before) | (np.isin(kind, (fr.ON_L, fr.DOT_ON_L)) & ~on_before)
    firing = scan.on & (scan.s_state > 0)
    mark_lines = np.flatnonzero(((kind == fr.MOVE_L) | (kind == fr.DWELL_L)) & firing)
    is_dot = kind[mark_lines] == fr.DWELL_L
    first = np.where(is_dot, mark_lines - 1, mark_lines)  # the grammar puts G1..M3S.. right before G4
    mark_of = np.full(n, NO_MARK, np.int64)
    mark_of[first] = np.arange(mark_lines.size)
    mark_of[mark_lines] = np.arange(mark_lines.size)
    rows = np.flatnonzero(move | (kind == fr.DWELL_L))
    row_kind = np.select([kind[rows] == fr.RAPID_L, kind[rows] == fr.MOVE_L], [RAPID, LINE], DWELL)
    path = Toolpath.from_columns(kind=row_kind, x0=start[rows, 0], y0=start[rows, 1], x1=end[rows, 0],
                                 y1=end[rows, 1], speed_mm_s=np.where(row_kind == LINE, scan.feed[rows] / 60.0, 0.0),
                                 dwell_s=np.where(row_kind == DWELL, scan.p[rows], 0.0),
                                 energy_uJ=np.where(firing[rows] & (row_kind != RAPID), 1.0, 0.0))
    duration = np.bincount(rows, weights=durations(path, machine), minlength=n)
    return dict(start_mm=start, end_mm=end, moves=moved, mark_of=mark_of, mark_first=first, mark_last=mark_lines,
                duration_s=duration, sendable=~scan.comment,
                blocks=moved.astype(np.int64), sync=sync, laser_on_before=on_before, rapid=kind == fr.RAPID_L,
                beam_on=(kind == fr.MOVE_L) & firing)


def _interpreted(full_text: list[str], machine: MachineProfile) -> dict:
    """The same columns for any G-code GRBL accepts, by running the interpreter line by line."""
    job = read_job("\n".join(full_text) + "\n", machine, check_sum=False)
    n = len(full_text)
    interp = Interpreter(laser_mode=True)
    texts = [""] * n
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
        texts[i] = block
        end[i] = interp.state.position[:2]
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
    beam_on = np.zeros(n, bool)
    beam_on[mark_line[path.kind[mark_rows] != 2]] = True
    return dict(start_mm=start, end_mm=end, moves=blocks > 0, mark_of=mark_of, mark_first=first,
                mark_last=mark_line, duration_s=duration, texts=texts, sendable=np.array([bool(t) for t in texts]),
                blocks=blocks, sync=sync, laser_on_before=laser_before, rapid=rapid, beam_on=beam_on)


def job_table(job_path, machine: MachineProfile, planner=None) -> GrblJobTable:
    """Read a job file into the runner's table; LasergenError for a file that is not a job."""
    try:
        data = open(job_path, "rb").read()
        text = data.decode("ascii" if data.isascii() else "utf-8")
    except OSError as exc:
        raise LasergenError(f"cannot read job file {job_path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LasergenError(f"job file {job_path} is not G-code text") from None
    if not text.endswith("\n"):
        text += "\n"
        data += b"\n"
    head = text[:200_000].split("\n")
    manifest, first = parse_header(head[:-1])
    body_start = sum(len(line) + 1 for line in head[:first])
    sha = body_sha256(text[body_start:])
    if manifest and manifest.get("body_sha256") != sha:
        raise LasergenError("job body does not match its manifest checksum: the file was edited after planning "
                            "(re-plan it)")
    scan = fr.scan_text(text) if "\r" not in text else None
    if scan is not None:
        raw = np.frombuffer(data, np.uint8)
        ends = np.flatnonzero(raw == 10)
        columns = _from_scan(scan, machine)
        columns.update(line_start=np.r_[0, ends[:-1] + 1], line_end=ends)
    else:
        columns = _interpreted(text.splitlines(), machine)
    return GrblJobTable(planner=planner, data=data, body_sha256=sha, **columns)
