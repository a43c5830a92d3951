"""The job runner: stream a job to any controller family with journal, progress, pause and resume.

Written once against `drivers.session.Session`; it knows no controller language. A run:
read the job into the family's JobTable (a big job lazily: a fresh stream starts from the
table's first piece, `JobTable.plan(None)`, while the rest is read; a resume, which replays
the journal, waits for the whole table); open the port; on a resume, first ask the
controller (before any reset) where it stands, to settle what an interrupted session left
unproven; connect (reset, identify, check settings); find the job's journal for this device
(`drivers.journal`: one per job per device; a journal of another device is refused unless
`resume_on` names it); replay it (`drivers.resume.replay`) into the marks still to write;
let the family plan the commands; stream them while the journal records, write-ahead, what
was written and what is proven executed. Progress goes to a callback and, on a terminal, a
tqdm bar; the ETA is the family's motion model for the commands not yet proven executed.

Any stop that is not the end of the job (a refused command, an alarm, an unreadable answer,
a stall, a lost link, a reset of the controller, abort, Ctrl-C) takes the same path:
`Session.stop` (beam off first, position, queue cleared), a stop record in the journal, and
one clear message. SIGINT and SIGTERM are caught for the whole run: the first asks for that
stop, a second only shortens its waits, so the beam-off and the journal's end are never
skipped, also when the signal comes during start-up.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path


from drivers import journal as jn
from drivers.resume import replay
from drivers.session import HALT_KINDS, DeviceError, StreamHalt, StreamHandler, open_session
from lasergen import LasergenError
from lasergen.machine import MachineProfile

SETTLE_S = 300.0  # how long a resume waits for a controller still running the last session's queue


class StreamStopped(LasergenError):
    """The stream stopped before the end; the journal holds what is needed to resume."""


@dataclass
class RunResult:
    status: str
    marks: int
    exposed_now: int
    blanked: int
    lines_sent: int
    elapsed_s: float
    uncertain: list = field(default_factory=list)
    partial: list = field(default_factory=list)
    warnings: list = field(default_factory=list)
    skipped: int = 0
    device: str = ""

    def to_dict(self) -> dict:
        return dict(self.__dict__, lines_per_s=self.lines_sent / self.elapsed_s if self.elapsed_s else 0.0)


class JobRunner:
    def __init__(self, job_path: str | Path, port: str, machine: MachineProfile | None = None,
                 journal_path: str | Path | None = None, progress=None, show_bar: bool = False,
                 poll_s: float = 0.2, stall_s: float | None = None, resume_on: str | None = None, session=None):
        self.machine = machine or MachineProfile.load()
        self.job_path = str(job_path)
        self.port = port
        self.explicit_journal = Path(journal_path) if journal_path else None
        self.journal_path = self.explicit_journal
        self.resume_on = resume_on
        self.progress = progress
        self.show_bar = show_bar
        self.session = session or open_session(port, self.machine)
        budget_s = poll_s if stall_s is None else stall_s  # the longest a hung controller keeps its beam
        if hasattr(self.session, "streamer"):  # a family that polls status at its own cadence
            self.session.streamer.poll_s = poll_s
            self.session.streamer.stall_budget_s = budget_s
        else:
            self.session.stall_budget_s = budget_s
        self.table = self.session.prepare(self.job_path)
        self.sha = getattr(self.table, "body_sha256", "")
        self._signals = 0
        self.notes: list[str] = []

    # ---- control from other threads (keyboard, GUI) ----
    def pause(self):
        self.session.pause()

    def resume_motion(self):
        self.session.resume_motion()

    def abort(self):
        self.session.abort("abort")

    def _on_signal(self, signum, frame):
        self._signals += 1
        if self._signals == 1:
            self.session.abort("interrupt")
        else:
            self.session.hurry()

    # ---- the run ----
    def run(self, resume: bool = False) -> RunResult:
        handlers = {}
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                handlers[sig] = signal.signal(sig, self._on_signal)
        try:
            self.session.open()
            try:
                return self._run(resume)
            finally:
                self.session.close()
        finally:
            for sig, previous in handlers.items():
                signal.signal(sig, previous)

    def _run(self, resume: bool) -> RunResult:
        session, table = self.session, self.table
        observed = session.observe(SETTLE_S) if resume else None
        try:
            warnings = session.connect()
        except DeviceError as exc:
            self._reset_quietly()
            if self._signals:
                raise StreamStopped(f"interrupted (Ctrl-C) during start-up; nothing was sent ({exc})") from None
            raise
        identity = session.identity
        path, journal = self._journal(identity, resume)
        warnings += self.notes
        self.journal_path = path
        sessions = journal.sessions if journal else []
        if sessions and sessions[-1].needs_settling:
            same = sessions[-1].device.get("key") == identity.key
            sessions[-1].settled = observed.position_mm[:3] if (same and observed and observed.position_mm) else None
            sessions[-1].observed = True
        done_before = 0
        if sessions:  # a resume: replaying the journal needs the whole table
            state = replay(table.complete(), sessions)
            plan = table.plan(state.done)
            done_before = int(state.done.sum())
            if plan is None:
                return RunResult("complete", table.n_marks, 0, 0, 0, 0.0, state.uncertain, state.partial, warnings,
                                 done_before, identity.key)
        else:  # nothing done: the fresh plan, which a lazily prepared table gives before its scan ends
            plan = table.plan(None)
        writer = jn.JournalWriter(path) if journal else None
        if writer is not None and sessions[-1].observed:
            settled = sessions[-1].settled
            writer.write({"settled": None if settled is None else [float(v) for v in settled]}, sync=True)
        if self._signals:  # Ctrl-C during start-up: the controller was reset by connect, nothing sent
            self._reset_quietly()
            if writer is not None:
                writer.close()
            raise StreamStopped("interrupted (Ctrl-C) during start-up; nothing was sent (beam off)")
        if writer is None:
            writer = jn.JournalWriter(path, jn.header(self.sha, self.job_path, table.n_commands))
        writer.write({"session": len(sessions), "port": self.port, "device": identity.to_dict(),
                      "first_command": int(plan.first_command), "n_sent": len(plan), "t": time.time()}, sync=True)
        handler = _Handler(self, plan, writer)
        t0 = time.monotonic()
        try:
            session.stream(plan, handler)
        except (StreamHalt, KeyboardInterrupt) as exc:
            handler.close_bar()
            halt = exc if isinstance(exc, StreamHalt) else StreamHalt("interrupt", "interrupted (Ctrl-C)")
            return self._stopped(halt, plan, writer, handler.executed_seq)
        handler.close_bar()
        writer.executed_through(len(plan) - 1, force=True)
        writer.write({"end": "complete"}, sync=True)
        writer.close()
        final = replay(table.complete(), jn.read_journal(path).sessions)
        exposed_now = int(final.done.sum()) - done_before
        return RunResult("complete", table.n_marks, exposed_now, len(plan.blanked), len(plan), time.monotonic() - t0,
                         final.uncertain, final.partial, warnings, done_before, identity.key)

    def _journal(self, identity, resume: bool):
        """(journal path, Journal or None): this job's journal on this device."""
        path = self.explicit_journal or jn.journal_path(self.job_path, identity.key)
        if not resume:
            if jn.started(path):
                old = jn.read_journal(path)
                if not old.finished:
                    raise LasergenError(f"a run of {self.job_path} on this device was interrupted ({path}): "
                                        f"pass --resume to continue it, or remove the journal to start over")
            return path, None
        source = path
        if self.resume_on:
            source = jn.journal_path(self.job_path, self.resume_on) if not self.explicit_journal else path
        if not jn.started(source):
            others = [p for p in jn.job_journals(self.job_path) if not jn.read_journal(p).finished]
            if others:
                theirs = jn.read_journal(others[0]).device
                raise LasergenError(f"{self.job_path} was interrupted on device {theirs.get('key', '?')} "
                                    f"({theirs.get('build', '')}), this is device {identity.key}: resume on that "
                                    f"device, or pass --resume-on {theirs.get('key', '?')} to continue here")
            # the journal is written before the first byte goes out: without one nothing was sent
            self.notes.append(f"no journal of {self.job_path} on device {identity.key}: nothing was sent, "
                              f"starting from the beginning")
            return path, None
        journal = jn.read_journal(source)
        jn.check_job(journal, self.sha)
        recorded = journal.device.get("key")
        if recorded != identity.key and recorded != self.resume_on:
            raise LasergenError(f"journal {source} was recorded on device {recorded} "
                                f"({journal.device.get('build', '')}), this is device {identity.key}: pass "
                                f"--resume-on {recorded} to continue here (the marks in flight when it "
                                f"stopped are listed as a gap)")
        if source != path:
            source.rename(path)  # it belongs to this device from now on
            journal.path = path
        return path, journal

    def _reset_quietly(self):
        try:
            self.session.reset()
        except (DeviceError, OSError):
            pass

    def _stopped(self, halt: StreamHalt, plan, writer, executed_seq: int):
        report = self.session.stop()
        writer.executed_through(executed_seq, force=True)
        reason = str(halt)
        if halt.kind == "error" and halt.seq is not None:
            writer.write({"refused": int(halt.seq), "code": halt.code})
            text = self.session.seq_text(plan, halt.seq) if hasattr(self.session, "seq_text") else ""
            command = int(plan.commands[halt.seq])
            reason = f"line {command + 1} ({text}): {halt}" if command >= 0 else f"{text}: {halt}"
        position = None if report.position_mm is None else [float(v) for v in report.position_mm[:3]]  # x, y[, z]
        writer.write({"stop": {"position": position, "reached": report.beam_off, "kind": halt.kind}}, sync=True)
        writer.write({"end": "halted", "reason": reason}, sync=True)
        writer.close()
        where = "beam off, controller reset" if report.beam_off else (report.detail or "the beam's state is unknown")
        raise StreamStopped(f"stream stopped: {reason} ({where}); resume with --resume "
                            f"(journal {self.journal_path})")


