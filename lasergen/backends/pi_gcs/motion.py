"""Motion timing of a C-884 job: point to point, one trapezoid per move, host round trips.

The controller has no look-ahead: every MOV starts and ends at rest (the host sends the next
one only after on-target), so each row is a trapezoid (or triangle) from 0 to 0 at the move's
speed and acceleration, both limited per axis along its direction (a diagonal gets each axis's
VEL/ACC scaled by its share, so the move is straight); Z (the profile's z_max_rate_mm_s and
z_accel_mm_s2) counts like X and Y, a move between planes being a Z move alone. On top of the trajectory:
  settle_ms            the controller reports on-target only once the position has stayed in
                       its window (the settling time) after the trajectory ends
  command_overhead_ms  the host's round trip per row: the command, `ERR?`, the on-target poll
  gate latency         a mark waits for the gate to close before the next move (a shutter's
                       milliseconds; a pulse picker's microseconds); a dot's macro waits it too
  dwell                the dot macro's DEL counts whole milliseconds
  attenuator           each change of pulse energy turns the plate ([beam.attenuator] move_s)
This is the controller's real behaviour for lasergen's command stream, not a model of a
queue: what the estimate leaves out is the servo's overshoot and the serial link's own jitter.
"""

from __future__ import annotations

import numpy as np

from lasergen.kinematics import MotionProfile, axis_limited, trapezoid_times
from lasergen.toolpath import DWELL, RAPID, Toolpath

MARK, BLANK, TRAVEL = 0, 1, 2


def _fixed_costs_s(machine) -> tuple[float, float, float]:
    settle = machine.settle_ms / 1000.0
    overhead = machine.command_overhead_ms / 1000.0
    latency = machine.gate_latency_ms / 1000.0
    return settle, overhead, latency


def _trajectory(path: Toolpath, machine):
    dx, dy, dz = path.x1 - path.x0, path.y1 - path.y0, path.dz_mm
    length = np.sqrt(dx * dx + dy * dy + dz * dz)
    with np.errstate(divide="ignore", invalid="ignore"):
        ux, uy, uz = (np.where(length > 0, d / length, 0.0) for d in (dx, dy, dz))
    rates = (*machine.max_rate_mm_s, machine.z_max_rate_mm_s)
    accels = (*machine.accel_mm_s2, machine.z_accel_mm_s2)
    v_max = axis_limited(rates, ux, uy, uz)
    v_nom = np.where(path.kind == RAPID, v_max, np.minimum(path.speed_mm_s, v_max))
    accel = axis_limited(accels, ux, uy, uz)
    moving = (path.kind != DWELL) & (length > 0)
    v_nom = np.where(moving, v_nom, 1.0)
    accel = np.where(moving, accel, 1.0)
    t, v_peak = trapezoid_times(np.where(moving, length, 0.0), 0.0, 0.0, v_nom, accel)
    return length, np.where(moving, t, 0.0), np.where(moving, v_peak, 0.0), np.where(moving, accel, 0.0), moving


def energy_changes(path: Toolpath, machine) -> np.ndarray:
    """Rows before which the attenuator turns (a mark whose energy differs from the last set)."""
    out = np.zeros(len(path), dtype=bool)
    if machine.energy_mode != "attenuator" or not len(path):
        return out
    marks = np.flatnonzero(path.is_mark)
    if marks.size:
        e = path.energy_uJ[marks]
        out[marks[np.r_[True, e[1:] != e[:-1]]]] = True
    return out


def durations(path: Toolpath, machine) -> np.ndarray:
    """Seconds each toolpath row takes, host round trip and gate included."""
    settle, overhead, latency = _fixed_costs_s(machine)
    length, t, _, _, moving = _trajectory(path, machine)
    dwell = path.kind == DWELL
    out = t + np.where(moving, settle, 0.0) + overhead
    latency_whole_ms = np.ceil(machine.gate_latency_ms - 1e-9) / 1000.0
    out += np.where(dwell, np.round(path.dwell_s.astype(np.float64), 3) + latency_whole_ms, 0.0)
    out += np.where(path.is_mark & ~dwell, latency, 0.0)
    out += energy_changes(path, machine) * machine.attenuator_settings.get("move_s", 0.0)
    return out


def profile(path: Toolpath, machine) -> MotionProfile:
    """Entry and exit speeds are 0 for every move: the controller stops at each target."""
    length, t, v_peak, accel, moving = _trajectory(path, machine)
    zeros = np.zeros(len(path))
    duration = np.where(path.kind == DWELL, np.round(path.dwell_s.astype(np.float64), 3), t)
    return MotionProfile(zeros, v_peak, zeros.copy(), accel, duration)


def estimate(path: Toolpath, machine) -> dict:
    """The same totals as every back-end's estimate, from this controller's timing."""
    marks = path.is_mark
    dwell = path.kind == DWELL
    rapid = path.kind == RAPID
    length = path.length_mm
    row_s = durations(path, machine)
    category = np.where(rapid, TRAVEL, np.where(marks, MARK, BLANK))
    move_s = np.where(dwell, 0.0, row_s)
    time_s = np.bincount(category[~dwell], weights=move_s[~dwell], minlength=3)
    dist_mm = np.bincount(category[~dwell], weights=length[~dwell], minlength=3)
    plane = rapid & (path.z1 != path.z0) & (path.x1 == path.x0) & (path.y1 == path.y0)  # Z alone, between planes
    dwell_time_s = float(row_s[dwell].sum())
    return {
        "time_s": float(row_s.sum()),
        "mark_time_s": float(time_s[MARK]),
        "dwell_time_s": dwell_time_s,
        "travel_time_s": float(time_s[TRAVEL]),
        "z_travel_time_s": float(row_s[plane].sum()),
        "z_travel_mm": float(length[plane].sum()),
        "mark_z_range_mm": list(path.z_range_mm(marks_only=True)),
        "blank_time_s": float(time_s[BLANK]),
        "distance_mm": float(dist_mm.sum()),
        "mark_count": int(marks.sum()),
        "dot_count": int((marks & dwell).sum()),
        "line_count": int((marks & ~dwell).sum()),
        "mark_length_mm": float(dist_mm[MARK]),
        "travel_mm": float(dist_mm[BLANK] + dist_mm[TRAVEL]),
        "passes": path.pass_count(),
        "bounds_mm": list(path.mark_bounds_mm()),
        "moves": int((~dwell).sum()),
    }
