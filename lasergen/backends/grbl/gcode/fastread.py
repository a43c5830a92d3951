"""A vectorised reader for the G-code lasergen itself emits: ~50x faster than the interpreter
(lines scanned, and the modal state carried, by the compiled kernel when built, else by a
regex and numpy forward fills; identical).

The body must be a sequence of exactly these units (checked with one regular expression over
the whole text, at C speed):
    G21G90G94 | M5 | M3S0 | M4S0 | G0X<n>[Y<n>][Z<n>] | G0Z<n> | G0 | ;comment
    | G1X<n>[Y<n>][Z<n>][F<n>]S<n> [X<n>[Y<n>][Z<n>][F<n>]S<n>] | G1F<n>M3S<n> G4P<n> M5
The armed raster forms (M4, a bare mark line right after its arming `G1X..` line, a bare `G0`
disarm) are valid only as the armed dialect has them: a bare `G0` only while M4 is in force
(under M3 GRBL synchronises on it, which lasergen never writes), a bare mark only right after a
`G1X..` line. Anything else, and any file in which GRBL would refuse a line (a G1 while the feed rate is
undefined or zero: `F0`, error:22), is left to the interpreter, which alone reports errors. Within the grammar the semantics are GRBL's,
as the interpreter has them: absolute millimetres, modal Y/Z/F/S carried forward, a bare mark a
G1 by the mode its arming line left, the laser firing in G1 under M3 or M4 and never in G0, a
dot's dwell at the power its G1M3S set (the toolpath holds the programmed S: M4's scaling by
speed is the motion's, not the reader's).
Numbers are parsed as an integer mantissa over a power of ten, the same correctly rounded
value `float()` gives, so both readers produce identical toolpaths (tested).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from lasergen import kernels
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

_NUM = r"-?\d{1,7}(?:\.\d{1,6})?"  # at most 15 characters: fits the parse window
_POS = r"\d{1,7}(?:\.\d{1,6})?"
_MOVE = rf"X{_NUM}(?:Y{_NUM})?(?:Z{_NUM})?(?:F{_POS})?S{_POS}"  # a G1X line's words, a bare mark's line
_BODY = re.compile((  # the common forms first: re tries alternatives in order
    rf"(?:(?:G1{_MOVE}(?:\n{_MOVE})?|G0X{_NUM}(?:Y{_NUM})?(?:Z{_NUM})?"  # a G1X line, and its bare mark if one follows
    rf"|G1F{_POS}M3S{_POS}\nG4P{_POS}\nM5|G0Z{_NUM}|G0|M5|M[34]S0|G21G90G94|;[^\n]*)\n)*+").encode())  # possessive: no backtracking state kept per line
PASS_MARKER = re.compile(r";@pass (\d+) layer (\d+)(?:\s|$)")  # shared with the interpreter's reader
_MARKER = re.compile(PASS_MARKER.pattern.encode())
WINDOW = 16  # longest number the dialect writes, with sign and point
KIND_OF = {b"G0": 1, b"G1X": 2, b"G1F": 3, b"G4": 4, b"M5": 5, b"M3": 6, b"M4": 6, b"X": 7,
           b"G0\n": 8}  # first bytes -> line kind (a longer prefix, listed later, wins)
RAPID_L, MOVE_L, DOT_ON_L, DWELL_L, OFF_L, ON_L, MARK_L, MODE_L = 1, 2, 3, 4, 5, 6, 7, 8
M3_ON, M4_ON = 1.0, 2.0  # the modal `on` value: 0 = M5, 1 = M3 (constant power), 2 = M4 (dynamic power)


def _kind_steps(table: dict) -> tuple[np.ndarray, np.ndarray]:
    """KIND_OF as a step function of a line's first three bytes read as one big-endian number:
    a prefix of L bytes covers an interval of those numbers, a longer prefix (inside a shorter
    one) wins; (where each step starts, its kind), so one searchsorted gives every line's kind."""
    spans = [(int.from_bytes(p, "big") << 8 * (3 - len(p)), 1 << 8 * (3 - len(p)), code) for p, code in table.items()]
    steps = sorted({0} | {lo for lo, _, _ in spans} | {lo + size for lo, size, _ in spans})
    covering = [[(size, code) for lo, size, code in spans if lo <= k < lo + size] for k in steps]
    return np.array(steps, np.int64), np.array([min(c)[1] if c else 0 for c in covering], np.int8)


