"""A black-box rig for end-to-end safety tests: an emulated GRBL behind TCP in the test process,
`lasergen stream` as a separate process, and the verdict read from the device's own record.

The sender is the `lasergen` of LASERGEN_SENDER_PYTHON (default: this Python), started in the
job's folder so it imports its own installed package: the same tests can measure another
version's sender against this emulator. Fault lines count what the device takes per
connection, handshake included; `Rig.job_line` turns "the k-th line the job sends" into that
count for the sender in use (learned once per sender by a clean probe run).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path


from hardware_sim.device import Device
from hardware_sim.faults import FaultPlan
from hardware_sim.transport import TcpServer
from lasergen.job import read_job

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from campaign_check import REST_DEFECT_S, Record, beam_off_after, beam_off_times, check, split_rests  # noqa: E402, F401

SENDER = os.environ.get("LASERGEN_SENDER_PYTHON", sys.executable)
_OFFSETS: dict = {}


def sender_help() -> str:
    return subprocess.run([SENDER, "-m", "lasergen", "stream", "--help"], capture_output=True, text=True,
                          cwd="/").stdout


@dataclass
class Session:
    code: int | None
    stdout: str
    stderr: str
    seconds: float
    hung: bool = False

    @property
    def result(self) -> dict:
        try:
            return json.loads(self.stdout.strip().splitlines()[-1])
        except (json.JSONDecodeError, IndexError):
            return {}


@dataclass
class Verdict:
    twice: list
    unlisted: list  # marks not fully exposed and not listed by the sender
    stray: int
    listed: set = field(default_factory=set)


class Rig:
    def __init__(self, machine, clock: str = "real", speed: float = 20.0, baud: int | None = None):
        self.machine = machine
        self.speed = speed
        self.device = Device(machine, clock=clock, speed=speed)
        self.server = TcpServer(self.device, baud=baud)
        self.port = f"socket://127.0.0.1:{self.server.port}"
        self.sessions: list[Session] = []

    def close(self):
        self.server.close()
        self.device.stop()

    # ---- the sender ----
    def start(self, job: Path, resume: bool = False, faults: str = "", extra=()):
        self.server.faults = FaultPlan.from_options(dict(kv.split("=", 1) for kv in faults.split("&") if kv))
        args = [SENDER, "-m", "lasergen", "stream", str(job), "--port", self.port, "--json", "--no-progress", *extra]
        if resume:
            args += ["--resume"] if "--resume-on" in sender_help() else ["--resume", f"{job}.journal"]
        return subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=job.parent,
                                start_new_session=True)

    def finish(self, proc, t0: float, timeout_s: float = 60.0) -> Session:
        try:
            out, err = proc.communicate(timeout=max(0.1, timeout_s - (time.monotonic() - t0)))
            session = Session(proc.returncode, out, err, time.monotonic() - t0)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            out, err = proc.communicate()
            session = Session(None, out, err, time.monotonic() - t0, hung=True)
        self.sessions.append(session)
        return session

    def stream(self, job: Path, resume: bool = False, faults: str = "", timeout_s: float = 60.0, extra=()) -> Session:
        t0 = time.monotonic()
        return self.finish(self.start(job, resume, faults, extra), t0, timeout_s)

    def resume_until_done(self, job: Path, tries: int = 4) -> Session:
        for _ in range(tries):
            s = self.stream(job, resume=True)
            if s.code == 0:
                return s
        return s

    def on_line(self, predicate, action):
        """Call action() in the device thread when it takes a line with predicate(text, count)
        true (once): e.g. signal the sender at an exact point of the protocol."""
        fired = []

        def hook(emu):
            original = emu._dispatch

            def dispatch(raw, _original=original):
                text = raw.strip()
                if not fired and text and predicate(text, emu.lines_taken + 1):
                    fired.append(text)
                    action()
                return _original(raw)
            emu._dispatch = dispatch
        self.device.call(hook)
        return fired

    # ---- what the device did ----
    def record(self) -> Record:
        time.sleep(0.1)
        return Record.from_history(self.device.call(lambda e: e.recorder.history()))

    def fault_log(self) -> list:
        return self.device.call(lambda e: list(e.fault_log))

    def verdict(self, job: Path, final: Session | None = None) -> Verdict:
        v = check(read_job(job, self.machine).toolpath, self.record())
        result = (final or self.sessions[-1]).result
        listed = set(result.get("uncertain", [])) | set(result.get("partial", []))
        return Verdict(v.twice, v.not_listed(listed), v.stray, listed)

    def beam_off_s(self, after_s: float) -> float:
        """Sender seconds from the emulator time `after_s` until the beam was off for good."""
        return beam_off_after(self.record(), after_s, None) / self.speed

    # ---- fault lines ----
    def job_line(self, job: Path, k: int) -> int:
        """The device's line count of the k-th line (0-based) the sender writes of this job."""
        return offset(self.machine, job) + k + 1


def offset(machine, job: Path) -> int:
    """Handshake lines the sender sends a fresh controller before the job's first line (a clean
    probe run of a copy of the job, in a folder of its own)."""
    import shutil
    import tempfile

    key = (SENDER, job.read_bytes())
    if key not in _OFFSETS:
        rig = Rig(machine, clock="ff")
        taken = []

        def record_lines(emu):
            original = emu._dispatch

            def dispatch(raw, _original=original):
                taken.append(raw.strip())
                return _original(raw)
            emu._dispatch = dispatch
        with tempfile.TemporaryDirectory() as tmp:
            probe = Path(tmp) / job.name
            shutil.copy(job, probe)
            try:
                rig.device.call(record_lines)
                rig.stream(probe)
            finally:
                rig.close()
        _OFFSETS[key] = [t for t in taken if t].index("G21G90G94")
    return _OFFSETS[key]


def sent_lines(job: Path) -> list[str]:
    """The lines a fresh stream of the job writes, in order (comments are not sent)."""
    return [line for line in job.read_text().splitlines() if line and not line.startswith(";")]
