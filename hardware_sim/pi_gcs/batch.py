"""A PI GCS job body run in batch on the emulated C-884 rig: the beam history of a dry run.

The lines go to `PiGcsEmulator` in the order and grouping a streaming session sends them
(`drivers.pi_gcs.streaming`), on the emulator's fast-forward clock:
  - first what a session's connect does: servo on (`SVO`), reference (`FRF`, the stage then
    stands at 0, 0), the profile's VEL/ACC/DEC; the Z axis too when the job moves it (a MOV
    names the profile's z_axis), as the session does;
  - a motion command (MOV, MAC START) is followed by a wait until the motion, its macro and
    the gate have finished, as the session waits for `#5`/`#8` before the next group;
  - a `;@energy E` line turns the rig's plate to E (Malus's law inverted, as the attenuator
    driver does), with the gate closed, and takes the profile's `move_s`;
  - any refused command stops the run with the line and the controller's code (GCS answers no
    set command: the session reads `ERR?`; here the emulator's code is read directly).
So a PI dry run and a PI stream record the same history from the same emulator.
"""

from __future__ import annotations

from typing import Iterable

from hardware_sim.beam.rig import Rig
from hardware_sim.pi_gcs.emulator import PiGcsEmulator
from lasergen import LasergenError
from lasergen.backends.pi_gcs.codes import error_text
from lasergen.backends.pi_gcs.commands import split_command
from lasergen.backends.pi_gcs.emit import axes_of, names_z_axis
from lasergen.malus import MalusCalibration

MOTION = ("MOV", "MAC START")


def _send(emu: PiGcsEmulator, line: str, number: int) -> None:
    emu.receive(line.encode("latin-1", "replace") + b"\n")
    if split_command(line)[0] in MOTION:
        emu.run_until_idle()
    if emu.error:
        code, emu.error = emu.error, 0
        raise LasergenError(f"job line {number} {line.strip()[:40]!r}: the controller refused it "
                            f"(error {code}: {error_text(code)})")


def run_batch(lines: Iterable[str], machine) -> PiGcsEmulator:
    """Execute a GCS job body on a fresh emulated rig; returns the emulator, idle."""
    lines = list(lines)
    rig = Rig(machine)
    emu = PiGcsEmulator(machine, fast_forward=True, rig=rig)
    axes, vmax, acc = axes_of(machine, with_z=names_z_axis(lines, machine))
    per_axis = lambda values: " ".join(f"{a} {v:g}" for a, v in zip(axes, values))  # noqa: E731
    setup = [f"SVO {' '.join(f'{a} 1' for a in axes)}", f"FRF {' '.join(axes)}",
             f"VEL {per_axis(vmax)}", f"ACC {per_axis(acc)}", f"DEC {per_axis(acc)}"]
    for line in setup:
        _send(emu, line, 0)
        emu.run_until_idle()
    calibration = MalusCalibration.from_profile(machine) if machine.energy_mode == "attenuator" else None
    move_s = float(dict(machine.attenuator).get("move_s", 0.0))
    for number, raw in enumerate(lines, start=1):
        line = raw.strip()
        if line.startswith(";@energy "):
            emu.run_until_idle()
            if calibration is not None:
                rig.plate_moved(calibration.angle_for(float(line.split()[1])))
                emu.advance(emu.now_s + move_s)
            continue
        if not line or line.startswith(";"):
            continue
        _send(emu, line, number)
    emu.run_until_idle()
    return emu
