"""GRBL send plans: which lines to send, fresh or resumed, and how they are cut into writes.

Resume (the runner decides which marks are done; this module only says how to skip them):
  - start at a mark boundary: the G0 that begins the scan line (or dot) holding the first
    mark not yet exposed, never inside a pass's beam-on stretch;
  - re-establish modal state first: `G21G90G94`, `M5`, then `G0Z..` when the job has stated a
    Z by then (the start may follow a Z-only move between planes: a dot stacked under the last
    dot of the plane before is reached by `G0Z` alone, and without it the resumed dot would be
    written at whatever Z the stop left, in the plane above or at the surface), then the
    pass's own `M4S0` (armed) or `M3S0` when the start lies inside a line pass (the emitter
    brackets passes with it ... M5);
    position comes from the first resumed line, a self-contained `G0X..Y..` (absolute, laser
    gated off in G0);
  - every later mark already done is sent blank: its G1 line with `S0` (same path and
    speed, beam off), a dot without its `G1..M3S..`/`G4` lines.
Write units (`units`), shaped so that no single fault can leave the beam on or misplace it:
  - under M3 a unit never ends with the beam on: GRBL keeps the beam at the last block's
    power when its planner runs dry (stepper.c), so a raster mark travels with the lines that
    turn it off again (the S0 move after it), a dot as `G1..M3S..`/`G4`/`M5` together;
  - under M3 a unit that turns the beam on is a barrier: it is written only once every line
    before it has been answered `ok`. GRBL runs the lines already in its RX buffer after an
    `error:N`, so without the barrier a refused move before a mark would let the mark start
    from the wrong place (the beam writes the gap). With it, a refused line is always followed
    only by beam-off lines, and the stream halts before the next mark is written. The price is
    one round trip per mark (`stream_bench.py --barrier-cost`);
  - an armed pass (M4, the emitter's modal arming: a bare mark line after the `G1 .. S0` line
    that arms it, a G0 before that) needs neither: a refused arming line leaves its mark a G0
    with the beam disabled (the journal books it unwritten, `JobTable.arming`), any other
    refused line leaves every mark after it written where it belongs, and under M4 the beam is
    off at rest, so a unit may end anywhere. Its marks stream back to back like blank moves;
  - the first unit after a line that switches the laser on (`M4S0`, `M3S0`, in the file or a
    resume's preamble) is a barrier: were that line refused, the pass would run with the
    spindle off and its marks be booked as written.
What no shaping can remove under M3 (GRBL answers a line only once it is parsed, and under M3
keeps the beam on at rest); lasergen's raster passes are armed, so this concerns vector strokes,
dots' passes aside, and G-code from elsewhere:
  - a refused beam-off line right after a mark leaves the beam on at the mark's end until the
    feed hold the sender sends at once (as it parses the refusal) arrives: nothing while the
    planner still holds queued motion, else the sender's reaction time (milliseconds);
  - a chain of beam-on lines (a vector stroke's segments, a polyline from elsewhere) travels in
    one unit, so a refused first line lets the rest run from the wrong place, and a chain longer
    than one write (`max_bytes`) ends a unit with the beam on.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from drivers.session import SendPlan

PREAMBLE = ["G21G90G94", "M5"]
SPINDLE_ON = ("M4S0", "M3S0")  # a line pass's bracket: armed (M4), else M3
WINDOW = 4096  # seqs whose columns `units` prepares at once
SPAN = 64  # lines one unit may take past its first (a dot's three; a mark chain within max_bytes)
S_WORD = re.compile(r"S[-+]?(?:\d+\.?\d*|\.\d+)")
NO_MARK = -1


@dataclass
class Unit:
    first_seq: int
    data: bytes  # the lines, each ending in "\n"
    sizes: list  # bytes per line
    barrier: bool  # write only when every earlier line is answered
    lines: list  # per line (seq, bytes, modelled seconds, planner blocks, synchronises), taken
    # from the table's columns a window at a time (the streaming loop indexes no array)
    seconds: float  # modelled time of its lines
    size: int  # len(data)

    @property
    def seqs(self) -> range:
        return range(self.first_seq, self.first_seq + len(self.sizes))


@dataclass
class GrblPayload:
    preamble: list  # texts of the preamble lines (seqs 0 .. len - 1)
    blank: np.ndarray  # per seq: send with S0 (a done raster mark)


def resume_start(table, mark: int) -> int:
    """The line to restart from so `mark` is written at speed: the G0 that begins its scan
    line (or dot), searching back no further than the start of its pass."""
    line = int(table.mark_first[mark])
    j = line
    while j >= 0:
        if table.rapid[j] and "Y" in table.text(j):  # a `G0X..` inside a scan line keeps Y: no restart
            return j
        if j == 0 or table.text(j - 1) in SPINDLE_ON or (table.blocks[j] and not table.laser_on_before[j]):
            break
        j -= 1
    return line


def plan(table, done: np.ndarray | None) -> SendPlan | None:
    """Lines to send so that every mark not `done` is exposed once; None if nothing is left.
    done=None: nothing is done yet (a fresh stream), planned without waiting for the table's
    scan to end; identical to the plan of an all-False `done` (tested)."""
    if done is None:
        lines = np.flatnonzero(table.sendable)
        return SendPlan(lines, 0, [], GrblPayload([], np.zeros(lines.size, bool)))
    table.complete()
    remaining = np.flatnonzero(~done)
    if remaining.size == 0:
        return None
    fresh = not done.any()
    start = 0 if fresh else resume_start(table, int(remaining[0]))
    preamble = []
    if not fresh:
        z = table.end_z_mm[start - 1] if (table.end_z_mm is not None and start > 0) else np.nan
        preamble = (PREAMBLE + ([f"G0Z{z:.4f}"] if np.isfinite(z) else [])
                    + ([SPINDLE_ON[0] if table.dynamic_before[start] else SPINDLE_ON[1]]
                       if table.laser_on_before[start] else []))
        if not table.rapid[start]:
            x, y = table.start_mm[start]
            preamble.append(f"G0X{x:.4f}Y{y:.4f}")
    lines = start + np.flatnonzero(table.sendable[start:])
    mark = table.mark_of[lines]
    has_mark = mark != NO_MARK
    done_here = np.zeros(lines.size, bool)
    done_here[has_mark] = done[mark[has_mark]]
    is_dot = np.zeros(lines.size, bool)
    is_dot[has_mark] = table.mark_first[mark[has_mark]] != table.mark_last[mark[has_mark]]
    lines = lines[~(done_here & is_dot)]  # a done dot: drop its beam-on and dwell lines
    mark = table.mark_of[lines]
    blank = np.zeros(lines.size, bool)
    blank[mark != NO_MARK] = done[mark[mark != NO_MARK]]
    blanked = [int(m) for m, line in zip(mark[blank], lines[blank]) if table.mark_last[m] == line]
    commands = np.r_[np.full(len(preamble), -1, np.int64), lines]
    return SendPlan(commands, start, blanked, GrblPayload(preamble, np.r_[np.zeros(len(preamble), bool), blank]))


def seq_text(table, plan: SendPlan, seq: int) -> str:
    payload = plan.payload
    line = int(plan.commands[seq])
    if line < 0:
        return payload.preamble[seq]
    text = table.text(line)
    return S_WORD.sub("S0", text) if payload.blank[seq] else text


def seq_bytes(table, plan: SendPlan, seq: int) -> bytes:
    """The bytes of seq's line as sent, newline included: for a dialect table's line as it
    stands in the file, its slice of the file's bytes (what `seq_text` gives, without the
    decode and encode per line)."""
    line = int(plan.commands[seq])
    if line >= 0 and table.texts is None and not plan.payload.blank[seq]:
        if table.scan is not None and line >= table.scan.upto:
            table.ready(line)
        return table.data[table.offsets[line]:table.offsets[line + 1]]
    return seq_text(table, plan, seq).encode() + b"\n"


def units(table, plan: SendPlan, max_bytes: int = 120):
    """The plan's write units, in order (a generator: nothing is built ahead for big jobs; the
    table's columns are awaited WINDOW seqs at a time while a lazy table is still scanned)."""
    commands = plan.commands
    n = len(commands)
    i = 0
    while i < n:
        lo, hi = i, min(n, i + WINDOW)
        top = min(n, hi + SPAN)  # a unit begun before `hi` may reach this far
        cmd = commands[lo:top]
        real = cmd >= 0
        if real.any():
            table.ready(int(cmd[real].max()) + 1)  # + the M5 that ends a dot
        line = np.maximum(cmd, 0)
        mark = np.where(real, table.mark_of[line], NO_MARK)
        has = mark != NO_MARK
        first, last = table.mark_first, table.mark_last
        dot_start = np.zeros(cmd.size, bool)
        dot_start[has] = (first[mark[has]] == line[has]) & (last[mark[has]] != line[has])
        blank = plan.payload.blank[lo:top]
        beam_on = real & table.beam_on[line] & ~blank  # under M3: on at rest after it
        raster = np.zeros(cmd.size, bool)
        raster[has] = (first[mark[has]] == line[has]) & (last[mark[has]] == line[has])
        armed = table.arming[np.maximum(line - 1, 0)] & (line > 0)
        unarmed_mark = real & raster & ~armed & ~blank  # a mark that could start from the wrong place
        on_before = real & table.laser_on_before[line]
        was_on = bool(commands[lo - 1] >= 0 and table.laser_on_before[commands[lo - 1]]) if lo > 0 else False
        switched = on_before & ~np.r_[was_on, on_before[:-1]]  # right after M4S0 / M3S0: a barrier
        seconds = np.where(real, table.duration_s[line], 0.0).tolist()
        blocks = np.where(real, table.blocks[line], 0).tolist()
        syncs = (~real | table.sync[line]).tolist()  # a preamble line synchronises
        # the window's bytes: a dialect table's lines are slices of the file (`seq_bytes`)
        if table.texts is None:
            sliced = (real & ~plan.payload.blank[lo:top]).tolist()
            starts, ends, data = table.offsets[line].tolist(), table.offsets[line + 1].tolist(), table.data
            window_bytes = [data[starts[k]:ends[k]] if sliced[k] else seq_bytes(table, plan, lo + k)
                            for k in range(cmd.size)]
        else:
            window_bytes = [seq_bytes(table, plan, k) for k in range(lo, top)]
        sizes = [len(b) for b in window_bytes]
        facts = list(zip(range(lo, top), sizes, seconds, blocks, syncs))  # `Unit.lines` entries
        is_dot, on, cmds = dot_start.tolist(), beam_on.tolist(), cmd.tolist()
        waits = (dot_start | unarmed_mark | switched).tolist()
        while i < hi:
            j = i + 1
            if is_dot[i - lo]:
                end_of_mark = last[mark[i - lo]] + 1  # through the M5 after the G4
                while j < top and 0 <= cmds[j - lo] <= end_of_mark:
                    j += 1
            size = sum(sizes[i - lo:j - lo])
            while j < top and on[j - 1 - lo] and size + sizes[j - lo] <= max_bytes:
                size += sizes[j - lo]  # a mark travels with the line that ends it
                j += 1
            a, b = i - lo, j - lo
            yield Unit(i, b"".join(window_bytes[a:b]), sizes[a:b], barrier=waits[a],
                       lines=facts[a:b], seconds=sum(seconds[a:b]), size=size)
            i = j
