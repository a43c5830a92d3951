"""The device session the public API opens (`lasergen.connect`): the `lasergen.sessions` entry
point (pyproject.toml) fills the core's `lasergen.api.seams.RigSession` protocol.

A thin adapter over the job runner: one runner per `stream` call (the runner opens the port,
streams with journal and proofs of execution, and on any stop holds, soft-resets and gates the
beam off before it raises), `pause` / `resume_motion` / `abort` reach the run in progress from
another thread, and `close` aborts a run still going, so the session always ends beam off.
"""

from __future__ import annotations

import threading



class RunnerRig:
    def __init__(self, url: str, machine):
        self.url = url
        self.machine = machine
        self._runner = None
        self._lock = threading.Lock()

    def stream(self, job_path: str, on_progress=None, journal_path: str | None = None, resume: bool = False,
               progress_bar: bool = False) -> dict:
        from drivers.runner import JobRunner

        runner = JobRunner(job_path, self.url, self.machine, journal_path=journal_path, progress=on_progress,
                           show_bar=progress_bar)
        with self._lock:
            self._runner = runner
        try:
            result = runner.run(resume=resume).to_dict()
        finally:
            with self._lock:
                self._runner = None
        return {**result, "journal": str(runner.journal_path)}

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
