"""The beam side a set of emulated ports shares: laser, attenuator plate, the passes it marks.

One named `sim://` device is one rig: the stage controller's port (`port=stage`, the default)
and the attenuator's (`port=attenuator`) reach the same `Rig`, so the plate angle set through
one port decides the pulse energy the stage emulator records through the other. Energy modes
(the machine profile's [beam] energy): "attenuator" (Malus's law over the plate angle, with the
profile's calibration: the same model the driver inverts), "fixed", "s_word" (the controller's
own power word; the rig is not asked). Each command to the plate marks a new pass: a lasergen
job sets each layer's energy at the layer's start, the one event the beam side sees of it.
"""

from __future__ import annotations

import threading

from lasergen.malus import MalusCalibration

_RIGS: dict[str, "Rig"] = {}
_LOCK = threading.Lock()


class Rig:
    def __init__(self, machine):
        self.machine = machine
        self.angle_deg = 0.0
        self.plate_commands = 0
        self.lock = threading.Lock()
        self.calibration = MalusCalibration.from_profile(machine) if machine.energy_mode == "attenuator" else None

    def energy_uJ(self) -> float:
        if self.machine.energy_mode == "fixed":
            return float(self.machine.fixed_energy_uJ)
        if self.calibration is None:
            return 0.0
        with self.lock:
            return float(self.calibration.power(self.angle_deg))

    def plate_moved(self, angle_deg: float):
        with self.lock:
            self.angle_deg = angle_deg
            self.plate_commands += 1


def rig_for(name: str | None, machine) -> Rig:
    """The named rig (made on first use), or a private one."""
    if name is None:
        return Rig(machine)
    with _LOCK:
        rig = _RIGS.get(name)
        if rig is None:
            rig = _RIGS[name] = Rig(machine)
        return rig


def forget_rig(name: str):
    with _LOCK:
        _RIGS.pop(name, None)
