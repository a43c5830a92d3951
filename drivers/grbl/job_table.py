"""A GRBL job as the runner sees it: one command per file line, with what GRBL will do with it.

Per line: the block GRBL receives (comments and `;@` header lines are empty and never sent),
the position before and after it (X, Y; Z in `end_z_mm` once the job has stated a Z), how many
planner blocks it makes (zero-length moves make none, as in planner.c), whether GRBL
synchronises on it (answers only after the planner ran empty), the spindle state before it,
whether it is a G0, and which mark it exposes. Marks
are the toolpath's marks in order (`Toolpath.is_mark`): a raster mark is exposed by its G1
line (under M3) or its bare line (an armed pass under M4: the `G1 .. S0` line before it arms it,
`arming`); a dot by its `G1..M3S..` line (beam on) through its `G4` line (dwell).

Two ways to build it, with identical results (tested):
  - lasergen's own dialect: vectorised from the fast reader's line scan (`fastread.scan_text`),
    no Python loop per line; `sync` is claimed only where GRBL certainly synchronises (a
    spindle switched on or off, a dwell), never more, because a sync is taken as proof;
  - any other G-code: lasergen's GRBL-faithful interpreter, line by line
    (`drivers.grbl.interpreted_table`).
Send texts are not copied per line: a line's bytes are sliced from the file on demand.

Big jobs are prepared lazily (a 4096^2 bitmap is 13.8 M lines, minutes of scanning on a busy
machine): what a fresh stream needs up front is cheap and whole-file (the line count, which
lines are sent, the checksum); the rest (line offsets included) is scanned in pieces of about
PIECE_BYTES, each from the modal
state the previous one left, the first before `job_table` returns and the others on a
background thread, far ahead of any stream (`ready(line)` waits for a line's piece, `complete()`
for all). Only a job this lasergen planned (manifest checksum matching, same generator version)
streams before its scan ends; a piece the scan refuses then halts the stream (`JobUnreadable`,
a defence: this version's emitter writes nothing else). Any other file is scanned whole
first, and handed to the interpreter if any piece is not the dialect. Durations
are the motion model's per piece (a junction across a piece boundary is planned from rest: the
ETA and stall limits may differ by one junction per piece).
"""

from __future__ import annotations

import hashlib
import threading
from dataclasses import dataclass

import numpy as np

from drivers.grbl.interpreted_table import NO_MARK, interpreted_columns
from drivers.session import JobTable
from lasergen import LasergenError, __version__
from lasergen.backends.grbl.gcode import fastread as fr
from lasergen.backends.grbl.motion import durations
from lasergen.job import parse_header
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

PIECE_BYTES = 1 << 20  # ~80,000 lines: one piece holds the interpreter lock for ~0.1 s at most
_DOT_HEADS = (b"G1F", b"G4")  # a piece never ends on these: the grammar takes a dot's 3 lines whole


class JobUnreadable(LasergenError):
    """A piece of a job that streams while it is scanned is not lasergen's dialect."""


@dataclass
class GrblJobTable(JobTable):
    data: bytes = b""  # the job file
    offsets: np.ndarray = None  # byte offset of each line's start, and the file's end (n + 1)
    texts: list | None = None  # cleaned blocks per line (interpreter path), else None
    sendable: np.ndarray = None  # the line has a block to send
    blocks: np.ndarray = None
    sync: np.ndarray = None
    laser_on_before: np.ndarray = None
    dynamic_before: np.ndarray = None  # M4 in force before the line (an armed pass)
    rapid: np.ndarray = None
    beam_on: np.ndarray = None  # a raster mark line under M3: the beam fires through it and stays on after
    body_sha256: str = ""
    plans_fresh: bool = True  # the planner takes done=None (a fresh stream, before the scan ends)
    positions: np.ndarray = None  # (n + 1, 2): start_mm and end_mm are views of it (dialect path)
    marks: "_Marks | None" = None  # where mark_first / mark_last grow while the scan runs
    scan: "_Scan | None" = None

    def text(self, line: int) -> str:
        if self.texts is not None:
            return self.texts[line]
        if self.scan is not None and line >= self.scan.upto:
            self.scan.wait(line + 1)
        return self.data[self.offsets[line]:self.offsets[line + 1] - 1].decode("ascii")

    def ready(self, command: int) -> None:
        if self.scan is not None:
            self.scan.wait(min(command + 1, self.n_commands))

    def complete(self) -> "GrblJobTable":
        if self.scan is not None:
            self.scan.wait(self.n_commands)
        return self

    @property
    def is_complete(self) -> bool:
        return self.scan is None or self.scan.upto >= self.n_commands


