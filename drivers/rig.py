"""The device session the public API opens (`lasergen.connect`): the `lasergen.sessions` entry
point (pyproject.toml) fills the core's `lasergen.api.seams.RigSession` protocol.

A thin adapter over the job runner: one runner per `stream` call (the runner opens the port,
streams with journal and proofs of execution, and on any stop holds, soft-resets and gates the
beam off before it raises), `pause` / `resume_motion` / `abort` reach the run in progress from
another thread, and `close` aborts a run still going, so the session always ends beam off.
A Ctrl-C while the job is being read, before the runner catches signals, is one line: nothing
was sent.
"""

from __future__ import annotations

import threading

from lasergen import LasergenError


class RunnerRig:
    def __init__(self, url: str, machine):
        self.url = url
        self.machine = machine
        self._runner = None
        self._last = None
        self._lock = threading.Lock()

    @property
    def journal_path(self) -> str | None:
        path = getattr(self._last, "journal_path", None)
        return None if path is None else str(path)

    def stream(self, job_path: str, on_progress=None, journal_path: str | None = None, resume: bool = False,
               progress_bar: bool = False, resume_on: str | None = None) -> dict:
        from drivers.runner import JobRunner

        try:
            runner = JobRunner(job_path, self.url, self.machine, journal_path=journal_path, progress=on_progress,
                               show_bar=progress_bar, resume_on=resume_on)
        except KeyboardInterrupt:
            raise LasergenError("interrupted (Ctrl-C) before anything was sent") from None
        with self._lock:
            self._runner = self._last = runner
        try:
            result = runner.run(resume=resume).to_dict()
        finally:
            with self._lock:
                self._runner = None
        return {**result, "journal": self.journal_path}

    def _post(self, action: str) -> None:
        with self._lock:
            runner = self._runner
        if runner is not None:
            getattr(runner, action)()

    def pause(self) -> None:
        self._post("pause")

    def resume_motion(self) -> None:
        self._post("resume_motion")

    def abort(self) -> None:
        self._post("abort")

    def close(self) -> None:
        self.abort()


def open_rig(url: str, machine) -> RunnerRig:
    return RunnerRig(url, machine)
