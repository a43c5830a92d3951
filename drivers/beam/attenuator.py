"""Pulse energy set by a motorised half-wave plate before a polariser (Malus's law, the model
and its calibration fit in `lasergen.malus`), on an Elliptec rotation mount.

`Attenuator` sets a layer's energy: the plate angle for it from the calibration, one absolute
move, the angle read back as proof. `AttenuatorLaser` sets energy with the plate and leaves
gating to another Laser (GRBL M3/M5 with a fixed S, or a PI controller's gate line).
"""

from __future__ import annotations

from drivers.beam.elliptec import ElliptecMount
from lasergen import LasergenError
from lasergen.malus import MalusCalibration

__all__ = ["Attenuator", "AttenuatorLaser", "MalusCalibration"]

ANGLE_TOLERANCE_DEG = 0.01  # ELL14: 143360 pulses per turn, 0.0025 deg each


class Attenuator:
    """Sets pulse energy by the plate angle; reads the angle back as proof it was reached."""

    def __init__(self, mount: ElliptecMount, calibration: MalusCalibration):
        self.mount = mount
        self.calibration = calibration

    def set_energy_uJ(self, energy_uJ: float) -> float:
        """Turn the plate to the angle for `energy_uJ`; returns the energy the reached angle gives."""
        target = self.calibration.angle_for(energy_uJ) % 360.0
        reached = self.mount.move_to_deg(target) % 360.0
        miss = min(abs(reached - target), 360.0 - abs(reached - target))
        if miss > ANGLE_TOLERANCE_DEG:
            raise LasergenError(f"attenuator stopped at {reached:.3f} deg, not {target:.3f} deg")
        return float(self.calibration.power(reached))

    def energy_uJ(self) -> float:
        return float(self.calibration.power(self.mount.angle_deg()))


class AttenuatorLaser:
    """Energy from the plate angle; the gate from another Laser (e.g. GRBL at fixed S)."""

    def __init__(self, mount: ElliptecMount, calibration: MalusCalibration, gate_laser,
                 rep_rate_kHz: float):
        self.mount = mount
        self.calibration = calibration
        self.gate_laser = gate_laser
        self.rep_rate_kHz = rep_rate_kHz
        self._energy_uJ = 0.0

    def set_energy_uJ(self, energy_uJ):
        self.mount.move_to_deg(self.calibration.angle_for(energy_uJ))
        self._energy_uJ = energy_uJ

    def energy_uJ(self):
        return float(self.calibration.power(self.mount.angle_deg()))

    def gate(self, on):
        self.gate_laser.gate(on)

    @property
    def armed(self):
        return self.gate_laser.armed