class _Handler(StreamHandler):
    """Streaming callbacks: journal (write-ahead), progress, ETA (the family's motion model for
    the commands not yet proven executed; the job's own estimate until a lazy table is whole)."""

    def __init__(self, runner: JobRunner, plan, writer):
        self.runner, self.plan, self.writer = runner, plan, writer
        self.table = runner.table
        self.executed_seq = -1
        self.acked_seq = -1
        self.executed_s = 0.0
        self.total_s = None
        self.started = time.monotonic()
        self.bar = None
        if runner.show_bar:
            from tqdm import tqdm
            self.bar = tqdm(total=len(plan), unit="line", desc="streaming", leave=True)

    def _eta_s(self) -> float | None:
        if self.total_s is None and self.table.is_complete:
            body = self.plan.commands[self.plan.commands >= 0]
            self.total_s = float(self.table.duration_s[body].sum())
        total = self.total_s if self.total_s is not None else self.table.estimated_s
        return None if total is None else max(0.0, total - self.executed_s)

    def written(self, seq: int):
        self.writer.written(seq)

    def acked(self, seq: int):
        if self.bar is not None:
            self.bar.update(seq - self.acked_seq)
        self.acked_seq = seq

    def executed(self, seq: int):
        before = self.executed_seq
        if seq <= before:
            return
        self.executed_seq = seq
        self.writer.executed_through(seq)
        commands = self.plan.commands[before + 1:seq + 1]
        self.executed_s += float(self.table.duration_s[commands[commands >= 0]].sum())
        info = {"acked": self.acked_seq + 1, "executed": seq + 1, "total": len(self.plan),
                "eta_s": self._eta_s(), "elapsed_s": time.monotonic() - self.started}
        if self.bar is not None and info["eta_s"] is not None:
            self.bar.set_postfix(eta=f"{info['eta_s']:.0f}s machine")
        if self.runner.progress is not None:
            self.runner.progress(info)

    def close_bar(self):
        if self.bar is not None:
            self.bar.close()
            self.bar = None


__all__ = ["JobRunner", "RunResult", "StreamStopped", "HALT_KINDS"]
