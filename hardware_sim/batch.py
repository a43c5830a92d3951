"""The beam history of a job that is not streamed: its G-code run through the same emulated
controller a stream drives (`hardware_sim.grbl.emulator.GrblEmulator`), in batch.

The lines go in one at a time as a character-counting sender would send them, on the
emulator's fast-forward clock (motion runs whenever a line waits on the planner queue), so the
history has the times, junction speeds, syncs, dwell steps and S clamp of a real stream: a dry
run and a stream predict alike. The controller is unlocked with `$X` (position 0, 0, 0: job
coordinates are machine coordinates, as in the planner's jobs). An `error:N` or `ALARM:N`
answer stops the run with a one-line error naming the line.
"""

from __future__ import annotations

from typing import Iterable

from hardware_sim.grbl.emulator import GrblEmulator
from hardware_sim.ledger import BeamHistory
from lasergen import LasergenError
from lasergen.machine import MachineProfile
from lasergen.toolpath import Toolpath


def gcode_lines(source, machine: MachineProfile) -> Iterable[str]:
    """G-code lines of a job (parsed Job: its body), a Toolpath (emitted) or G-code text."""
    if isinstance(source, Toolpath):
        from lasergen.backends.grbl.gcode.emit import emit_body

        return b"".join(emit_body(source, machine, {})).decode().splitlines()
    body = getattr(source, "body", source)
    if isinstance(body, str):
        return body.splitlines()
    if isinstance(body, (list, tuple)):
        return [str(line) for line in body]
    raise LasergenError(f"cannot run a {type(source).__name__}: expected G-code text, a Toolpath or a Job")


def run_batch(lines: Iterable[str], machine: MachineProfile) -> GrblEmulator:
    """Execute G-code lines on a fresh emulated GRBL controller; returns it, idle."""
    emu = GrblEmulator(machine, fast_forward=True)
    emu.receive(b"$X\n")
    emu.take_output()
    for number, line in enumerate(lines, start=1):
        emu.receive(line.encode("latin-1", "replace") + b"\n")
        out = emu.out
        if b"error:" in out or b"ALARM:" in out:
            reply = next(r for r in emu.take_output().decode("latin-1").split("\r\n") if r.startswith(("error", "ALARM")))
            raise LasergenError(f"G-code line {number} {line.strip()[:40]!r}: the controller answered {reply}")
        if len(out) > 4096:
            out.clear()
    emu.run_until_idle()
    return emu


def history_of(source, machine: MachineProfile | None = None) -> BeamHistory:
    """The beam history of `source`: a BeamHistory as it is, else G-code text, a Job or a Toolpath
    executed in batch on the emulated controller."""
    if isinstance(source, BeamHistory):
        return source
    machine = machine or MachineProfile.load()
    return run_batch(gcode_lines(source, machine), machine).recorder.history()
