"""The Session interface: what the runner needs from one controller, whatever its family.

The runner (`drivers.runner`), the journal (`drivers.journal`) and resume (`drivers.resume`)
are written once against this module. A controller family implements `Session` (GRBL:
`drivers.grbl.session`; PI GCS: `drivers.pi_gcs.session`) and returns `JobTable`s from
`prepare`; nothing else of the family is visible to the runner.

Vocabulary (every family maps its own protocol onto it):
  command   the smallest unit the controller answers once (a G-code line, a GCS command).
            A job is a fixed sequence of commands, numbered from 0 (`JobTable`).
  mark      a written feature of the job (a raster segment with the beam on, a dot), in the
            order of the toolpath's marks (`Toolpath.is_mark`). Each mark is exposed by the
            commands `mark_first[m] .. mark_last[m]` of the table: `mark_first` is the
            command that can first turn the beam on for it, `mark_last` the one whose
            execution completes it.
  send plan the commands to send for the marks not yet done (`JobTable.plan`): job commands,
            possibly blanked (same motion, beam off) or dropped, plus preamble commands
            (index -1) that re-establish the controller's modal state on a resume.
  seq       a position in a send plan (0 .. len(plan) - 1); all proofs speak in seqs.
  proofs    what the controller's answers prove, reported through `StreamHandler`:
              written(seq)   the command is about to go on the link (write-ahead: the runner
                             journals it before the bytes leave)
              acked(seq)     the controller accepted it (queued; it may not have run yet)
              executed(seq)  it and every command before it have run (proven, not guessed)
            and, when a stream stops, `StreamHalt.seq` names a refused command (it did not
            run) and `StopReport.position_mm` where the halted machine stands (None when it
            cannot be known, e.g. after a reset of the controller).
The runner turns these facts into exactly-once rules, once for all families: a mark is done
when its last command is proven; a mark that may have run but cannot be proven either way is
treated as done and listed; a mark the stop position cuts is done and listed; a mark whose
first command was refused did not start.

What a family must guarantee (the runner relies on it and cannot check it):
  - `stream` never leaves a beam-on command as the last one queued in a controller the host
    no longer controls (every write unit ends with the beam off), and never lets a beam-on
    command run after a refused command (shape the stream so that any single refused command
    leaves the beam off and the geometry safe);
  - `stop` gates the beam off first (feed hold / stop), then clears the controller's queue,
    and returns within a bounded time whatever the controller does;
  - every wait is bounded: silence is reported as a `StreamHalt("stall")` within a time the
    family derives from its motion model (`JobTable.duration_s`) and its status interval; a
    hung controller (it answers nothing, its beam stays as it was) is called a stall within
    the session's `stall_budget_s` (default STATUS_INTERVAL_S) and gets its stop at once;
  - an unexpected reset of the controller mid-stream (a banner, a lost reference) halts the
    stream with kind "reset" at once, its position unknown;
  - `identify` reports an identity that survives a re-plug and a power cycle (build info
    plus a machine id stored on the controller), so a journal is never resumed elsewhere.

Changes to this interface are listed here, newest first:
  v3  positions may carry Z: `JobTable.end_z_mm` (per command, the Z after it; NaN where the
      job has not stated Z yet; None for a job that never does) and `z_tol_mm`; a family that
      fills them reports (x, y, z) in `StopReport`/`DeviceStatus`, and reconcile then fits a
      position only to commands of its own plane. Families without Z need nothing new.
  v2  a JobTable may be prepared lazily (a 13.8 M-line job streams before its scan ends):
      `plan(None)` is the fresh plan (nothing done) and must not wait for the whole table;
      `ready(command)` waits until the columns through `command` are valid, `complete()` until
      all are (n_marks is final only then); halt kind "job" (the job file could not be read
      further). Families whose tables are built whole need nothing new: the defaults do it.
  v1  first version (JobTable.position_tol_mm added with a default).
"""

from __future__ import annotations

