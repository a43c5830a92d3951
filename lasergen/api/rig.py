"""`connect`: a session with a device on any port URL, as a context manager that always
leaves the beam off.

    with lasergen.connect("sim://", machine) as rig:      # or "/dev/ttyUSB0", "socket://HOST:PORT"
        run = rig.stream(job, on_progress=print)

The port's scheme handler (e.g. `sim://`) and the session come from the installed driver and
simulator through `lasergen.api.seams`. A job not yet saved is written to a temporary folder
(its journal beside it) for the run; pass `journal=` to keep the journal elsewhere.

A bare `sim://` gets a simulated device of the rig's own, which lives until the rig closes:
a stream stopped on it resumes with `rig.stream(job, resume=True)` on the same rig, as on a
real controller that stays powered. `sim://?device=NAME` reaches a named device that outlives
the rig (for a resume from another rig or process).
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class Run:
    """What a stream did: status, marks exposed now / skipped as already exposed, lines sent, ..."""
    status: str
    marks: int
    exposed_now: int
    blanked: int
    lines_sent: int
    elapsed_s: float
    journal: str
    figures: dict
    skipped: int = 0
    ledger: str | None = None

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def __repr__(self) -> str:
        return (f"<Run {self.status}: {self.exposed_now} of {self.marks} marks exposed, {self.skipped} already "
                f"exposed, {self.blanked} blanked, "
                f"{self.lines_sent} lines in {self.elapsed_s:.1f} s>")


class Rig:
    """A device on a port, for one machine profile. Use as a context manager (`connect`)."""

    def __init__(self, url: str, machine):
        from lasergen.api.seams import open_port, session_opener
        from lasergen.api.sources import as_machine

        self.machine = as_machine(machine)
        self.url = url
        self._port = open_port(url, self.machine)
        try:
            self._session = session_opener()(self._port.url, self.machine)
        except BaseException:
            self._port.close()
            raise
        self._scratch = None

    @property
    def port(self) -> str:
        """The URL the session opens (for a bare sim:// port it names the rig's own device)."""
        return self._port.url

    @property
    def transient(self) -> bool:
        """Whether the device was made for this rig (a bare sim:// port) and goes when it closes."""
        return self._port.transient

    @property
    def journal_path(self) -> str | None:
        """The journal of the latest stream, also after a stop (None before one connected)."""
        return getattr(self._session, "journal_path", None)

    def stream(self, job, on_progress=None, journal: str | Path | None = None, resume: bool | str | Path = False,
               resume_on: str | None = None, progress_bar: bool = False, ledger: str | Path | None = None) -> Run:
        """Stream `job` (a Job or a job file's path) with flow control, proofs of execution and a
        journal (default: beside the job, one per device); `on_progress(info)` gets
        acked/executed/total lines, eta_s and elapsed_s. `resume=True` continues the interrupted
        run the job's journal on this device records (or `journal`), `resume=PATH` the one in
        that journal file, never exposing a mark twice; `resume_on=KEY` continues here a run
        recorded on device KEY (the marks in flight when it stopped are skipped and listed).
        `progress_bar` draws one on stderr. `ledger` (simulated devices): save what the beam did
        there after the run, also after a stop. Any stop holds and gates the beam off, then
        raises one line saying why and how to resume."""
        from lasergen import LasergenError
        from lasergen.api.job import Job

        if resume not in (True, False):
            journal, resume = resume, True
        if resume_on and not resume:
            raise LasergenError("resume_on needs resume")
        if isinstance(job, Job):
            path = job.path if job.path is not None else self._save(job)
        else:
            path = Path(job)
        saved = None
        try:
            figures = self._session.stream(str(path), on_progress, str(journal) if journal else None, bool(resume),
                                           progress_bar, resume_on)
        finally:
            if ledger is not None:
                saved = self.save_ledger(ledger)
        return Run(figures["status"], figures["marks"], figures["exposed_now"], figures["blanked"],
                   figures["lines_sent"], figures["elapsed_s"], figures["journal"], figures,
                   figures.get("skipped", 0), saved)

    def save_ledger(self, path: str | Path, append: bool = False) -> str | None:
        """Save the exposure ledger of a simulated device (what its beam did, as `lasergen
        simulate LEDGER.npz` reads it) to `path`, after what the file holds when `append`;
        None on a real device or one that never ran."""
        return self._port.save_exposures(str(path), append)

    def _save(self, job) -> Path:
        if self._scratch is None:
            self._scratch = tempfile.TemporaryDirectory(prefix="lasergen-run-")
        return job.write(Path(self._scratch.name) / "job.gcode")

    def pause(self) -> None:
        """Feed hold (the beam is gated off in a hold), from another thread."""
        self._session.pause()

    def resume_motion(self) -> None:
        self._session.resume_motion()

    def abort(self) -> None:
        """Hold, soft reset, beam off; the journal records where the run stopped."""
        self._session.abort()

    def close(self) -> None:
        try:
            self._session.close()
        finally:
            self._port.close()
            if self._scratch is not None:
                self._scratch.cleanup()
                self._scratch = None

    def __enter__(self) -> "Rig":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<Rig {self.url} for {self.machine.name} ({self.machine.controller})>"


def connect(url: str, machine="default") -> Rig:
    """A session with the device at `url` (serial port or pyserial URL: /dev/ttyUSB0,
    socket://127.0.0.1:PORT, sim://) for `machine` (a profile or its name)."""
    return Rig(url, machine)