_STEP_AT, _STEP_KIND = _kind_steps(KIND_OF)


def _numbers(buf: np.ndarray, at: np.ndarray) -> np.ndarray:
    """The decimal number starting at each index of `buf`, as float64 (vectorised): one pass per
    character position over the numbers still being read (Horner on an integer mantissa), so
    memory stays a few arrays of one value per number."""
    negative = buf[at] == ord("-")
    mantissa = np.zeros(at.size, dtype=np.int64)
    frac_digits = np.zeros(at.size, dtype=np.int64)
    seen_point = np.zeros(at.size, dtype=bool)
    live = np.arange(at.size)  # numbers not yet ended
    pos = at + negative
    for _ in range(WINDOW):
        c = buf[pos[live]]
        digit = (c >= 48) & (c <= 57)
        point = (c == ord(".")) & ~seen_point[live]
        going = digit | point
        live, c, digit, point = live[going], c[going], digit[going], point[going]
        if not live.size:
            break
        mantissa[live] = np.where(digit, mantissa[live] * 10 + (c - 48), mantissa[live])
        frac_digits[live] += digit & seen_point[live]
        seen_point[live] |= point
        pos[live] += 1
    value = mantissa / 10.0 ** frac_digits
    return np.where(negative, -value, value)


def _word(buf: np.ndarray, starts: np.ndarray, comment: np.ndarray, letter: str) -> np.ndarray:
    """Per line, the value of `letter`'s word (NaN where the line has none)."""
    at = np.flatnonzero(buf == ord(letter))
    line = np.searchsorted(starts, at, side="right") - 1
    keep = ~comment[line]
    out = np.full(starts.size, np.nan)
    out[line[keep]] = _numbers(buf, at[keep] + 1)
    return out


def _ffill(values: np.ndarray, initial: float) -> np.ndarray:
    idx = np.where(np.isnan(values), 0, np.arange(values.size))
    np.maximum.accumulate(idx, out=idx)
    out = values[idx]
    return np.where(np.isnan(out), initial, out)


@dataclass
class ReadState:
    """The modal state at a chunk boundary (a job read in pieces carries it to the next piece)."""
    x: float = 0.0
    y: float = 0.0
    z: float = 0.0
    feed: float = np.nan  # mm/min; NaN until an F is programmed
    s: float = 0.0
    on: float = 0.0  # the laser enabled: 0 = M5, M3_ON (1) or M4_ON (2); truthy while on
    pass_id: int = -1
    layer: int = 0
    marked: bool = False  # a `;@pass` marker has been read: from then on passes come from markers
    lines: int = 0  # lines before this piece


@dataclass
class LineScan:
    """Per line of a piece of the dialect: its kind (KIND_OF codes, 0 = other), whether it is a
    comment, its X Y F S P Z words (NaN where absent), the modal state after it (position, S,
    laser enabled `on` (bool), `spindle` (0 = M5, M3_ON, M4_ON), feed in mm/min), and where the
    lines start and end in the piece."""

    kind: np.ndarray
    comment: np.ndarray
    x: np.ndarray
    y: np.ndarray
    f: np.ndarray
    s: np.ndarray
    p: np.ndarray
    z: np.ndarray
    x_pos: np.ndarray
    y_pos: np.ndarray
    z_pos: np.ndarray
    s_state: np.ndarray
    on: np.ndarray
    feed: np.ndarray
    starts: np.ndarray
    ends: np.ndarray
    spindle: np.ndarray

    def __len__(self) -> int:
        return self.kind.size