import hashlib
import re
from abc import ABC, abstractmethod
from dataclasses import dataclass, field

import numpy as np

from lasergen import LasergenError

INTERFACE_VERSION = 3
STATUS_INTERVAL_S = 0.2  # the status interval: a hung controller's beam is off within it

# Why a stream stopped (StreamHalt.kind): one table, so the runner's messages and the journal
# stay the same for every family.
HALT_KINDS = {
    "error": "the controller refused a command",
    "alarm": "the controller raised an alarm",
    "protocol": "an answer the session cannot read",
    "link": "the link to the controller was lost",
    "stall": "the controller stopped answering",
    "reset": "the controller was reset (or lost power) while streaming",
    "abort": "aborted by the operator",
    "interrupt": "interrupted (Ctrl-C)",
    "job": "the job file could not be read further",
}


class DeviceError(LasergenError):
    """The controller or the link misbehaved outside a stream; the message is one line."""


class StreamHalt(Exception):
    """The stream stopped before its end.

    kind: a key of HALT_KINDS; seq: the refused command (kind "error"), else None;
    code: the controller's own error or alarm number, if any."""

    def __init__(self, kind: str, message: str, seq: int | None = None, code: int | None = None):
        super().__init__(message)
        if kind not in HALT_KINDS:
            raise ValueError(f"unknown halt kind {kind!r}")
        self.kind, self.seq, self.code = kind, seq, code


@dataclass(frozen=True)
class DeviceIdentity:
    """Who the controller is. `family` names the back-end ("grbl", "pi_gcs"), `build` what the
    firmware reports about itself (version, model, serial number where there is one), and
    `machine_id` an id stored on the controller (GRBL's `$I=` user string); lasergen stores
    one when the controller has none (`Session.set_machine_id`)."""

    family: str
    build: str
    machine_id: str = ""

    @property
    def key(self) -> str:
        """A file-name-safe name, stable across ports and power cycles: journals carry it."""
        text = self.machine_id or hashlib.sha256(self.build.encode()).hexdigest()[:12]
        return f"{self.family}-{re.sub(r'[^A-Za-z0-9._-]+', '_', text)}"[:64]

    def describe(self) -> str:
        return f"{self.family} {self.build}" + (f" id {self.machine_id!r}" if self.machine_id else " (no id)")

    def to_dict(self) -> dict:
        return {"family": self.family, "build": self.build, "machine_id": self.machine_id, "key": self.key}

    @classmethod
    def from_dict(cls, data: dict) -> "DeviceIdentity":
        return cls(str(data.get("family", "")), str(data.get("build", "")), str(data.get("machine_id", "")))


@dataclass
class DeviceStatus:
    """A status reading. `state` is generic: idle, run, hold, alarm, other (a family's own
    state name goes in `detail`); `position_mm` is machine coordinates (x, y[, z]) or None."""

    state: str
    position_mm: tuple | None = None
    detail: str = ""

    @property
    def moving(self) -> bool:
        return self.state == "run"


@dataclass
class StopReport:
    """What `Session.stop` found: where the halted machine stands (None: unknown, e.g. the
    controller was reset or does not answer), and whether the beam is known to be off."""

    position_mm: tuple | None
    beam_off: bool
    detail: str = ""


@dataclass
class SendPlan:
    """The commands a session sends for the marks not yet done.

    commands: per seq, the job command it stands for, or -1 for a preamble command;
    first_command: the job command the plan starts at; blanked: marks sent blank (motion kept,
    beam off) because they are already done. `payload` is the family's own (bytes, units...)."""

    commands: np.ndarray
    first_command: int
    blanked: list = field(default_factory=list)
    payload: object = None

    def __len__(self) -> int:
        return len(self.commands)


