"""Motion timing: GRBL 1.1's planner (planner.c), vectorised.

Per block GRBL knows its length L, unit vector u, nominal speed (F, or the axis-limited max
rate for G0) and acceleration (the per-axis limits projected on u). Between blocks it allows
a junction speed from the junction-deviation model
    v_j^2 = a_j * delta * s / (1 - s),  s = sin(theta/2),
capped by both blocks' nominal speeds; straight joints keep full speed and reversals stop.
It then plans squared entry speeds w with a backward pass (w_i <= w_{i+1} + 2 a_i L_i) and
a forward pass (w_{i+1} <= w_i + 2 a_i L_i). Both recurrences are solved in closed form here:
with prefix sums Q_i = sum_{k<i} 2 a_k L_k,
    backward  w_i = min_{j>=i} (c_j + Q_j) - Q_i     (a reverse cumulative minimum)
    forward   w_i = Q_i + min_{j<=i} (w_j - Q_j)     (a cumulative minimum)
GRBL plans only what is in its buffer (15 blocks, one executing) and always plans the newest
block to stop, so an entry can be no faster than stopping within the next `planner_blocks-1`
blocks allows: w_i <= Q_{i+W} - Q_i. Dwells and M3/M5 changes synchronise (speed 0).
Each block is then a trapezoid (or triangle). Two firmware costs outside the planner are
added, as measured on GRBL 1.1h's own code: every time the steppers run dry (each sync after
motion, and the job's end) st_go_idle() blocks for the $1 stepper idle lock (25 ms by
default; none with $1=255), charged to the move that stopped; and G4 sleeps in whole 50 ms
steps (DWELL_TIME_STEP), so a dwell lasts ceil(P/0.05) x 50 ms of the emitted P.
Not modelled: the AVR's block-processing rate limit on very short segments, the serial
link (the sender is assumed to keep the planner full), the step quantisation of block
lengths and the 10 ms acceleration-tick quantisation (< 1 % together on lasergen's jobs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .machine import MachineProfile
from .toolpath import DWELL, RAPID, Toolpath


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


def _axis_limited(limits: np.ndarray, ux: np.ndarray, uy: np.ndarray) -> np.ndarray:
    """GRBL's limit_value_by_axis_maximum: the largest value along u that respects each axis."""
    with np.errstate(divide="ignore"):
        lx = np.where(np.abs(ux) > 1e-12, limits[0] / np.abs(ux), np.inf)
        ly = np.where(np.abs(uy) > 1e-12, limits[1] / np.abs(uy), np.inf)
    return np.minimum(lx, ly)


IDLE_LOCK_MS = 25.0  # GRBL's $1 default; a profile may set `stepper_idle_lock_ms` (255 = none)
DWELL_STEP_S = 0.05  # GRBL's DWELL_TIME_STEP


def dwell_seconds(dwell_s) -> np.ndarray:
    """What GRBL's G4 really waits for a dwell of `dwell_s`: P as emitted (3 decimals), rounded
    up to whole 50 ms steps (delay_sec: ceil(20 P) x _delay_ms(50))."""
    steps = np.ceil(np.round(np.round(np.asarray(dwell_s, dtype=np.float64), 3) / DWELL_STEP_S, 6))
    return steps * DWELL_STEP_S


def idle_lock_s(machine: MachineProfile) -> float:
    ms = float(getattr(machine, "stepper_idle_lock_ms", IDLE_LOCK_MS))
    return 0.0 if ms >= 255 else ms / 1000.0


def _stop_blocks(sync: np.ndarray) -> np.ndarray:
    """Indices of motion blocks after which the steppers run dry: before each sync, and the last."""
    n = sync.size
    return np.r_[np.flatnonzero(sync[1:]), n - 1] if n else np.zeros(0, dtype=np.int64)


def trapezoid_times(length, v0, v1, v_nominal, accel):
    """Duration and peak speed of moves of `length` from v0 to v1 under v_nominal and accel."""
    v_peak = np.sqrt(np.minimum(v_nominal ** 2, (2 * accel * length + v0 ** 2 + v1 ** 2) / 2))
    v_peak = np.maximum(v_peak, np.maximum(v0, v1))
    d_ramp = (2 * v_peak ** 2 - v0 ** 2 - v1 ** 2) / (2 * accel)
    with np.errstate(divide="ignore", invalid="ignore"):
        cruise = np.where(v_peak > 0, np.maximum(length - d_ramp, 0.0) / v_peak, 0.0)
    return (2 * v_peak - v0 - v1) / accel + cruise, v_peak