def scan_text(text: str | bytes, state: ReadState | None = None) -> LineScan | None:
    """Scan whole lines (ending in "\\n") of lasergen's dialect from the modal state `state`
    (default: GRBL's after a reset); None if they are not the dialect, or if GRBL would refuse
    a line of them (a G1 while the feed rate is undefined or zero: error:22)."""
    data = text.encode() if isinstance(text, str) else text
    state = state or ReadState()
    raw = np.frombuffer(data, dtype=np.uint8)
    ends = np.flatnonzero(raw == 10)
    starts = np.r_[0, ends[:-1] + 1]
    scanned = _scan_modal(data, raw, starts, state)
    if scanned is None:
        return None
    kind, comment, (x, y, f, s, p, z), modal = scanned
    x_pos, y_pos, z_pos, feed, s_state, spindle = modal
    g1 = feed[(kind == MOVE_L) | (kind == MARK_L) | (kind == DOT_ON_L)]
    if np.isnan(g1).any() or (g1 <= 0).any():
        return None  # a G1 with no feed rate (none yet, or F0): GRBL's error:22, which the interpreter reports
    return LineScan(kind, comment, x, y, f, s, p, z, x_pos, y_pos, z_pos, s_state, spindle > 0, feed, starts, ends,
                    spindle)


def _modal(kind, x, y, z, f, s, m4: np.ndarray, state: ReadState):
    """The modal state after each line, carried forward as GRBL keeps it (the compiled
    scanner's twin): X Y Z of moves (a bare mark is one), F, S, and the spindle: M3_ON from
    M3 (or a dot's), M4_ON from M4 (lines where `m4`), 0 from M5."""
    move = (kind == RAPID_L) | (kind == MOVE_L) | (kind == MARK_L)
    on = np.where(np.isin(kind, (ON_L, DOT_ON_L)), np.where(m4, M4_ON, M3_ON), np.where(kind == OFF_L, 0.0, np.nan))
    return (_ffill(np.where(move, x, np.nan), state.x), _ffill(np.where(move, y, np.nan), state.y),
            _ffill(np.where(move, z, np.nan), state.z), _ffill(f, state.feed), _ffill(s, state.s),
            _ffill(on, float(state.on)))


def fast_read(lines: list[str], machine: MachineProfile):
    """(Toolpath, row_line) for a body in lasergen's own dialect, or None to use the interpreter."""
    text = "\n".join(lines) + "\n"
    if not text.isascii():
        return None
    got = read_chunk(text.encode(), machine, ReadState())
    return None if got is None else got[:2]


def read_chunk(data: bytes, machine: MachineProfile, state: ReadState):
    """(Toolpath, row_line, state after) for whole lines of lasergen's dialect (`data` ends with a
    newline), starting from `state`; None where the interpreter must decide."""
    if not data:
        return Toolpath.empty(), np.zeros(0, dtype=np.int64), state
    scan = scan_text(data, state)
    if scan is None:
        return None
    kind, on, s_state, feed, p, x_pos, y_pos = scan.kind, scan.on, scan.s_state, scan.feed, scan.p, scan.x_pos, scan.y_pos
    z_pos = scan.z_pos
    g1 = (kind == MOVE_L) | (kind == MARK_L)  # a bare mark is a G1 move (no row for a bare G0)
    move = (kind == RAPID_L) | g1
    n = len(scan)

    rows = np.flatnonzero(move | (kind == DWELL_L))
    x1, y1, z1 = x_pos[rows], y_pos[rows], z_pos[rows]
    x0, y0 = np.r_[state.x, x_pos[:-1]][rows], np.r_[state.y, y_pos[:-1]][rows]  # where the line began
    z0 = np.r_[state.z, z_pos[:-1]][rows]
    row_kind = np.select([kind[rows] == RAPID_L, g1[rows]], [RAPID, LINE], DWELL).astype(np.uint8)
    dwell = row_kind == DWELL
    power = np.where((row_kind != RAPID) & on[rows], s_state[rows], 0.0)
    speed = np.where(row_kind == LINE, feed[rows] / 60.0, 0.0)

    pass_id, layer, after = _passes(data, scan.starts, scan.ends, kind, on, scan.comment, state)
    path = Toolpath.from_columns(kind=row_kind, x0=x0, y0=y0, x1=x1, y1=y1, speed_mm_s=speed,
                                 dwell_s=np.where(dwell, p[rows], 0.0), energy_uJ=power / machine.s_per_uJ,
                                 pass_id=np.maximum(pass_id[rows], 0), layer=layer[rows], z0=z0, z1=z1)
    after.x, after.y, after.feed, after.s = float(x_pos[-1]), float(y_pos[-1]), float(feed[-1]), float(s_state[-1])
    after.z = float(z_pos[-1])
    after.on, after.lines = float(scan.spindle[-1]), state.lines + n
    return path, rows.astype(np.int64) + state.lines, after