def _shift(values: np.ndarray, first) -> np.ndarray:
    return np.r_[np.asarray([first], values.dtype), values[:-1]]


@dataclass
class _State:
    """Where the scan stands between pieces: the next line and byte, the modal state there,
    and the marks found so far."""

    line: int = 0
    byte: int = 0
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    z_stated: bool = False  # a Z word came before: the job's Z is known from here on
    feed: float = np.nan
    s: float = 0.0
    on: float = 0.0  # the scan's spindle state: 0 off, 1 M3, 2 M4
    marks: int = 0


def _piece_end(data: bytes, start: int, piece_bytes: int) -> int:
    """The byte after a piece that begins at `start`: about piece_bytes of whole lines, never
    ending on a dot's `G1F..` or `G4..` line (the grammar takes a dot's three lines whole) nor
    right before a bare mark `X..` (the scan takes a bare mark only right after its arming line)."""
    if start + piece_bytes >= len(data):
        return len(data)
    cut = data.rfind(b"\n", start, start + piece_bytes) + 1 or data.find(b"\n", start) + 1
    while cut < len(data) and (data.startswith(_DOT_HEADS, max(start, data.rfind(b"\n", start, cut - 1) + 1))
                               or data.startswith(b"X", cut)):
        cut = data.find(b"\n", cut) + 1
    return cut


def _scan_piece(table: GrblJobTable, state: _State, stop: int, machine: MachineProfile) -> _State | None:
    """Fill the lines of bytes state.byte..stop into the table's per-line columns from the
    dialect scan (vectorised); returns the state after them, or None if they are not the dialect."""
    chunk = table.data[state.byte:stop]
    if not chunk.isascii():
        return None
    scan = fr.scan_text(chunk, fr.ReadState(x=state.x, y=state.y, z=state.z, feed=state.feed, s=state.s, on=state.on))
    if scan is None:
        return None
    a = state.line
    n = len(scan)
    b = a + n
    table.offsets[a + 1:b + 1] = state.byte + 1 + scan.ends
    kind = scan.kind
    end = np.column_stack([scan.x_pos, scan.y_pos])
    start = np.vstack([[state.x, state.y], end[:-1]])
    move = (kind == fr.RAPID_L) | (kind == fr.MOVE_L) | (kind == fr.MARK_L)
    z_start = _shift(scan.z_pos, state.z)
    moved = move & (np.any(start != end, axis=1) | (z_start != scan.z_pos))  # a Z-only move is a planner block too
    spindle = np.asarray(scan.spindle, np.float64)  # 0 off, 1 M3, 2 M4 after each line
    on_after = spindle > 0
    spindle_before = _shift(spindle, float(state.on))
    on_before = spindle_before > 0
    sync = (kind == fr.DWELL_L) | ((kind == fr.OFF_L) & on_before) | (np.isin(kind, (fr.ON_L, fr.DOT_ON_L)) & ~on_before)
    firing = on_after & (scan.s_state > 0)
    lines_marking = (kind == fr.MOVE_L) | (kind == fr.MARK_L)
    mark_lines = np.flatnonzero((lines_marking | (kind == fr.DWELL_L)) & firing)
    is_dot = kind[mark_lines] == fr.DWELL_L
    first = np.where(is_dot, mark_lines - 1, mark_lines)  # the grammar puts G1..M3S.. right before G4
    numbers = state.marks + np.arange(mark_lines.size)
    rows = np.flatnonzero(move | (kind == fr.DWELL_L))
    row_kind = np.select([kind[rows] == fr.RAPID_L, lines_marking[rows]], [RAPID, LINE], DWELL)
    path = Toolpath.from_columns(kind=row_kind, x0=start[rows, 0], y0=start[rows, 1], x1=end[rows, 0],
                                 y1=end[rows, 1], z0=z_start[rows], z1=scan.z_pos[rows], speed_mm_s=np.where(row_kind == LINE, scan.feed[rows] / 60.0, 0.0),
                                 dwell_s=np.where(row_kind == DWELL, scan.p[rows], 0.0),
                                 energy_uJ=np.where(firing[rows] & (row_kind != RAPID), 1.0, 0.0),
                                 pass_id=np.cumsum(sync)[rows])  # the planner runs empty at each sync
    t = table
    t.positions[a + 1:b + 1] = end
    z_stated = state.z_stated | np.logical_or.accumulate(~np.isnan(scan.z))
    t.end_z_mm[a:b] = np.where(z_stated, scan.z_pos, np.nan)
    t.moves[a:b] = moved
    t.duration_s[a:b] = np.bincount(rows, weights=durations(path, machine), minlength=n)
    t.blocks[a:b] = moved
    t.sync[a:b] = sync
    t.laser_on_before[a:b] = on_before
    t.dynamic_before[a:b] = spindle_before == 2
    t.rapid[a:b] = kind == fr.RAPID_L
    t.beam_on[a:b] = lines_marking & firing & (spindle != 2)  # under M4 the beam is off at rest
    t.arming[a:b] = (kind == fr.MOVE_L) & np.r_[kind[1:] == fr.MARK_L, False]  # a piece never ends between them
    mark_of = np.full(n, NO_MARK, np.int64)
    mark_of[first] = numbers
    mark_of[mark_lines] = numbers
    t.mark_of[a:b] = mark_of
    t.marks.extend(a + first, a + mark_lines)
    t.mark_first, t.mark_last = t.marks.views()  # new views: readers see every mark scanned so far
    return _State(b, stop, float(end[-1, 0]), float(end[-1, 1]), float(scan.z_pos[-1]), bool(z_stated[-1]),
                  float(scan.feed[-1]), float(scan.s_state[-1]),
                  float(spindle[-1]), state.marks + mark_lines.size)


