"""The job journal: an append-only, write-ahead record that lets `--resume` expose every mark once.

One journal per job per device: `JOB.<device key>.journal` (`journal_path`), the key from
what the controller reports about itself (`DeviceIdentity.key`), so a dry run on an emulator
never blocks the real run, and a journal is never resumed on another controller unless the
user says so. Records are JSON lines; positions in a session are seqs of that session's
send plan, which is a pure function of the marks done before it, so the journal never
stores the plan (`drivers.resume.replay` rebuilds it):
    {"format": ..., "version": 2, "job": ..., "body_sha256": ..., "commands": N}
    {"session": k, "port": URL, "device": {...}, "first_command": L, "n_sent": N, "t": ...}
    {"w": S}        commands through seq S are about to be written (BEFORE the bytes leave)
    {"x": S}        commands through seq S are proven executed
    {"refused": S, "code": N}                 seq S was refused: it did not run
    {"stop": {"position": [x, y, z] | null, "reached": bool, "kind": ...}}
                                              what the stop path found (position null: unknown;
                                              reached false: it could not talk to the controller)
    {"settled": [x, y, z] | null}             what the controller reported before the next
                                              session reset it (for a session without a stop)
Positions hold what the controller reported, X and Y first: [x, y, z] where it reports Z,
[x, y] in journals written before Z was kept (they still resume, compared in X, Y) or from a
controller that reports none. A reader that takes [:2] reads either, so the version stays 2.
    {"end": "complete" | "halted", "reason": "..."}
Durability: every record is in the operating system before the runner goes on (a store into a
shared memory map of the file, `JournalWriter`: a killed sender, SIGKILL included, leaves every
`w` it acted on), and fsynced at the points that
matter: the header with the first session, every stop, settle and end record, and at most
FSYNC_S after any other. A torn last line (a crash mid-write) is ignored.
The power-loss window: a host that loses power (the operating system's cache is lost, not just
the process) may lose the records of its last FSYNC_S. Lost `x` records only make the marks
they proved uncertain (listed, never rewritten). Lost `w` records are worse: the controller
received those lines and runs them on its own, but the journal no longer says they were
written, so the resume's settle step compares the controller's position with the lines it
knows of only; a position past them fits none ("unknown"), and the marks of the lost writes,
which lie after the last known `w`, are planned again: they can be exposed twice. Every mark
is a barrier write (`drivers.grbl.plan.units`), so closing the window means an fsync per
mark before its bytes leave (milliseconds each on a laptop's disk, a second of a 1,000-mark
job or far more on slow storage), which this journal does not pay: keep the host on a UPS,
or check the marks written in the last FSYNC_S before a power cut by eye. The journal is created only once the controller has
accepted the connection, so a refused connection leaves nothing that demands `--resume`.
"""

from __future__ import annotations

import json
import mmap
import os
import time
from dataclasses import dataclass, field
from pathlib import Path

from lasergen import LasergenError

FORMAT = "lasergen-journal"
VERSION = 2
FSYNC_S = 0.5
GROW_BYTES = 1 << 20  # the mapped writer's room ahead of its records
MAPPED = True  # records through a memory map of the file (`JournalWriter`); False: one write(2) each
X_EVERY_S = 0.02  # proofs are journaled at most this often (a lag only adds uncertain marks)


@dataclass
class SessionRecord:
    first_command: int = 0
    n_sent: int = 0
    port: str = ""
    device: dict = field(default_factory=dict)
    written: int = -1
    executed: int = -1
    refused: int | None = None
    code: int | None = None
    stop: dict | None = None
    settled: list | None = None
    observed: bool = False  # a settle record exists (it may say: nothing to learn)
    end: str | None = None
    reason: str = ""

    @property
    def needs_settling(self) -> bool:
        """Ended without the stop path reaching the controller: ask it before any reset."""
        return self.end != "complete" and not self.observed and not (self.stop and self.stop.get("reached"))


