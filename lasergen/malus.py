"""Pulse energy through a half-wave plate and a polariser (Malus's law), and its calibration.

A half-wave plate at angle theta turns the polarisation by 2*theta, so the energy through the
polariser is
    E(theta) = Emin + (Emax - Emin) * cos^2(2 (theta - theta0)).
Calibration: measured (theta, E) pairs. Since cos^2(x) = (1 + cos 2x) / 2, the model is linear
in (1, cos 4theta, sin 4theta): E = c0 + c1 cos 4theta + c2 sin 4theta, solved by least squares;
then A = hypot(c1, c2), theta0 = atan2(c2, c1) / 4, Emin = c0 - A, Emax = c0 + A.
Inverse (to set an energy): theta = theta0 + arccos(sqrt((E - Emin) / (Emax - Emin))) / 2, the
branch within 45 degrees above theta0. The driver sets the plate with it; the rig emulator
turns the plate's angle back into the energy at the sample with the same model. A calibration
from power-meter readings (`lasergen calibrate attenuator`) also records the range of energies
its readings covered (`calibrated_uJ`), and `angle_for` refuses energies outside it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lasergen import LasergenError


@dataclass(frozen=True)
class MalusCalibration:
    p_min: float
    p_max: float
    theta0_deg: float
    rms_residual: float = 0.0
    calibrated_uJ: tuple[float, float] | None = None  # the range the readings covered: others are refused

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

    @classmethod
    def from_profile(cls, machine) -> "MalusCalibration":
        """The calibration a machine profile's [beam.attenuator] table records."""
        att = machine.attenuator_settings
        calibrated = att.get("calibrated_uJ")
        return cls(att["p_min_uJ"], att["p_max_uJ"], att["theta0_deg"], att.get("rms_residual_uJ") or 0.0,
                   tuple(calibrated) if calibrated else None)

    def power(self, theta_deg) -> np.ndarray:
        x = 2.0 * np.radians(np.asarray(theta_deg, dtype=float) - self.theta0_deg)
        return self.p_min + (self.p_max - self.p_min) * np.cos(x) ** 2

    def angle_for(self, power: float) -> float:
        if self.calibrated_uJ is not None:
            low, high = self.calibrated_uJ
            if not low - 1e-9 <= power <= high + 1e-9:
                raise LasergenError(f"{power:g} uJ is outside the attenuator's calibrated range {low:g}..{high:g} uJ "
                                    f"(recalibrate with `lasergen calibrate attenuator` to reach it)")
        if not self.p_min - 1e-12 <= power <= self.p_max + 1e-12:
            raise LasergenError(f"{power:g} is outside the attenuator's range {self.p_min:g}..{self.p_max:g}")
        f = min(1.0, max(0.0, (power - self.p_min) / (self.p_max - self.p_min)))
        return self.theta0_deg + math.degrees(math.acos(math.sqrt(f))) / 2.0