@dataclass
class JobTable:
    """A job as the runner sees it: one row per command, one entry per mark (numpy columns).

    Per command: start_mm/end_mm (n, 2) where the machine is before and after it (absolute);
    moves: it moves the machine; mark_of: the mark it takes part in (-1: none); duration_s: the
    family's motion model's time for it (ETA, stall limits). Per mark: mark_first, mark_last
    (see the module docstring). `plan(done)` is the family's: it returns the SendPlan that
    exposes every mark not `done` once, or None when nothing is left; it must be a pure
    function of `done` (the journal replays it). `position_tol_mm`: half the resolution of
    the position the controller reports (GRBL: 3 decimals), used by reconciliation.
    `motion_proves_beam`: a mark's motion seen to have run proves its beam-on command ran too
    (GRBL: the beam is a word of the motion line, or a line before it that GRBL runs in order
    or refuses by seq). False where the beam-on is a command of its own that the controller may
    drop while running the motion after it (PI GCS: a refused or reset-swallowed `TRO` leaves
    the following `MOV` running with the gate closed, and `ERR?` keeps one code for them all):
    there a mark is booked done only with its first command proven executed.
    `end_z_mm` (optional): per command, the Z where it leaves the machine (its start Z is the
    previous command's end Z, as for X, Y); NaN until the job first states Z (the machine's Z
    before that is not the job's to know); None when the job never states Z. With it, and a
    reported position that has a Z, a position fits a command only in that command's plane
    (`drivers.resume`); `z_tol_mm` is the Z tolerance (None: `position_tol_mm`).
    `arming` (optional): per command, it arms the mark of the command right after it: that mark
    runs in a mode this command sets (GRBL's modal arming: a bare mark line after its `G1 .. S0`),
    so if this command is refused the mark is not written although its own command runs."""

    start_mm: np.ndarray
    end_mm: np.ndarray
    moves: np.ndarray
    mark_of: np.ndarray
    mark_first: np.ndarray
    mark_last: np.ndarray
    duration_s: np.ndarray
    planner: object = None  # the family's `plan(table, done) -> SendPlan | None`
    position_tol_mm: float = 0.0006  # a reported position this close to a point is at that point
    plans_fresh: bool = False  # the planner takes done=None itself (else: an all-False `done`)
    estimated_s: float | None = None  # the job's own estimate of its time (ETA before the table is complete)
    motion_proves_beam: bool = True  # see above
    end_z_mm: np.ndarray | None = None  # per command: Z after it (NaN: not stated yet); None: no Z
    z_tol_mm: float | None = None  # a reported Z this close to a command's Z is at it (None: position_tol_mm)
    arming: np.ndarray | None = None  # per command: a refusal leaves the next command's mark unwritten

    @property
    def n_commands(self) -> int:
        return len(self.moves)

    @property
    def n_marks(self) -> int:
        """The number of marks: final once `complete()` has returned."""
        return len(self.mark_last)

    def plan(self, done: np.ndarray | None = None) -> SendPlan | None:
        """The send plan for the marks not `done` (None: nothing done yet, a fresh stream)."""
        if done is None and not self.plans_fresh:
            done = np.zeros(self.complete().n_marks, bool)
        return self.planner(self, done)

    def ready(self, command: int) -> None:
        """Wait until the columns of commands through `command` are valid (LasergenError if the
        job cannot be read that far). A table built whole is always ready."""

    def complete(self) -> "JobTable":
        """Wait until every column is valid; returns the table."""
        return self

    @property
    def is_complete(self) -> bool:
        return True


class StreamHandler(ABC):
    """The runner's side of a stream: the session calls these from its streaming loop."""

    @abstractmethod
    def written(self, seq: int) -> None:
        """Commands through `seq` are about to be written (called BEFORE the bytes leave)."""

    @abstractmethod
    def acked(self, seq: int) -> None:
        """The controller accepted commands through `seq` (queued, maybe not run)."""

    @abstractmethod
    def executed(self, seq: int) -> None:
        """Commands through `seq` are proven to have run."""

    def status(self, status: DeviceStatus) -> None:
        """A status reading arrived (progress displays)."""