def profile(path: Toolpath, machine: MachineProfile) -> MotionProfile:
    n_rows = len(path)
    dx, dy = path.x1 - path.x0, path.y1 - path.y0
    length = np.hypot(dx, dy)
    moving = (path.kind != DWELL) & (length > 1e-9)
    idx = np.flatnonzero(moving)
    n = idx.size
    out = MotionProfile(*(np.zeros(n_rows) for _ in range(5)))
    out.duration_s[:] = np.where(path.kind == DWELL, dwell_seconds(path.dwell_s), 0.0)
    if n == 0:
        return out

    L = length[idx]
    ux, uy = dx[idx] / L, dy[idx] / L
    max_rate = np.asarray(machine.max_rate_mm_s)
    accel_lim = np.asarray(machine.accel_mm_s2)
    v_rapid = _axis_limited(max_rate, ux, uy)
    rapid = path.kind[idx] == RAPID
    v_nom = np.where(rapid, v_rapid, np.minimum(path.speed_mm_s[idx], v_rapid))
    a = _axis_limited(accel_lim, ux, uy)

    # junction speeds (entry of block i from block i-1)
    cos_theta = -(ux[1:] * ux[:-1] + uy[1:] * uy[:-1])
    jx, jy = ux[1:] - ux[:-1], uy[1:] - uy[:-1]
    jn = np.hypot(jx, jy)
    with np.errstate(divide="ignore", invalid="ignore"):
        a_j = _axis_limited(accel_lim, jx / np.where(jn > 0, jn, 1), jy / np.where(jn > 0, jn, 1))
        s = np.sqrt(0.5 * (1.0 - np.maximum(cos_theta, -0.999999)))
        w_j = a_j * machine.junction_deviation_mm * s / (1.0 - s)
    w_j = np.where(cos_theta > 0.999999, 0.0, np.where(cos_theta < -0.999999, np.inf, w_j))
    c = np.zeros(n + 1)
    c[1:n] = np.minimum(w_j, np.minimum(v_nom[1:], v_nom[:-1]) ** 2)

    # synchronisation points: a dwell between blocks, or a laser on/off (pass change)
    dwell_before = np.zeros(n_rows + 1, dtype=np.int64)
    dwell_before[1:] = np.cumsum(path.kind == DWELL)
    sync = (dwell_before[idx[1:]] != dwell_before[idx[:-1]]) | (path.pass_id[idx[1:]] != path.pass_id[idx[:-1]])
    c[1:n][sync] = 0.0

    Q = np.zeros(n + 1)
    Q[1:] = np.cumsum(2 * a * L)
    w = np.minimum.accumulate((c + Q)[::-1])[::-1] - Q  # backward pass
    window = max(1, machine.planner_blocks - 1)
    w = np.minimum(w, Q[np.minimum(np.arange(n + 1) + window, n)] - Q)  # buffer horizon
    w = Q + np.minimum.accumulate(w - Q)  # forward pass
    w = np.maximum(w, 0.0)
    w[0] = w[n] = 0.0
    v = np.sqrt(w)

    t, v_peak = trapezoid_times(L, v[:-1], v[1:], v_nom, a)
    out.v_entry[idx], out.v_exit[idx], out.v_peak[idx], out.accel[idx] = v[:-1], v[1:], v_peak, a
    out.duration_s[idx] = t
    out.duration_s[idx[_stop_blocks(np.r_[False, sync])]] += idle_lock_s(machine)
    return out


def estimate(path: Toolpath, machine: MachineProfile) -> dict:
    """Job totals: time split into writing, blank moves, travel and dwell; distances; counts."""
    prof = profile(path, machine)
    marks = path.is_mark
    rapid = path.kind == RAPID
    dwell = path.kind == DWELL
    stats = path.stats()
    return {
        "time_s": prof.total_s,
        "mark_time_s": float(prof.duration_s[marks & ~dwell].sum()),
        "dwell_time_s": float(prof.duration_s[dwell].sum()),
        "travel_time_s": float(prof.duration_s[rapid].sum()),
        "blank_time_s": float(prof.duration_s[~marks & ~rapid & ~dwell].sum()),
        "distance_mm": float(path.length_mm.sum()),
        "mark_count": stats["marks"],
        "dot_count": stats["dots"],
        "line_count": stats["line_marks"],
        "mark_length_mm": stats["mark_length_mm"],
        "travel_mm": stats["travel_mm"],
        "passes": stats["passes"],
        "bounds_mm": list(path.mark_bounds_mm()),
    }
