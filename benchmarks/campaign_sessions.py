"""How the fault campaign runs one sender session and watches it: `lasergen stream` as a process
of its own (this tree's, or another version's Python), or the runner in the campaign's own
process for the faults that are not the sender's; a session is hung when its device takes no
line for STALLED_S of wall time (every wait of a sender is bounded far below that)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path


class Sender:
    """How to run `lasergen stream` (this tree, or another one given by --sender-path)."""

    def __init__(self, python: str | None):
        self.env = dict(os.environ)
        self.cmd = [python or sys.executable, "-m", "lasergen"]
        help_text = self.run(["stream", "--help"]).stdout
        self.bare_resume = "--resume-on" in help_text

    def run(self, args, **kw):
        return subprocess.run(self.cmd + args, capture_output=True, text=True, env=self.env, cwd=tempfile.gettempdir(),
                              **kw)

    def start(self, job: Path, port: str, resume: bool, extra=()):
        args = ["stream", str(job), "--port", port, "--json", "--no-progress", *extra]
        if resume:
            args += ["--resume"] if self.bare_resume else ["--resume", f"{job}.journal"]
        return subprocess.Popen(self.cmd + args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                env=self.env, start_new_session=True, cwd=job.parent)  # never the source tree


STALLED_S = 20.0  # wall seconds without a line taken by the device: the sender is hung


def wait_alive(done, device, limit_s: float) -> bool:
    """Wait until done() (-> True) or the session is hung (-> False): no line reached the device
    for STALLED_S of wall time (the sender's longest wait, bounded by a command's modelled
    duration plus its timeouts, is far shorter at the campaign's clock), or the session ran
    past limit_s. A slow session that still makes progress on a loaded host is not hung."""
    t0 = last_change = time.monotonic()
    last = None
    while not done():
        now = time.monotonic()
        try:
            taken = device.call(lambda e: e.lines_taken, timeout_s=5.0)
        except Exception:  # noqa: BLE001 - a busy device thread: no progress seen this time
            taken = last
        if taken != last:
            last, last_change = taken, now
        if now - last_change > STALLED_S or now - t0 > limit_s:
            return False
        time.sleep(0.25)
    return True


def stream_here(job: Path, port: str, resume: bool, machine, limit_s: float, device):
    """One session of the runner in this process (no process start-up: for the faults that are
    not the sender's own): (exit code as `lasergen stream` gives it, JSON out, error) or None
    if it hung (`wait_alive`)."""
    from drivers.runner import JobRunner
    from lasergen import LasergenError

    box = {}

    def session():
        try:
            box["out"] = (0, json.dumps(JobRunner(job, port, machine).run(resume=resume).to_dict()), "")
        except LasergenError as exc:
            box["out"] = (2, "", f"lasergen: error: {exc}")
        except Exception as exc:  # noqa: BLE001 - counted as an unclean exit
            box["out"] = (1, "", f"Traceback: {exc!r}")

    thread = threading.Thread(target=session, name=f"sender-{job.name}", daemon=True)
    thread.start()
    wait_alive(lambda: not thread.is_alive(), device, limit_s)
    return box.get("out")
