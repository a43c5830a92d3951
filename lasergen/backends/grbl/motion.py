"""Motion timing: GRBL 1.1's planner (planner.c), vectorised.

Per block GRBL knows its length L, unit vector u in X, Y, Z, nominal speed (F, or the axis-
limited max rate for G0) and acceleration (the per-axis limits projected on u: $110-$112,
$120-$122; Z's from the profile's [grbl] z_max_rate_mm_s, z_accel_mm_s2). Between blocks it allows
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
GRBL rounds every target to motor steps ($100-$102, lround of the float32 product): a move
that rounds to no step is dropped (PLAN_EMPTY_BLOCK), and in laser mode under M3 mc_line then
synchronises the spindle (spindle_sync: the planner runs dry, the machine stops and the $1
lock is held), so such a move is a sync here too (measured on GRBL 1.1h: +28.4 ms for one
1 um G1 between two 0.4 mm/s marks, none under M4 or M5; lasergen's planner makes no such move).
Not modelled: the AVR's block-processing rate limit on very short segments, the serial
link (the sender is assumed to keep the planner full), M4/M5 around sub-step moves (taken
as M3: an armed pass's would not stop; its estimate is then a little long), the step rounding of the lengths of moving blocks and the 10 ms acceleration-tick
quantisation (< 1 % together on lasergen's jobs).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from lasergen import kernels
from lasergen.kinematics import trapezoid_times
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, RAPID, Toolpath


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


def _axis_limited(limits, ux: np.ndarray, uy: np.ndarray, uz: np.ndarray | None = None) -> np.ndarray:
    """GRBL's limit_value_by_axis_maximum: the largest value along u that respects each axis,
    min_i(limit_i / |u_i|), computed as one reciprocal (inf for a zero vector)."""
    with np.errstate(divide="ignore"):
        worst = np.maximum(np.abs(ux) * (1.0 / limits[0]), np.abs(uy) * (1.0 / limits[1]))
        if uz is not None:
            worst = np.maximum(worst, np.abs(uz) * (1.0 / limits[2]))
        return 1.0 / worst


def rates_mm_s(machine: MachineProfile) -> tuple[float, float, float]:
    """$110..$112 in mm/s."""
    return (*machine.max_rate_mm_s, machine.z_max_rate_mm_s)


def accels_mm_s2(machine: MachineProfile) -> tuple[float, float, float]:
    """$120..$122."""
    return (*machine.accel_mm_s2, machine.z_accel_mm_s2)


DWELL_STEP_S = 0.05  # GRBL's DWELL_TIME_STEP


def dwell_seconds(dwell_s) -> np.ndarray:
    """What GRBL's G4 really waits for a dwell of `dwell_s`: P as emitted (3 decimals), rounded
    up to whole 50 ms steps (delay_sec: ceil(20 P) x _delay_ms(50))."""
    steps = np.ceil(np.round(np.round(np.asarray(dwell_s, dtype=np.float64), 3) / DWELL_STEP_S, 6))
    return steps * DWELL_STEP_S


def idle_lock_s(machine: MachineProfile) -> float:
    ms = machine.stepper_idle_lock_ms
    return 0.0 if ms >= 255 else ms / 1000.0


def _stop_blocks(sync: np.ndarray) -> np.ndarray:
    """Indices of motion blocks after which the steppers run dry: before each sync, and the last."""
    n = sync.size
    return np.r_[np.flatnonzero(sync[1:]), n - 1] if n else np.zeros(0, dtype=np.int64)


CATEGORIES = 4  # time categories of a block: mark, blank, travel, plane change (estimate.py)
CHUNK_BLOCKS = 500_000  # blocks planned at once; memory stays bounded on 10^7-row jobs


def _geometry(cols: dict, machine: MachineProfile):
    """Length, unit vector (uz None where no block moves Z), nominal speed and acceleration of
    motion blocks (columns x0..y1, z0, z1, kind, speed_mm_s of those blocks)."""
    dx, dy = cols["x1"] - cols["x0"], cols["y1"] - cols["y0"]
    moves_z = "z0" in cols and bool(np.any(cols["z1"] != cols["z0"]))
    if moves_z:
        dz = cols["z1"].astype(np.float64) - cols["z0"].astype(np.float64)
        length = np.sqrt(dx * dx + dy * dy + dz * dz)
    else:
        length = np.sqrt(dx * dx + dy * dy)  # faster than np.hypot; mm-scale values cannot overflow
    ux, uy = dx / length, dy / length
    uz = dz / length if moves_z else None
    v_rapid = _axis_limited(rates_mm_s(machine), ux, uy, uz)
    v_nom = np.where(cols["kind"] == RAPID, v_rapid, np.minimum(cols["speed_mm_s"], v_rapid))
    accel = _axis_limited(accels_mm_s2(machine), ux, uy, uz)
    return length, ux, uy, uz, v_nom, accel


GEOMETRY = ("x0", "y0", "x1", "y1", "kind", "speed_mm_s", "z0", "z1")


def _block_columns(path: Toolpath, rows) -> dict:
    return {name: getattr(path, name)[rows] for name in GEOMETRY}


def _junction_sqr(ux, uy, accel_limits, deviation_mm, uz=None):
    """Squared junction speed between consecutive blocks (GRBL's junction deviation model)."""
    jx, jy = ux[1:] - ux[:-1], uy[1:] - uy[:-1]
    with np.errstate(divide="ignore", invalid="ignore"):
        if uz is None:
            cos_theta = -(ux[1:] * ux[:-1] + uy[1:] * uy[:-1])
            # _axis_limited on the unit vector j/|j|, without normalising: |j| / max(|jx|/ax, |jy|/ay)
            a_j = np.sqrt(jx * jx + jy * jy) / np.maximum(np.abs(jx) * (1.0 / accel_limits[0]),
                                                           np.abs(jy) * (1.0 / accel_limits[1]))
        else:
            cos_theta = -(ux[1:] * ux[:-1] + uy[1:] * uy[:-1] + uz[1:] * uz[:-1])
            jz = uz[1:] - uz[:-1]
            a_j = np.sqrt(jx * jx + jy * jy + jz * jz) / np.maximum(
                np.maximum(np.abs(jx) * (1.0 / accel_limits[0]), np.abs(jy) * (1.0 / accel_limits[1])),
                np.abs(jz) * (1.0 / accel_limits[2]))
        s = np.sqrt(0.5 * (1.0 - np.maximum(cos_theta, -0.999999)))
        w = a_j * deviation_mm * s / (1.0 - s)
    return np.where(cos_theta > 0.999999, 0.0, np.where(cos_theta < -0.999999, np.inf, w))


def _plan_window(cols: dict, sync: np.ndarray, k: int, K: int, at_start: bool, at_end: bool,
                 carry: float, machine: MachineProfile):
    """Plan blocks k..k+K of a window of motion blocks (the block before them, if any, at k-1,
    and up to `horizon` after): (v, length, v_nom, accel, carry), v = entry speeds of those K
    blocks plus the exit of the last. `sync` flags a synchronisation before each window block;
    `at_start`: the window starts the job (from rest); `at_end`: it ends it."""
    horizon = max(1, machine.planner_blocks - 1)
    accel_limits = accels_mm_s2(machine)
    length, ux, uy, uz, v_nom, accel = _geometry(cols, machine)
    m = length.size
    c = np.zeros(m + 1)  # c[i]: max squared entry of window block i; c[m]: exit of the window
    c[1:m] = np.minimum(_junction_sqr(ux, uy, accel_limits, machine.junction_deviation_mm, uz),
                        np.minimum(v_nom[1:], v_nom[:-1]) ** 2)
    c[1:m][sync[1:]] = 0.0
    if at_start:
        c[0] = 0.0  # the job starts from rest
    Q = np.zeros(m + 1)
    Q[1:] = np.cumsum(2 * accel * length)
    w = np.minimum.accumulate((c + Q)[::-1])[::-1] - Q  # backward pass (to the window's end)
    ahead = np.minimum(np.arange(m + 1) + horizon, m)
    w = np.minimum(w, Q[ahead] - Q)  # GRBL plans the newest buffered block to stop
    if at_end:
        w[m] = 0.0
    # forward pass over entries first..last; `carry` is min_{j<first} (w_j - (Q_j - Q_first))
    seg = slice(k, k + K + 1)
    wq = w[seg] - Q[seg]
    running = np.minimum.accumulate(np.r_[carry - Q[k], wq])[1:]
    w_seg = np.maximum(Q[seg] + running, 0.0)
    carry = running[-2] + Q[k + K]
    blk = slice(k, k + K)
    return np.sqrt(w_seg), length[blk], v_nom[blk], accel[blk], carry


def _plan_blocks(path: Toolpath, blocks: np.ndarray | None, sync: np.ndarray, machine: MachineProfile):
    """Yield (first, last, v, length, v_nom, accel) per chunk of motion blocks, v = entry speeds of
    blocks first..last plus the exit of the last. Exact: the planner horizon makes the backward
    pass local (W blocks of look-ahead), and the forward pass carries one running minimum."""
    n = sync.size
    horizon = max(1, machine.planner_blocks - 1)
    carry = np.inf
    for first in range(0, n, CHUNK_BLOCKS):
        last = min(first + CHUNK_BLOCKS, n)
        lo, hi = max(first - 1, 0), min(last + horizon, n)
        v, length, v_nom, accel, carry = _plan_window(_block_columns(path, _rows(blocks, lo, hi)), sync[lo:hi],
                                                      first - lo, last - first, lo == 0, hi == n, carry, machine)
        yield first, last, v, length, v_nom, accel


def plan_totals(cols: dict, sync: np.ndarray, k: int, K: int, at_start: bool, at_end: bool, carry: float,
                machine: MachineProfile):
    """(carry, time per category, distance per category) of blocks k..k+K of a window: the
    compiled kernel when built (`lasergen.kernels`), else `_plan_window` + trapezoids; identical.
    `cols["category"]` holds each block's category (0..CATEGORIES-1)."""
    kernel = kernels.get()
    if kernel is not None:
        names = ("x0", "y0", "x1", "y1", "kind", "speed_mm_s", "z0", "z1")
        args = [np.ascontiguousarray(cols[c]) for c in names]
        carry, t, d = kernel.plan_totals(*args, np.ascontiguousarray(sync), np.ascontiguousarray(cols["category"]),
                                         k, K, at_end, carry, *rates_mm_s(machine), *accels_mm_s2(machine),
                                         machine.junction_deviation_mm, max(1, machine.planner_blocks - 1))
        return carry, np.array(t), np.array(d)
    return plan_totals_numpy(cols, sync, k, K, at_start, at_end, carry, machine)


def plan_totals_numpy(cols, sync, k, K, at_start, at_end, carry, machine):
    v, length, v_nom, accel, carry = _plan_window(cols, sync, k, K, at_start, at_end, carry, machine)
    t = trapezoid_times(length, v[:-1], v[1:], v_nom, accel)[0]
    category = cols["category"][k:k + K]
    return (carry, np.bincount(category, weights=t, minlength=CATEGORIES),
            np.bincount(category, weights=length, minlength=CATEGORIES))


class BlockStream:
    """The same planning over motion blocks that arrive in pieces (a job read in chunks): blocks
    are buffered until a chunk of CHUNK_BLOCKS and its look-ahead are in, so the windows, and
    therefore every figure, are those of `_plan_blocks` on the whole job, in bounded memory.
    `feed(cols, sync)` and `close()` yield, per planned chunk, (time, distance) per category
    (`plan_totals`; `cols` then holds a "category" column)."""

    def __init__(self, machine: MachineProfile):
        self.machine = machine
        self.horizon = max(1, machine.planner_blocks - 1)
        self.buf: dict | None = None  # columns of blocks from `self.lo` on (block `first - 1` first)
        self.sync = np.zeros(0, dtype=bool)
        self.lo = 0
        self.first = 0
        self.carry = np.inf

    def feed(self, cols: dict, sync: np.ndarray):
        if self.buf is None:
            self.buf = cols
            self.sync = sync
        else:
            self.buf = {name: np.concatenate([self.buf[name], cols[name]]) for name in self.buf}
            self.sync = np.concatenate([self.sync, sync])
        while self.lo + self.sync.size >= self.first + CHUNK_BLOCKS + self.horizon:
            yield self._plan(self.first + CHUNK_BLOCKS, end=False)

    def close(self):
        while self.buf is not None and self.first < self.lo + self.sync.size:
            yield self._plan(min(self.first + CHUNK_BLOCKS, self.lo + self.sync.size), end=True)

    def _plan(self, last: int, end: bool):
        first, lo = self.first, self.lo
        n_known = lo + self.sync.size
        hi = min(last + self.horizon, n_known)
        window = slice(max(first - 1, 0) - lo, hi - lo)
        cols = {name: a[window] for name, a in self.buf.items()}
        k = first - max(first - 1, 0)
        self.carry, time_s, dist_mm = plan_totals(cols, self.sync[window], k, last - first, first == 0,
                                                  end and hi == n_known, self.carry, self.machine)
        keep = last - 1 - lo  # the new window starts at block last - 1
        self.buf = {name: a[keep:] for name, a in self.buf.items()}
        self.sync = self.sync[keep:]
        self.lo, self.first = last - 1, last
        return time_s, dist_mm


def _rows(blocks: np.ndarray | None, first, last=None):
    """Toolpath rows of motion blocks first..last (or of an index array), a slice when every row moves."""
    if last is None:
        return first if blocks is None else blocks[first]
    return slice(first, last) if blocks is None else blocks[first:last]


def _lround_steps(mm: np.ndarray, steps_per_mm: float) -> np.ndarray:
    """GRBL's lround(target[i] * steps_per_mm[i]) in the AVR's float32 (halves away from zero)."""
    product = np.asarray(mm, dtype=np.float32) * np.float32(steps_per_mm)
    return np.copysign(np.floor(np.abs(product) + np.float32(0.5)), product)


def stepless(path: Toolpath, machine: MachineProfile) -> np.ndarray:
    """Per row: a move GRBL drops because its ends round to the same motor steps (exact
    zero-length moves included; dwells are not moves). Only a move shorter than a step on every
    axis can be, so X picks the few candidates in one pass and only those are rounded."""
    spm = (*machine.steps_per_mm, machine.z_steps_per_mm)
    n, piece = len(path), 1 << 18  # in pieces: a cache-sized temporary, not a full-size one
    dx = np.empty(min(n, piece))
    found = []
    for a in range(0, n, piece):
        d = dx[:min(piece, n - a)]
        np.subtract(path.x1[a:a + piece], path.x0[a:a + piece], out=d)
        np.abs(d, out=d)
        found.append(np.flatnonzero(d < 1.001 / spm[0]) + a)  # a superset: the rounding below decides
    idx = np.concatenate(found) if found else np.zeros(0, np.int64)
    idx = idx[path.kind[idx] != DWELL]
    for axis, k in zip("xyz", spm):
        if idx.size:
            lo, hi = getattr(path, axis + "0")[idx], getattr(path, axis + "1")[idx]
            idx = idx[_lround_steps(lo, k) == _lround_steps(hi, k)]
    out = np.zeros(len(path), dtype=bool)
    out[idx] = True
    return out


def _motion_blocks(path: Toolpath, machine: MachineProfile, steps: bool = True):
    """Row indices of real motions (None: every row) and, per block, whether a sync (dwell,
    laser on/off, a dropped move under M3) precedes it. `steps=False`: only exact zero-length
    moves are dropped, without a sync (the emulator's executor, which does not model the stop)."""
    if steps:
        dropped = stepless(path, machine)
    else:
        dropped = np.zeros(len(path), dtype=bool)
        dropped_exact = (path.x1 == path.x0) & (path.y1 == path.y0) & (path.z1 == path.z0)
    moving = (path.kind != DWELL) & ~dropped
    if not steps:
        moving &= ~dropped_exact
    blocks = np.flatnonzero(moving)
    all_rows = blocks.size == len(path)
    if all_rows:  # every row moves (a raster job): slices, not gathers, from here on
        blocks = None
    del moving
    pass_id = path.pass_id if all_rows else path.pass_id[blocks]
    sync = np.zeros(pass_id.size, dtype=bool)
    sync[1:] = pass_id[1:] != pass_id[:-1]
    syncing = (path.kind == DWELL) | dropped
    if syncing.any():
        syncs_before = np.cumsum(syncing, dtype=np.int32)
        sync[1:] |= syncs_before[blocks[1:]] != syncs_before[blocks[:-1]]  # blocks is set: rows sync
    return blocks, sync


def durations(path: Toolpath, machine: MachineProfile) -> np.ndarray:
    """Seconds each toolpath row takes (dwells included), without keeping the full profile."""
    out = np.where(path.kind == DWELL, dwell_seconds(path.dwell_s), 0.0)
    blocks, sync = _motion_blocks(path, machine)
    for first, last, v, length, v_nom, accel in _plan_blocks(path, blocks, sync, machine):
        out[_rows(blocks, first, last)] = trapezoid_times(length, v[:-1], v[1:], v_nom, accel)[0]
    out[_rows(blocks, _stop_blocks(sync))] += idle_lock_s(machine)
    return out


def profile(path: Toolpath, machine: MachineProfile, steps: bool = True) -> MotionProfile:
    """Entry, peak and exit speed, acceleration and duration of every toolpath row (`steps`: see
    `_motion_blocks`)."""
    n_rows = len(path)
    out = MotionProfile(*(np.zeros(n_rows) for _ in range(5)))
    out.duration_s[:] = np.where(path.kind == DWELL, dwell_seconds(path.dwell_s), 0.0)
    blocks, sync = _motion_blocks(path, machine, steps)
    for first, last, v, length, v_nom, accel in _plan_blocks(path, blocks, sync, machine):
        rows = _rows(blocks, first, last)
        t, v_peak = trapezoid_times(length, v[:-1], v[1:], v_nom, accel)
        out.v_entry[rows], out.v_exit[rows], out.v_peak[rows], out.accel[rows], out.duration_s[rows] = \
            v[:-1], v[1:], v_peak, accel, t
    out.duration_s[_rows(blocks, _stop_blocks(sync))] += idle_lock_s(machine)
    return out


def estimate(path: Toolpath, machine: MachineProfile) -> dict:
    """Job totals: time split into writing, blank moves, travel and dwell; distances; counts
    (`estimate.JobEstimate` fed the whole toolpath at once)."""
    from lasergen.backends.grbl.estimate import JobEstimate

    job = JobEstimate(machine)
    job.feed(path)
    return job.result()