class _Marks:
    """mark_first / mark_last, growing by doubling as pieces are scanned."""

    def __init__(self, capacity: int = 1024):
        self.first = np.empty(capacity, np.int64)
        self.last = np.empty(capacity, np.int64)
        self.n = 0

    def extend(self, first: np.ndarray, last: np.ndarray):
        need = self.n + first.size
        if need > self.first.size:
            size = max(need, 2 * self.first.size)
            self.first = np.concatenate([self.first[:self.n], np.empty(size - self.n, np.int64)])
            self.last = np.concatenate([self.last[:self.n], np.empty(size - self.n, np.int64)])
        self.first[self.n:need], self.last[self.n:need] = first, last
        self.n = need

    def views(self):
        return self.first[:self.n], self.last[:self.n]


class _Scan:
    """The pieces after the first, scanned in order on a background thread; `upto` lines are ready."""

    def __init__(self, table: GrblJobTable, machine: MachineProfile, state: _State, piece_bytes: int):
        self.table, self.machine, self.state, self.piece_bytes = table, machine, state, piece_bytes
        self.upto = state.line
        self.error: LasergenError | None = None
        self.cond = threading.Condition()
        self.thread = threading.Thread(target=self._run, name="job-scan", daemon=True)
        self.thread.start()

    def _run(self):
        data = self.table.data
        try:
            while self.state.byte < len(data):
                stop = _piece_end(data, self.state.byte, self.piece_bytes)
                state = _scan_piece(self.table, self.state, stop, self.machine)
                if state is None:
                    raise JobUnreadable(f"job line {self.state.line + 1} or after is not lasergen's G-code "
                                        f"dialect (planned by another version?): the stream stops before it")
                self.state = state
                with self.cond:
                    self.upto = state.line
                    self.cond.notify_all()
        except Exception as exc:  # noqa: BLE001 - handed to the waiting stream, never lost
            with self.cond:
                self.error = exc if isinstance(exc, LasergenError) else JobUnreadable(f"job scan failed: {exc!r}")
                self.cond.notify_all()

    def wait(self, lines: int):
        with self.cond:
            while self.upto < lines and self.error is None:
                self.cond.wait()
            if self.upto < lines:
                raise self.error


