"""PI jobs, a recording stream handler and a small exactly-once driver loop for the PI tests.

`run_until_done` plays the runner's exactly-once rules over `drivers.session` facts: a mark is
done once its last command is proven executed; a mark whose first command was written but
whose last was not proven is treated as done and listed as uncertain (never written twice)."""

from __future__ import annotations

from lasergen import Job

import itertools
from contextlib import contextmanager

import numpy as np

import hardware_sim.urlhandler
from drivers.pi_gcs.session import PiGcsSession
from drivers.session import StreamHalt, StreamHandler
from lasergen import MachineProfile
from lasergen import Layer, Pattern
from lasergen import Recipe
from lasergen.recipe import PRESETS
from lasergen.sources.qr import make_qr, qr_mask

hardware_sim.urlhandler.register()
PI = MachineProfile.load("pi-c884")
_names = itertools.count()


def device_name() -> str:
    return f"pi-test-{next(_names)}"


def qr_pattern(mode: str = "raster", data: str = "lasergen") -> Pattern:
    recipe = Recipe(energy_uJ=200.0, rep_rate_kHz=10.0, mode=mode, speed_mm_s=0.4, dwell_s=0.2)
    return Pattern(20.0, [Layer(qr_mask(make_qr(data), 2), "write", "qr")], (10.0, 10.0),
                   {**PRESETS, "write": recipe}, {"source": "qr", "payload": data})


def write_job(tmp_path, pattern: Pattern, machine=PI, name="qr.job"):
    path = tmp_path / name
    path.write_text(Job.plan(pattern, machine).text)
    return path


class Recorder(StreamHandler):
    def __init__(self):
        self.written_seq = self.acked_seq = self.executed_seq = -1

    def written(self, seq):
        self.written_seq = max(self.written_seq, seq)

    def acked(self, seq):
        self.acked_seq = max(self.acked_seq, seq)

    def executed(self, seq):
        self.executed_seq = max(self.executed_seq, seq)


def settle(table, send_plan, rec: Recorder, done: np.ndarray, uncertain: list):
    """Fold one session's proofs into `done` (exactly-once rules)."""
    commands = send_plan.commands
    proven = {int(c) for c in commands[:rec.executed_seq + 1] if c >= 0}
    written = {int(c) for c in commands[:rec.written_seq + 1] if c >= 0}
    for m in range(table.n_marks):
        if done[m]:
            continue
        if int(table.mark_last[m]) in proven:
            done[m] = True
        elif int(table.mark_first[m]) in written:
            done[m] = True
            uncertain.append(m)


def stream_once(url: str, job, machine=PI, done=None, uncertain=None):
    """One session: connect, plan what is not done, stream; returns (halt or None, stop report)."""
    session = PiGcsSession(url, machine)
    session.open()
    try:
        session.connect()
        table = session.prepare(str(job))
        done = np.zeros(table.n_marks, bool) if done is None else done
        send_plan = table.plan(done)
        rec = Recorder()
        halt = report = None
        if send_plan is not None:
            try:
                session.stream(send_plan, rec)
            except StreamHalt as exc:
                halt = exc
                report = session.stop()
            settle(table, send_plan, rec, done, uncertain if uncertain is not None else [])
        return halt, report, table, done
    finally:
        session.close()


@contextmanager
def lines_taken_by_controller(monkeypatch):
    """Every line the emulated C-884 takes while the block runs, in order (line 1 first): a
    clean run's numbering, so a test can put a fault on one exact command."""
    from hardware_sim.pi_gcs.emulator import PiGcsEmulator

    taken = []
    original = PiGcsEmulator._take

    def take(emu, raw):
        taken.append(raw)
        return original(emu, raw)
    with monkeypatch.context() as m:
        m.setattr(PiGcsEmulator, "_take", take)
        yield taken
