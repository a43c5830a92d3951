"""The job journal: an append-only record that lets `--resume` expose every mark exactly once.

What GRBL's answers guarantee: `ok` = the line was parsed and its blocks queued in the
planner, NOT executed; a status report proves execution only as `drivers.grbl.tracker` explains
(the `ok` of a synchronising line, an Idle report, or the Bf: planner count minus the
stepper's segment lag). The journal therefore keeps two frontiers per session, both as job
file line numbers (0-based), written and flushed as the answers arrive:
    {"a": L}   acknowledged through line L (queued, maybe not run)
    {"x": L}   proven executed through line L
and, when a session stops, what the stop revealed:
    {"rejected": L, "code": N}            line L was refused (error:N): it did not run
    {"reconciled": L, "partial": M|null}  the stopped controller's position says it finished
                                          line L (and cut mark M in the middle)
    {"end": "complete"|"halted", "reason": "..."}
A session starts with {"session": k, "port": URL, "first_line": L}; the file starts with the
job's identity (body checksum, mark count), so a journal is never applied to another job.
Each session's send list is recomputed from the journal (it is a pure function of the
marks done before it), so the journal never stores it.

The residual window: when a session ends without a reconciliation (power loss of the
controller, a crash of this program while the controller was reset), the lines between the
last proven one and the last one that could have reached the controller (acknowledged, plus
what fits in the 127-byte RX window after it) may or may not have run, or may have been cut
mid-mark. Those marks are treated as DONE and reported by number: a second exposure changes
a spot's colour, so a gap (which the report names, and which a rewrite job can fill) is the
lesser harm. With fsync every FSYNC_S the journal itself may lag a power loss of this
computer by that much; the same rule covers it (the window is derived from the last `a`).
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drivers.grbl.job_lines import JobLines
from drivers.resume import plan_send
from lasergen import LasergenError

FORMAT = "lasergen-journal"
FSYNC_S = 0.5
RX_WINDOW_BYTES = 127


@dataclass
class Session:
    first_line: int
    port: str = ""
    acked: int = -1
    executed: int = -1
    rejected: set = field(default_factory=set)
    reconciled: int | None = None
    partial_mark: int | None = None
    end: str | None = None
    reason: str = ""


@dataclass
class ResumeState:
    done: np.ndarray  # per mark: exposed (or treated as exposed)
    uncertain: list[int]  # marks in a window nobody could prove either way
    partial: list[int]  # marks cut in the middle by a stop
    sessions: list[Session]

    @property
    def complete(self) -> bool:
        return bool(self.done.all())


class JournalWriter:
    def __init__(self, path: str | Path, header: dict | None = None):
        self.path = Path(path)
        self.file = open(self.path, "a", encoding="utf-8")
        self._last_sync = time.monotonic()
        self.acked = self.executed = -1
        if header is not None:
            self.write(header)

    def write(self, record: dict, sync: bool = False):
        self.file.write(json.dumps(record, separators=(",", ":")) + "\n")
        self.file.flush()
        if sync or time.monotonic() - self._last_sync > FSYNC_S:
            os.fsync(self.file.fileno())
            self._last_sync = time.monotonic()

    def ack(self, line: int):
        if line > self.acked:
            self.acked = line
            self.write({"a": line})

    def executed_through(self, line: int):
        if line > self.executed:
            self.executed = line
            self.write({"x": line})

    def close(self):
        os.fsync(self.file.fileno())
        self.file.close()


def header(job_sha256: str, job_path: str, n_marks: int) -> dict:
    return {"format": FORMAT, "version": 1, "job": job_path, "body_sha256": job_sha256, "marks": n_marks}


def read_sessions(path: str | Path, job_sha256: str, n_marks: int) -> list[Session]:
    try:
        lines = Path(path).read_text().splitlines()
    except OSError as exc:
        raise LasergenError(f"cannot read journal {path}: {exc.strerror}") from None
    records = []
    for number, text in enumerate(lines, 1):
        try:
            records.append(json.loads(text))
        except json.JSONDecodeError:
            if number == len(lines):
                break  # a torn last line (crash mid-write): everything before it stands
            raise LasergenError(f"journal {path}, line {number}: not JSON") from None
    if not records or records[0].get("format") != FORMAT:
        raise LasergenError(f"{path} is not a lasergen journal")
    if records[0].get("body_sha256") != job_sha256 or records[0].get("marks") != n_marks:
        raise LasergenError(f"journal {path} belongs to another job ({records[0].get('job')})")
    sessions: list[Session] = []
    for rec in records[1:]:
        if "session" in rec:
            sessions.append(Session(first_line=rec.get("first_line", 0), port=rec.get("port", "")))
        elif sessions:
            apply_record(sessions[-1], rec)
    return sessions


def apply_record(s: Session, rec: dict):
    if "a" in rec:
        s.acked = max(s.acked, rec["a"])
    elif "x" in rec:
        s.executed = max(s.executed, rec["x"])
    elif "rejected" in rec:
        s.rejected.add(rec["rejected"])
    elif "reconciled" in rec:
        s.reconciled, s.partial_mark = rec["reconciled"], rec.get("partial")
    elif "end" in rec:
        s.end, s.reason = rec["end"], rec.get("reason", "")


def window_end(jl: JobLines, sent: list[int], acked_line: int) -> int:
    """Last job line that could have reached the controller: acked + what fits the RX window."""
    after = [i for i in sent if i > acked_line]
    used, last = 0, acked_line
    for i in after:
        used += len(jl.text[i]) + 1
        if used > RX_WINDOW_BYTES:
            break
        last = i
    return last


def resume_state(jl: JobLines, sessions: list[Session]) -> ResumeState:
    """Replay the sessions: which marks are exposed, uncertain or cut."""
    done = np.zeros(jl.n_marks, bool)
    uncertain, partial = [], []
    for s in sessions:
        plan = plan_send(jl, done)
        if plan is None:
            break
        sent = [i for i in plan.lines if i >= 0]
        through = s.reconciled if s.reconciled is not None else s.executed
        if s.end == "complete":
            through = sent[-1] if sent else through
        for i in sent:
            if i > through:
                break
            m = jl.mark_of_line[i]
            if m >= 0 and i == jl.mark_line[m] and i not in s.rejected:
                done[m] = True
        if s.partial_mark is not None and not done[s.partial_mark]:
            done[s.partial_mark] = True
            partial.append(int(s.partial_mark))
        if s.reconciled is None and s.end != "complete":
            last = window_end(jl, sent, max(s.acked, through))
            for i in sent:
                m = jl.mark_of_line[i]
                if through < i <= last and m >= 0 and not done[m] and i not in s.rejected:
                    done[m] = True
                    uncertain.append(int(m))
    return ResumeState(done, uncertain, partial, sessions)