def _scan(data: bytes, raw: np.ndarray, starts: np.ndarray):
    """(kind, comment, words X Y F S P Z with NaN where absent, spindle after each line: 0 =
    M5, M3_ON, M4_ON) per line from GRBL's reset state, or None outside the grammar."""
    scanned = _scan_modal(data, raw, starts, ReadState())
    return None if scanned is None else (*scanned[:3], scanned[3][5])


def _scan_modal(data: bytes, raw: np.ndarray, starts: np.ndarray, state: ReadState):
    """(kind, comment, words X Y F S P Z with NaN where absent, modal state after each line:
    X Y Z, feed, S, spindle) per line, or None outside the grammar: the compiled scanner when
    built (it carries the modal state and checks the armed lines' context as it goes), else
    the regex, the windowed number parser and the forward fills, the context checked after."""
    n = starts.size
    kernel = kernels.get()
    if kernel is not None:
        kind, comment, words, modal = np.zeros(n, np.int8), np.zeros(n, bool), np.full((6, n), np.nan), np.empty((6, n))
        initial = (state.x, state.y, state.z, state.feed, state.s, float(state.on))
        return (kind, comment, words, modal) if kernel.scan_lines(data, kind, comment, words, modal, initial) else None
    if not _BODY.fullmatch(data) or not data.isascii():
        return None
    buf = np.concatenate([raw, np.zeros(WINDOW, np.uint8)])
    head = buf[starts[:, None] + np.arange(3)]
    key = (head[:, 0].astype(np.int64) << 16) | (head[:, 1].astype(np.int64) << 8) | head[:, 2]
    kind = _STEP_KIND[np.searchsorted(_STEP_AT, key, side="right") - 1]
    comment = head[:, 0] == ord(";")
    words = [_word(buf, starts, comment, c) for c in "XYFSPZ"]
    x, y, f, s, _p, z = words
    modal = _modal(kind, x, y, z, f, s, head[:, 1] == ord("4"), state)  # M4S0: the ON_L lines with a 4
    return (kind, comment, words, modal) if _armed_in_context(kind, modal[5]) else None


def _armed_in_context(kind: np.ndarray, spindle: np.ndarray) -> bool:
    """The armed dialect's context rules (the compiled scanner checks them as it scans): a bare
    mark only right after a `G1X..` line (its arming line), a bare `G0` only under M4."""
    mark = np.flatnonzero(kind == MARK_L)
    if mark.size and (mark[0] == 0 or np.any(kind[mark - 1] != MOVE_L)):
        return False
    return not np.any((kind == MODE_L) & (spindle != M4_ON))


def _passes(data: bytes, starts, ends, kind: np.ndarray, on: np.ndarray, comment: np.ndarray, state: ReadState):
    """Pass and layer per line, and the state after, as the interpreter's reader counts them: a
    new pass each time the laser is switched on until the job's first `;@pass` marker, then the
    markers alone (carried across pieces by `state.marked`)."""
    n = starts.size
    pass_id = np.full(n, np.nan)
    layer = np.full(n, np.nan)
    for i in np.flatnonzero(comment):
        if m := _MARKER.match(data, starts[i], ends[i]):
            pass_id[i], layer[i] = int(m.group(1)), int(m.group(2))
    marker = ~np.isnan(pass_id)
    first = 0 if state.marked else (int(np.argmax(marker)) if marker.any() else n)
    counting = np.arange(n) < first
    switched_on = np.r_[on[0] and not state.on, on[1:] & ~on[:-1]] & counting
    counted = state.pass_id + np.cumsum(switched_on, dtype=np.int64)
    pass_id = np.where(counting, counted, _ffill(pass_id, state.pass_id)).astype(np.int64)
    layer = np.where(counting, state.layer, _ffill(layer, state.layer)).astype(np.int64)
    after = ReadState(marked=bool(state.marked or marker.any()), pass_id=int(pass_id[-1]), layer=int(layer[-1]))
    return pass_id, layer, after
