"""Kinematics every controller shares: a straight move under a speed limit and a constant
acceleration (a trapezoid, or a triangle when the move is too short to reach its speed).

Controller-specific motion models (GRBL's look-ahead planner, a PI controller's
point-to-point profile) live with their back-ends and build on this.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


def trapezoid_times(length, v0, v1, v_nominal, accel):
    """Duration and peak speed of moves of `length` from v0 to v1 under v_nominal and accel."""
    v_peak = np.sqrt(np.minimum(v_nominal ** 2, (2 * accel * length + v0 ** 2 + v1 ** 2) / 2))
    v_peak = np.maximum(v_peak, np.maximum(v0, v1))
    d_ramp = (2 * v_peak ** 2 - v0 ** 2 - v1 ** 2) / (2 * accel)
    with np.errstate(divide="ignore", invalid="ignore"):
        cruise = np.where(v_peak > 0, np.maximum(length - d_ramp, 0.0) / v_peak, 0.0)
    return (2 * v_peak - v0 - v1) / accel + cruise, v_peak


@dataclass
class MotionProfile:
    """Per toolpath row: entry, peak and exit speed (mm/s), acceleration (mm/s^2), duration (s)."""
    v_entry: np.ndarray
    v_peak: np.ndarray
    v_exit: np.ndarray
    accel: np.ndarray
    duration_s: np.ndarray

    @property
    def total_s(self) -> float:
        return float(self.duration_s.sum())


def axis_limited(limits, ux: np.ndarray, uy: np.ndarray, uz: np.ndarray | None = None) -> np.ndarray:
    """The largest value along the unit vector u that respects each axis's limit,
    min_i(limit_i / |u_i|) (inf for a zero vector); Z counts when `uz` is given."""
    with np.errstate(divide="ignore"):
        worst = np.maximum(np.abs(ux) * (1.0 / limits[0]), np.abs(uy) * (1.0 / limits[1]))
        if uz is not None:
            worst = np.maximum(worst, np.abs(uz) * (1.0 / limits[2]))
        return 1.0 / worst
