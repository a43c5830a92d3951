"""Which lines to send, fresh or resumed, and what a stopped controller's position proves.

Resume (never expose a mark twice, never skip one that was not exposed):
  - start at a mark boundary: the G0 that begins the scan line (or dot) holding the first
    mark not yet exposed, never inside a pass's beam-on stretch;
  - re-establish modal state first: `G21G90G94`, `M5`, then `M3S0` when the start lies inside
    a raster pass (the emitter brackets passes with M3S0 ... M5); position comes from the
    first resumed line, a self-contained `G0X..Y..` (absolute, laser gated off in G0);
  - every later mark already exposed is sent blank: its G1 line with `S0` (same path and
    speed, beam off), a dot without its `G1M3S`/`G4` lines.
Reconciliation: a controller that stopped (Idle, Hold or Alarm, not moving) sits exactly at
the end of the last line it executed (each job line is an absolute move), or on the line it
was executing when a hold/reset cut it. Given the lines that may have run since the last
proven one, the reported machine position picks the last one it finished; a mark cut in
the middle is "partial".
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import numpy as np

from drivers.grbl.job_lines import NO_MARK, JobLines
from drivers.grbl.streaming import Item

PREAMBLE = ["G21G90G94", "M5"]
RASTER_ON = "M3S0"
S_WORD = re.compile(r"S[-+]?(?:\d+\.?\d*|\.\d+)")
POSITION_TOL_MM = 0.003  # GRBL prints 3 decimals; step quantisation is finer on this stage


@dataclass
class SendPlan:
    lines: list[int]  # per sent line: its job line index, or -1 for preamble lines
    texts: list[str]
    first_line: int
    blanked: list[int] = field(default_factory=list)  # marks sent blank (already exposed)

    def items(self, jl: JobLines, seq0: int = 0, max_bytes: int = 120) -> list[Item]:
        """Write units: single lines, except that a line leaving the beam on goes in one write
        with the lines that turn it off again: a dot's beam-on..M5, a raster mark with the S0
        move after it. Under M3, GRBL keeps the beam at the last block's power when its planner
        runs dry (stepper.c), so a beam-on line must never be the last one a stalled sender or
        a lost link leaves queued. A unit stays within `max_bytes` (the RX window)."""
        out, i, n = [], 0, len(self.lines)
        while i < n:
            j = i + 1
            line = self.lines[i]
            if line >= 0 and jl.mark_of_line[line] != NO_MARK and jl.mark_first_line[jl.mark_of_line[line]] == line \
                    and jl.mark_line[jl.mark_of_line[line]] != line:
                end = jl.mark_line[jl.mark_of_line[line]] + 1  # through the M5 after the G4
                while j < n and 0 <= self.lines[j] <= end:
                    j += 1
            size = sum(len(self.texts[k]) + 1 for k in range(i, j))
            while j < n and self._beam_on(jl, j - 1) and size + len(self.texts[j]) + 1 <= max_bytes:
                size += len(self.texts[j]) + 1
                j += 1
            data = [self.texts[k].encode() + b"\n" for k in range(i, j)]
            out.append(Item(list(range(seq0 + i, seq0 + j)), b"".join(data), [len(d) for d in data]))
            i = j
        return out

    def _beam_on(self, jl: JobLines, k: int) -> bool:
        """Does sent line k leave the beam firing: a raster mark sent with a non-zero S?"""
        line = self.lines[k]
        if line < 0 or jl.mark_of_line[line] == NO_MARK or jl.mark_line[jl.mark_of_line[line]] != line:
            return False
        found = S_WORD.search(self.texts[k])
        return found is not None and float(found.group()[1:]) > 0 and not self.texts[k].startswith("G4")


def resume_start(jl: JobLines, mark: int) -> int:
    """The line to restart from so `mark` is written at speed: the G0 that begins its scan
    line (or dot), searching back no further than the start of its pass. A G0 inside a scan
    line (`G0X..`, a gap crossed by a collinear rapid) keeps the modal Y and has no run-up after
    it: it is no restart point."""
    line = int(jl.mark_first_line[mark])
    j = line
    while j >= 0:
        if jl.rapid[j] and "Y" in jl.text[j]:
            return j
        if j == 0 or jl.text[j - 1] == RASTER_ON or (jl.blocks[j] and not jl.laser_on_before[j]):
            break
        j -= 1
    return line


def plan_send(jl: JobLines, done: np.ndarray) -> SendPlan | None:
    """Lines to send so that every mark not `done` is exposed once; None if nothing is left."""
    remaining = np.flatnonzero(~done)
    if remaining.size == 0:
        return None
    fresh = not done.any()
    start = 0 if fresh else resume_start(jl, int(remaining[0]))
    lines, texts = [], []
    if not fresh:
        for text in PREAMBLE + ([RASTER_ON] if jl.laser_on_before[start] else []):
            lines.append(-1)
            texts.append(text)
        if not jl.rapid[start]:
            x, y = jl.start_mm[start]
            lines.append(-1)
            texts.append(f"G0X{x:.4f}Y{y:.4f}")
    blanked = []
    for i in range(start, len(jl)):
        text = jl.text[i]
        if not text:
            continue
        mark = jl.mark_of_line[i]
        if mark != NO_MARK and done[mark]:
            if jl.mark_first_line[mark] != jl.mark_line[mark]:
                continue  # an exposed dot: drop its beam-on and dwell lines
            text = S_WORD.sub("S0", text)
            if i == jl.mark_line[mark]:
                blanked.append(int(mark))
        lines.append(i)
        texts.append(text)
    return SendPlan(lines, texts, start, blanked)


@dataclass
class Reconciled:
    executed_through: int  # index into the candidate list: last line finished (-1: none)
    partial_line: int | None  # job line cut in the middle, if any


def reconcile(jl: JobLines, candidates: list[int], position_mm, tol_mm: float = POSITION_TOL_MM) -> Reconciled | None:
    """candidates: job lines (in send order) that may have executed after the last proven one;
    the first entry is the last proven line (or -1). Returns None if the position fits none."""
    p = np.asarray(position_mm[:2], dtype=float)
    best = None
    for k, line in enumerate(candidates):
        end = jl.end_mm[line] if line >= 0 else None
        if end is not None and np.hypot(*(end - p)) <= tol_mm:
            best = Reconciled(k, None)  # keep the last match: more counted done, never twice
    if best is not None:
        return best
    for k, line in enumerate(candidates):
        if line < 0 or not jl.blocks[line]:
            continue
        a, b = jl.start_mm[line], jl.end_mm[line]
        ab = b - a
        t = float(np.dot(p - a, ab) / max(np.dot(ab, ab), 1e-18))
        if 0.0 <= t <= 1.0 and np.hypot(*(a + t * ab - p)) <= tol_mm:
            return Reconciled(k - 1, line)
    return None