def _lines(data: bytes) -> tuple[int, np.ndarray]:
    """(number of lines, line numbers of the lines that begin with ';'): one counting pass and
    a C-speed search for ';', which in the dialect only comment lines hold (the header, the
    `;@pass` markers), without splitting the file into lines."""
    comments, line, at = [], 0, 0
    pos = data.find(b";")
    while pos >= 0:
        if pos == 0 or data[pos - 1] == 10:
            line += data.count(b"\n", at, pos)
            at = pos
            comments.append(line)
        end = data.find(b"\n", pos)
        pos = data.find(b";", end) if end >= 0 else -1
    return line + data.count(b"\n", at), np.array(comments, np.int64)


def _lazy_table(data: bytes, machine: MachineProfile, trusted: bool, piece_bytes: int,
                **fields) -> GrblJobTable | None:
    """The dialect table: the first piece now, the rest in the background (trusted) or now.
    Columns are allocated whole and filled piece by piece (pages are touched as they fill)."""
    n, comments = _lines(data)
    sendable = np.ones(n, bool)
    sendable[comments] = False
    table = GrblJobTable(start_mm=None, end_mm=None, moves=np.empty(n, bool), mark_of=np.empty(n, np.int64),
                         mark_first=np.zeros(0, np.int64), mark_last=np.zeros(0, np.int64),
                         duration_s=np.empty(n), data=data, offsets=np.empty(n + 1, np.int64), sendable=sendable,
                         blocks=np.empty(n, np.int32), sync=np.empty(n, bool), laser_on_before=np.empty(n, bool),
                         rapid=np.empty(n, bool), beam_on=np.empty(n, bool), end_z_mm=np.empty(n),
                         dynamic_before=np.empty(n, bool), arming=np.empty(n, bool), **fields)
    table.offsets[0] = 0
    table.positions = np.empty((n + 1, 2))
    table.positions[0] = 0.0
    table.start_mm, table.end_mm = table.positions[:-1], table.positions[1:]
    table.marks = _Marks()
    state = _State()
    while state.byte < len(data):
        state = _scan_piece(table, state, _piece_end(data, state.byte, piece_bytes), machine)
        if state is None:
            return None
        if trusted and state.byte < len(data):
            table.scan = _Scan(table, machine, state, piece_bytes)
            break
    return table


def job_table(job_path, machine: MachineProfile, planner=None, piece_bytes: int | None = None,
              dialect: bool = True) -> GrblJobTable:
    """Read a job file into the runner's table; LasergenError for a file that is not a job.
    `dialect=False` forces the interpreter (tests compare the two)."""
    try:
        with open(job_path, "rb") as f:
            data = f.read()
    except OSError as exc:
        raise LasergenError(f"cannot read job file {job_path}: {exc.strerror}") from None
    if not data.endswith(b"\n"):
        data += b"\n"
    head = data[:200_000].decode("utf-8", errors="replace").split("\n")
    manifest, first = parse_header(head[:-1])
    body_start = sum(len(line.encode()) + 1 for line in head[:first])
    sha = hashlib.sha256(memoryview(data)[body_start:]).hexdigest()
    if manifest and manifest.get("body_sha256") != sha:
        raise LasergenError("job body does not match its manifest checksum: the file was edited after planning "
                            "(re-plan it)")
    estimated = (manifest or {}).get("estimate", {}).get("time_s")
    fields = dict(planner=planner, body_sha256=sha, estimated_s=float(estimated) if estimated else None)
    if dialect and b"\r" not in data:  # (the scan refuses any byte that is not ASCII)
        trusted = bool(manifest) and manifest.get("generator") == f"lasergen {__version__}"  # this emitter's output
        table = _lazy_table(data, machine, trusted, piece_bytes or PIECE_BYTES, **fields)
        if table is not None:
            return table
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise LasergenError(f"job file {job_path} is not G-code text") from None
    columns = interpreted_columns(text.splitlines(), machine)
    return GrblJobTable(data=data, **fields, **columns)
