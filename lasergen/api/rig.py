"""`connect`: a session with a device on any port URL, as a context manager that always
leaves the beam off.

    with lasergen.connect("sim://", machine) as rig:      # or "/dev/ttyUSB0", "socket://HOST:PORT"
        run = rig.stream(job, on_progress=print)

The port's scheme handler (e.g. `sim://`) and the session come from the installed driver and
simulator through `lasergen.api.seams`. A job not yet saved is written to a temporary folder
(its journal beside it) for the run; pass `journal=` to keep the journal elsewhere.
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

    @property
    def complete(self) -> bool:
        return self.status == "complete"

    def __repr__(self) -> str:
        return (f"<Run {self.status}: {self.exposed_now} of {self.marks} marks exposed, {self.blanked} skipped, "
                f"{self.lines_sent} lines in {self.elapsed_s:.1f} s>")


class Rig:
    """A device on a port, for one machine profile. Use as a context manager (`connect`)."""

    def __init__(self, url: str, machine):
        from lasergen.api.seams import prepare_port, session_opener
        from lasergen.api.sources import as_machine

        self.machine = as_machine(machine)
        self.url = url
        self._session = session_opener()(prepare_port(url, self.machine), self.machine)
        self._scratch = None

    def stream(self, job, on_progress=None, journal: str | Path | None = None, resume: bool = False,
               progress_bar: bool = False) -> Run:
        """Stream `job` (a Job or a job file's path) with flow control, proofs of execution and a
        journal; `on_progress(info)` gets acked/executed/total lines and eta_s. `resume` continues
        the run the journal records, never exposing a mark twice; `progress_bar` draws one on
        stderr. Any stop holds and gates the beam off before it raises."""
        from lasergen.api.job import Job

        if isinstance(job, Job):
            path = job.path if job.path is not None else self._save(job)
        else:
            path = Path(job)
        figures = self._session.stream(str(path), on_progress, str(journal) if journal else None, resume,
                                       progress_bar)
        return Run(figures["status"], figures["marks"], figures["exposed_now"], figures["blanked"],
                   figures["lines_sent"], figures["elapsed_s"], figures["journal"], figures)

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
        self._session.close()
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
