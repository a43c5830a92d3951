"""Pulse energy set by a motorised half-wave plate before a polariser (Malus's law).

A half-wave plate at angle theta turns the polarisation by 2*theta, so the power through
the polariser is
    P(theta) = Pmin + (Pmax - Pmin) * cos^2(2 (theta - theta0)).
Calibration: measured (theta, P) pairs. Since cos^2(x) = (1 + cos 2x) / 2, the model is
linear in (1, cos 4theta, sin 4theta): P = c0 + c1 cos 4theta + c2 sin 4theta, solved by
least squares; then A = hypot(c1, c2), theta0 = atan2(c2, c1) / 4, Pmin = c0 - A, Pmax = c0 + A.
Inverse (to set an energy): theta = theta0 + arccos(sqrt((P - Pmin) / (Pmax - Pmin))) / 2,
the branch within 45 degrees above theta0. `AttenuatorLaser` sets energy with the plate and
leaves gating to another Laser (GRBL M3/M5 with a fixed S).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from drivers.beam.elliptec import ElliptecMount
from lasergen import LasergenError


@dataclass(frozen=True)
class MalusCalibration:
    p_min: float
    p_max: float
    theta0_deg: float
    rms_residual: float = 0.0

    @classmethod
    def fit(cls, theta_deg, power) -> "MalusCalibration":
        theta = np.radians(np.asarray(theta_deg, dtype=float))
        p = np.asarray(power, dtype=float)
        if theta.size < 3:
            raise LasergenError("Malus calibration needs at least 3 (angle, power) points")
        design = np.column_stack([np.ones_like(theta), np.cos(4 * theta), np.sin(4 * theta)])
        (c0, c1, c2), *_ = np.linalg.lstsq(design, p, rcond=None)
        amp = math.hypot(c1, c2)
        theta0 = math.degrees(math.atan2(c2, c1) / 4.0) % 90.0
        residual = float(np.sqrt(np.mean((design @ np.array([c0, c1, c2]) - p) ** 2)))
        return cls(float(c0 - amp), float(c0 + amp), theta0, residual)

    def power(self, theta_deg) -> np.ndarray:
        x = 2.0 * np.radians(np.asarray(theta_deg, dtype=float) - self.theta0_deg)
        return self.p_min + (self.p_max - self.p_min) * np.cos(x) ** 2

    def angle_for(self, power: float) -> float:
        if not self.p_min - 1e-12 <= power <= self.p_max + 1e-12:
            raise LasergenError(f"{power:g} is outside the attenuator's range {self.p_min:g}..{self.p_max:g}")
        f = min(1.0, max(0.0, (power - self.p_min) / (self.p_max - self.p_min)))
        return self.theta0_deg + math.degrees(math.acos(math.sqrt(f))) / 2.0


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
