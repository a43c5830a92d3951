"""The job runner: stream a job to a GRBL controller with journal, progress, pause and resume.

A run: open the port; on `--resume`, first ask the controller (before any reset) where it
stopped, to settle what an interrupted session left unproven; soft-reset, check version and
settings, home if locked; plan the lines to send (`drivers.resume`); stream them by
character counting (`drivers.grbl.streaming`) while the tracker turns answers into proven
execution (`drivers.grbl.tracker`) and the journal records both frontiers (`drivers.journal`).
Progress goes to a callback and, on a terminal, a tqdm bar; the ETA comes from lasergen's
GRBL planner model for the lines not yet proven executed.

Any stop that is not the end of the job (error:N, ALARM:N, an unreadable answer, a stall,
a lost link, abort, Ctrl-C) takes the same safe path: feed hold (the beam is gated off in a
hold), read where the controller stands, soft reset (beam and queue cleared), reconcile that
position with the lines in flight, journal it, and raise one clear message.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from drivers import journal as jn
from drivers.grbl.client import DeviceError, GrblClient
from drivers.grbl.job_lines import job_lines
from drivers.grbl.streaming import Streamer, StreamHalt
from drivers.grbl.tracker import ExecutionTracker
from drivers.resume import plan_send, reconcile
from lasergen import LasergenError
from lasergen.backends.grbl.motion import durations
from lasergen.job import body_sha256, read_job
from lasergen.machine import MachineProfile

HOLD_WAIT_S = 5.0
DRAIN_WAIT_S = 300.0


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

    def to_dict(self) -> dict:
        return dict(self.__dict__, lines_per_s=self.lines_sent / self.elapsed_s if self.elapsed_s else 0.0)


class JobRunner:
    def __init__(self, job_path: str | Path, port: str, machine: MachineProfile | None = None,
                 journal_path: str | Path | None = None, progress=None, show_bar: bool = False,
                 poll_s: float = 0.2, stall_s: float = 3.0):
        self.machine = machine or MachineProfile.load()
        self.job_path = str(job_path)
        text = Path(job_path).read_text()
        self.job = read_job(text if "\n" in text else text + "\n", self.machine)
        self.lines = job_lines(self.job, text.splitlines())
        self.sha = body_sha256(self.job.body)
        self.port = port
        self.journal_path = Path(journal_path) if journal_path else Path(str(job_path) + ".journal")
        self.progress = progress
        self.show_bar = show_bar
        self.client = GrblClient(port, self.machine)
        self.streamer = Streamer(self.client, window_bytes=self.machine.rx_buffer_bytes - 1, poll_s=poll_s,
                                 stall_s=stall_s)
        row_s = durations(self.job.toolpath, self.machine)
        self.line_time_s = np.bincount(self.job.program.row_line, weights=row_s, minlength=len(self.lines))

    # ---- control from other threads (keyboard, GUI) ----
    def pause(self):
        self.client.post("pause")

    def resume_motion(self):
        self.client.post("resume")

    def abort(self):
        self.client.post("abort")

    # ---- the run ----
    def run(self, resume: bool = False) -> RunResult:
        jl = self.lines
        sessions = []
        if resume:
            sessions = jn.read_sessions(self.journal_path, self.sha, jl.n_marks)
        elif self.journal_path.exists():
            raise LasergenError(f"journal {self.journal_path} exists: pass --resume to continue that run, "
                                f"or remove it to start over")
        self.client.open()
        try:
            writer = jn.JournalWriter(self.journal_path, None if resume else jn.header(self.sha, self.job_path,
                                                                                      jl.n_marks))
            if sessions and sessions[-1].reconciled is None and sessions[-1].end != "complete":
                self._settle_previous(writer, sessions)
            state = jn.resume_state(jl, sessions)
            plan = plan_send(jl, state.done)
            warnings = self.client.connect()
            if plan is None:
                writer.close()
                return RunResult("complete", jl.n_marks, 0, 0, 0, 0.0, state.uncertain, state.partial, warnings)
            writer.write({"session": len(sessions), "port": self.port, "first_line": plan.first_line,
                          "t": time.time()}, sync=True)
            result = self._stream(plan, writer, state)
            result.warnings = warnings
            return result
        finally:
            self.client.close()

    def _stream(self, plan, writer, state) -> RunResult:
        jl = self.lines
        tracker = ExecutionTracker()
        handler = _Handler(self, plan, tracker, writer)
        items = plan.items(jl)
        t0 = time.monotonic()
        try:
            self.streamer.run(items, handler)
        except (StreamHalt, DeviceError, KeyboardInterrupt) as exc:
            self._stop_safely(exc, plan, tracker, handler, writer)
        finally:
            handler.close_bar()
        writer.write({"end": "complete"}, sync=True)
        writer.close()
        marks_now = sum(1 for i in plan.lines if i >= 0 and jl.mark_of_line[i] >= 0
                        and jl.mark_line[jl.mark_of_line[i]] == i and not state.done[jl.mark_of_line[i]])
        return RunResult("complete", jl.n_marks, marks_now, len(plan.blanked), len(plan.lines),
                         time.monotonic() - t0, state.uncertain, state.partial)

    # ---- stopping ----
    def _stop_safely(self, exc, plan, tracker, handler, writer):
        kind = exc.kind if isinstance(exc, StreamHalt) else "interrupt" if isinstance(exc, KeyboardInterrupt) else "link"
        reason = "interrupted (Ctrl-C)" if kind == "interrupt" else str(exc)
        if isinstance(exc, StreamHalt) and exc.kind == "error" and exc.seq is not None:
            line = plan.lines[exc.seq]
            writer.write({"rejected": line, "code": exc.code})
            reason = f"line {line + 1} ({self.lines.text[line]}): {exc}"
        position = None
        if kind != "link":
            try:
                position = self._hold_and_reset(alarm=kind in ("alarm", "stall"))
            except DeviceError as err:
                reason += f"; then {err}"
        if position is not None:
            self._record_reconcile(writer, plan.lines, tracker.executed_seq, handler.acked_seq, position)
        writer.write({"end": "halted", "reason": reason}, sync=True)
        writer.close()
        where = "laser off, controller reset" if position is not None or kind != "link" else "link lost"
        raise StreamStopped(f"stream stopped: {reason} ({where}); resume with --resume {self.journal_path}") from None

    def _hold_and_reset(self, alarm: bool):
        """Feed hold (beam gated off), read the position, soft reset; returns the position."""
        client = self.client
        position = None
        if not alarm:  # after ALARM:1/2 (or a hang) GRBL answers nothing until reset
            client.feed_hold()
            deadline = time.monotonic() + HOLD_WAIT_S
            while time.monotonic() < deadline:
                try:
                    st = client.status(timeout_s=0.5)
                except DeviceError:
                    continue
                if st.state in ("Idle", "Alarm") or (st.state == "Hold" and st.substate == 0):
                    position = st.mpos
                    break
        client.soft_reset_now()  # clears queue and RX buffer, spindle (beam) off
        try:
            client.wait_for(("banner",), 3.0, "banner after the soft reset")
        except DeviceError:
            pass  # a garbled banner: the status below tells whether the reset happened
        client.drain(0.1)
        for _ in range(3):
            if position is not None:
                break
            try:
                position = client.status(timeout_s=1.0).mpos
            except DeviceError:
                continue
        return position

    def _record_reconcile(self, writer, sent_lines, executed_seq, acked_seq, position):
        jl = self.lines
        proven = max((sent_lines[s] for s in range(executed_seq + 1) if sent_lines[s] >= 0), default=-1)
        last = jn.window_end(jl, [i for i in sent_lines if i >= 0],
                             max((sent_lines[s] for s in range(acked_seq + 1) if sent_lines[s] >= 0), default=-1))
        candidates = [proven] + [i for i in sent_lines if proven < i <= last and jl.blocks[i]]
        found = reconcile(jl, candidates, position)
        if found is None:
            return None
        through = candidates[found.executed_through] if found.executed_through >= 0 else proven
        partial = None
        if found.partial_line is not None and jl.mark_of_line[found.partial_line] >= 0:
            partial = int(jl.mark_of_line[found.partial_line])
        writer.write({"reconciled": int(through), "partial": partial}, sync=True)
        return int(through), partial

    def _settle_previous(self, writer, sessions):
        """Before any reset, ask a controller that may still hold the last session's lines."""
        client = self.client
        client.drain(0.2)
        try:
            st = client.status(timeout_s=1.0)
            deadline = time.monotonic() + DRAIN_WAIT_S
            while st.state in ("Run", "Jog") and time.monotonic() < deadline:
                time.sleep(0.2)
                st = client.status(timeout_s=1.0)
        except DeviceError:
            return
        if st.state not in ("Idle", "Hold") or st.mpos is None:
            return  # a reset or power-up: the position proves nothing about the last session
        last = sessions[-1]
        earlier = jn.resume_state(self.lines, sessions[:-1])
        plan = plan_send(self.lines, earlier.done)
        if plan is None:
            return
        sent = plan.lines
        executed_seq = max((k for k, i in enumerate(sent) if 0 <= i <= last.executed), default=-1)
        acked_seq = max((k for k, i in enumerate(sent) if 0 <= i <= last.acked), default=-1)
        found = self._record_reconcile(writer, sent, executed_seq, acked_seq, st.mpos)
        if found is not None:
            last.reconciled, last.partial_mark = found