class Session(ABC):
    """One connection to one controller. Lifecycle, as the runner drives it:

        s = open_session(url, machine)     # the family's constructor: nothing sent yet
        s.open()                           # open the port, nothing reset
        s.observe()                        # (resume) what the controller still does, untouched
        s.connect()                        # reset to a known state, identify, check settings
        s.identity                         # DeviceIdentity, valid after connect
        table = s.prepare(job_path)        # JobTable (may be called before open)
        s.stream(plan, handler)            # returns at the end, or raises StreamHalt
        s.stop()                           # on any halt: beam off, position, queue cleared
        s.close()

    `pause`, `resume_motion` and `abort` may be called from any thread while `stream` runs
    (keyboard, GUI, signal handlers); `hurry` shortens the waits of `stop` (a second Ctrl-C)
    but never skips the beam-off."""

    family: str = ""

    def __init__(self, url: str, machine):
        self.url = url
        self.machine = machine
        self.identity: DeviceIdentity | None = None

    # ---- connection ----
    @abstractmethod
    def open(self) -> None:
        """Open the link without disturbing the controller. DeviceError if it cannot."""

    @abstractmethod
    def observe(self, settle_s: float) -> DeviceStatus | None:
        """Before any reset: wait (at most settle_s) until the controller no longer moves, and
        report where it stands; `position_mm` only if it still holds what the last session
        sent (not after a reset or power-up: then None, or state "alarm"). None if silent."""

    @abstractmethod
    def connect(self) -> list[str]:
        """Bring the controller to a known, safe, idle state (beam off), read its identity
        into `self.identity`, check its settings against the machine profile (DeviceError for
        a setting that would make the job wrong), unlock/home if needed. Returns warnings."""

    @abstractmethod
    def set_machine_id(self, machine_id: str) -> None:
        """Store a machine id on the controller (once; it survives power cycles)."""

    @abstractmethod
    def close(self) -> None:
        """Close the link (never raises)."""

    # ---- jobs ----
    @abstractmethod
    def prepare(self, job_path: str) -> JobTable:
        """Read a job file of this family into a JobTable, without sending anything. Large jobs
        must not be interpreted command by command in Python (10^7 commands in seconds)."""

    @abstractmethod
    def stream(self, plan: SendPlan, handler: StreamHandler) -> None:
        """Send the plan with the family's flow control; report proofs to `handler`; return
        once every command is proven executed; raise StreamHalt on anything else."""

    # ---- control ----
    @abstractmethod
    def stop(self) -> StopReport:
        """Beam off first (feed hold / stop), read the position once motion has stopped, then
        clear the controller's queue (reset). Bounded in time; never raises."""

    @abstractmethod
    def reset(self) -> None:
        """Reset the controller now (beam off, queue cleared)."""

    @abstractmethod
    def status(self, timeout_s: float = 1.0) -> DeviceStatus:
        """One status reading; DeviceError if none comes within timeout_s."""

    @abstractmethod
    def pause(self) -> None:
        """Request a feed hold (beam off) from any thread; the stream waits."""

    @abstractmethod
    def resume_motion(self) -> None:
        """Request a cycle start after `pause`, from any thread."""

    @abstractmethod
    def abort(self, kind: str = "abort") -> None:
        """Request the stream to halt with StreamHalt(kind) ("abort" or "interrupt"), from any
        thread or a signal handler."""

    def hurry(self) -> None:
        """Shorten the remaining waits of `stop` (a second Ctrl-C). Default: nothing."""


# ---- families: named once, in the back-end registry (`lasergen.backends`) ----
def open_session(url: str, machine) -> Session:
    """The session of the machine profile's controller family (its back-end registration), for
    this port URL. Nothing is sent yet."""
    from lasergen.backends import backend, resolve

    family = getattr(machine, "controller", None) or "grbl"
    target = backend(family).session
    try:
        cls = resolve(target)
    except (ImportError, AttributeError):
        raise LasergenError(f"controller family {family!r} is not installed ({target})") from None
    return cls(url, machine)