@dataclass
class Journal:
    path: Path
    header: dict
    sessions: list

    @property
    def finished(self) -> bool:
        return bool(self.sessions) and self.sessions[-1].end == "complete"

    @property
    def device(self) -> dict:
        """The device of its last session (a journal belongs to the device it last ran on)."""
        return self.sessions[-1].device if self.sessions else self.header.get("device", {})


def journal_path(job_path, device_key: str) -> Path:
    return Path(f"{job_path}.{device_key}.journal")


def job_journals(job_path) -> list[Path]:
    job = Path(job_path)
    return sorted(p for p in job.parent.glob(f"{job.name}.*.journal") if p.is_file() and started(p))


def started(path: str | Path) -> bool:
    """Whether the file holds a run: its first record (the header) is whole. The header is
    written before the first byte goes to the controller, so a file a crash left empty or with
    a torn header records a run that sent nothing: it must not block or steer the next one."""
    try:
        with open(path, "rb") as f:
            return b"\n" in _text(f.read(1 << 16))
    except OSError:
        return False


class JournalWriter:
    """Appends records through a shared memory map of the file (`MAPPED`): a record is a store
    into the operating system's page cache, there before the call returns and kept when the
    process dies (SIGKILL included), without a write(2) per record: the write-ahead `w` of
    every line sent was one system call per line, 10-20 % of the sender's CPU on a link that
    takes one line per answer. The file grows by GROW_BYTES of zeros ahead of the records and
    is cut to its records on close; readers stop at the first zero byte (`_text`). Where the
    file cannot be mapped, each record is one unbuffered write instead."""

    def __init__(self, path: str | Path, header: dict | None = None):
        self.path = Path(path)
        if header is None:
            _drop_torn_tail(self.path)
        self.file = open(self.path, "w+b" if header is not None else "r+b", buffering=0)
        self.length = os.fstat(self.file.fileno()).st_size  # bytes of whole records
        self._map = None
        self.file.seek(self.length)
        if MAPPED:
            self._grow(self.length)
        self._last_sync = time.monotonic()
        self._last_x = 0.0
        self.executed = -1
        self._x_pending = False
        if header is not None:
            self.write(header)

    def _grow(self, end: int):
        """Room for the records through `end`, allocated on the disk now, so a full disk is
        found here and never as a SIGBUS at a store into a page it has no room for. Where this
        fails (no room, or a file system that cannot map files), records are written (a full
        disk then fails the write, which halts the stream as it always did)."""
        old, self._map = self._map, None
        if old is not None:
            old.close()  # its stores are in the page cache already
        capacity = (end // GROW_BYTES + 1) * GROW_BYTES
        try:
            _allocate(self.file.fileno(), capacity)
            self._map = mmap.mmap(self.file.fileno(), capacity)
            self.capacity = capacity
        except (OSError, ValueError):
            self._map = None
            self.file.seek(self.length)

    def write(self, record: dict, sync: bool = False):
        self._append((json.dumps(record, separators=(",", ":")) + "\n").encode(), sync)

    def _append(self, line: bytes, sync: bool = False):
        end = self.length + len(line)
        if self._map is not None and end > self.capacity:
            self._grow(end)
        if self._map is not None:
            self._map[self.length:end] = line
        else:
            view = memoryview(line)
            while view:  # a raw write may be short (a signal, a full disk): never leave half a record
                view = view[self.file.write(view):]
        self.length = end
        if sync or time.monotonic() - self._last_sync > FSYNC_S:
            self._sync()

    def _sync(self):
        if self._map is not None:
            self._map.flush()  # msync: the records to the disk
        os.fsync(self.file.fileno())  # and the file's size
        self._last_sync = time.monotonic()

    def written(self, seq: int):
        self._append(b'{"w":%d}\n' % seq)  # the record json.dumps writes, without its per-call cost

    def executed_through(self, seq: int, force: bool = False):
        if seq > self.executed:
            self.executed = seq
            self._x_pending = True
        now = time.monotonic()
        if self._x_pending and (force or now - self._last_x >= X_EVERY_S):
            self._append(b'{"x":%d}\n' % self.executed)
            self._last_x, self._x_pending = now, False

    def close(self):
        try:
            self.executed_through(self.executed, force=True)
            if self._map is not None:
                self._map.flush()
                self._map.close()
                self._map = None
            os.ftruncate(self.file.fileno(), self.length)  # the zeros ahead go
            os.fsync(self.file.fileno())
        finally:
            self.file.close()


def _allocate(fd: int, size: int):
    """The file `size` bytes long, its blocks allocated (zeros) where the system can say so."""
    if hasattr(os, "posix_fallocate"):
        os.posix_fallocate(fd, 0, size)
    else:
        os.ftruncate(fd, size)


def _text(data: bytes) -> bytes:
    """A journal's records: the bytes before the first zero byte (the mapped writer's room
    ahead, left by a process that was killed, or a page a power cut lost)."""
    end = data.find(b"\0")
    return data if end < 0 else data[:end]


def _drop_torn_tail(path: Path):
    """Cut what follows the last whole record: a line the crash left without its newline (so
    appending cannot glue to it) and the zeros a killed writer left ahead of its records."""
    with open(path, "rb+") as f:
        data = f.read()
        records = _text(data)
        if records and not records.endswith(b"\n"):
            records = records[:records.rfind(b"\n") + 1]
        if len(records) != len(data):
            f.truncate(len(records))


def header(job_sha256: str, job_path: str, n_commands: int) -> dict:
    """The first record: which job (its body's checksum identifies it; the mark count is not
    needed, and a lazily prepared job does not know it before the first byte)."""
    return {"format": FORMAT, "version": VERSION, "job": str(job_path), "body_sha256": job_sha256,
            "commands": int(n_commands)}


def _records(path: Path) -> list[dict]:
    try:
        lines = _text(path.read_bytes()).decode().splitlines()
    except OSError as exc:
        raise LasergenError(f"cannot read journal {path}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise LasergenError(f"{path} is not a lasergen journal") from None
    records = []
    for number, text in enumerate(lines, 1):
        try:
            records.append(json.loads(text))
        except json.JSONDecodeError:
            if number == len(lines):
                break  # a torn last line (crash mid-write): everything before it stands
            raise LasergenError(f"journal {path}, line {number}: not JSON") from None
    if not records or not isinstance(records[0], dict) or records[0].get("format") != FORMAT:
        raise LasergenError(f"{path} is not a lasergen journal")
    if records[0].get("version") != VERSION:
        raise LasergenError(f"journal {path} has format version {records[0].get('version')}; this lasergen "
                            f"reads version {VERSION} (finish that run with the lasergen that started it)")
    return records


APPLY = {
    "w": lambda s, r: setattr(s, "written", max(s.written, int(r["w"]))),
    "x": lambda s, r: setattr(s, "executed", max(s.executed, int(r["x"]))),
    "refused": lambda s, r: (setattr(s, "refused", int(r["refused"])), setattr(s, "code", r.get("code"))),
    "stop": lambda s, r: setattr(s, "stop", r["stop"]),
    "settled": lambda s, r: (setattr(s, "settled", r["settled"]), setattr(s, "observed", True)),
    "end": lambda s, r: (setattr(s, "end", r["end"]), setattr(s, "reason", r.get("reason", ""))),
}


def read_journal(path: str | Path) -> Journal:
    path = Path(path)
    records = _records(path)
    sessions: list[SessionRecord] = []
    for rec in records[1:]:
        if "session" in rec:
            sessions.append(SessionRecord(int(rec.get("first_command", 0)), int(rec.get("n_sent", 0)),
                                          rec.get("port", ""), rec.get("device", {})))
        elif sessions:
            for key, apply in APPLY.items():
                if key in rec:
                    apply(sessions[-1], rec)
                    break
    return Journal(path, records[0], sessions)


def check_job(journal: Journal, job_sha256: str):
    h = journal.header
    if h.get("body_sha256") != job_sha256:
        raise LasergenError(f"journal {journal.path} belongs to another job ({h.get('job')})")