class _Handler:
    """Streaming callbacks: tracker, journal, progress."""

    def __init__(self, runner: JobRunner, plan, tracker: ExecutionTracker, writer):
        self.runner, self.plan, self.tracker, self.writer = runner, plan, tracker, writer
        self.jl = runner.lines
        self.acked_seq = -1
        self.started = time.monotonic()
        sent = np.array([i for i in plan.lines if i >= 0], dtype=np.int64)
        self.remaining_s = float(runner.line_time_s[sent].sum()) if sent.size else 0.0
        self.bar = None
        if runner.show_bar:
            from tqdm import tqdm
            self.bar = tqdm(total=len(plan.lines), unit="line", desc="streaming", leave=True)

    def on_sent(self, seqs):
        pass

    def on_ack(self, seq: int):
        self.acked_seq = seq
        line = self.plan.lines[seq]
        blocks = int(self.jl.blocks[line]) if line >= 0 else 1
        sync = bool(self.jl.sync[line]) if line >= 0 else True
        before = self.tracker.executed_seq
        self.tracker.ack(seq, blocks, sync)
        if line >= 0:
            self.writer.ack(line)
        self._executed(before)
        if self.bar is not None:
            self.bar.update(1)

    def on_status(self, status):
        before = self.tracker.executed_seq
        self.tracker.status(status)
        self._executed(before)

    def on_message(self, msg):
        pass

    def _executed(self, before: int):
        now = self.tracker.executed_seq
        if now <= before:
            return
        done_lines = [i for i in self.plan.lines[before + 1:now + 1] if i >= 0]
        if done_lines:
            self.writer.executed_through(max(done_lines))
            self.remaining_s -= float(self.runner.line_time_s[done_lines].sum())
        info = {"acked": self.acked_seq + 1, "executed": now + 1, "total": len(self.plan.lines),
                "eta_s": max(0.0, self.remaining_s), "elapsed_s": time.monotonic() - self.started}
        if self.bar is not None:
            self.bar.set_postfix(eta=f"{info['eta_s']:.0f}s machine")
        if self.runner.progress is not None:
            self.runner.progress(info)

    def close_bar(self):
        if self.bar is not None:
            self.bar.close()
