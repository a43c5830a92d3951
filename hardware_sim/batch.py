"""The beam history of a job that is not streamed: its body run through the same emulated
controller a stream drives, in batch, for the machine's controller family.

    grbl     `hardware_sim.grbl.emulator.GrblEmulator`: the lines go in one at a time as a
             character-counting sender would send them, on the emulator's fast-forward clock
             (motion runs whenever a line waits on the planner queue), so the history has the
             times, junction speeds, syncs, dwell steps and S clamp of a real stream. The
             controller is unlocked with `$X` (position 0, 0, 0: job coordinates are machine
             coordinates, as in the planner's jobs). A body in lasergen's own dialect takes the
             executor's batch path (`hardware_sim.grbl.batch`: the same history, vectorised).
    pi_gcs   `hardware_sim.pi_gcs.batch`: the session's connect, then each group as a session
             sends it (motion waited for, the attenuator turned with the gate closed).
A dry run and a stream of the same job therefore predict alike. A refused line stops the run
with a one-line error naming it.
"""

from __future__ import annotations

from typing import Iterable

from hardware_sim.ledger import BeamHistory
from lasergen import LasergenError
from lasergen.backends import language_for
from lasergen.machine import MachineProfile
from lasergen.toolpath import Toolpath

def body_lines(source, machine: MachineProfile) -> list[str]:
    """Body lines of a job (parsed Job: its body), a Toolpath (emitted for the machine) or text."""
    if isinstance(source, Toolpath):
        return b"".join(language_for(machine).emit_body(source, machine, {})).decode().splitlines()
    body = getattr(source, "body", source)
    if isinstance(body, str):
        return body.splitlines()
    if isinstance(body, (list, tuple)):
        return [str(line) for line in body]
    raise LasergenError(f"cannot run a {type(source).__name__}: expected job text, a Toolpath or a Job")


def run_grbl(lines: Iterable[str], machine: MachineProfile):
    """Execute G-code lines on a fresh emulated GRBL controller; returns it, idle."""
    from hardware_sim.grbl.emulator import GrblEmulator

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


def grbl_history(lines: list[str], machine: MachineProfile) -> BeamHistory:
    """GRBL: the executor's batch path for lasergen's own dialect, else line by line."""
    from hardware_sim.grbl.batch import batch_history

    history = batch_history(lines, machine)
    return history if history is not None else run_grbl(lines, machine).recorder.history()


def pi_history(lines: list[str], machine: MachineProfile) -> BeamHistory:
    from hardware_sim.pi_gcs.batch import run_batch as run_pi

    return run_pi(lines, machine).recorder.history()


HISTORIES = {"grbl": grbl_history, "pi_gcs": pi_history}


def history_of(source, machine: MachineProfile | None = None) -> BeamHistory:
    """The beam history of `source`: a BeamHistory as it is, else job text, a Job or a Toolpath
    executed in batch on the machine's emulated controller."""
    if isinstance(source, BeamHistory):
        return source
    machine = machine or getattr(source, "machine", None) or MachineProfile.load()
    run = HISTORIES.get(machine.controller)
    if run is None:
        raise LasergenError(f"no batch run for controller {machine.controller!r} (known: {', '.join(HISTORIES)})")
    return run(body_lines(source, machine), machine)
