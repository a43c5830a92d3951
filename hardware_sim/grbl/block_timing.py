"""Timing of the block GRBL starts next, over the few blocks its planner holds, in plain floats.

The emulator times each block as it starts from what GRBL's planner sees then: the block
before it, itself and the blocks queued behind it (2 to 17 blocks). That is
`lasergen.backends.grbl.motion.profile(..., steps=False)` on those blocks (junction
deviation, backward and forward passes under the planner horizon, trapezoids, the stepper
idle lock on the last block; GRBL's stop on a move of no motor step is not modelled by the
emulator yet, as in the batch path); numpy's cost per call dominates at that size (about 0.4 ms a block, most of the
emulator's time per line). `block_timing` does the same arithmetic operation for operation
on Python floats (IEEE doubles: +, -, *, / and sqrt round alike, and the inputs are cast as
a Toolpath casts them: speed and Z to float32), so its figures are those of `profile`
bit for bit (tested on random windows); a window it does not cover (a block of zero length)
goes to `profile` itself.
"""

from __future__ import annotations

from math import inf, sqrt

import numpy as np

from lasergen.backends.grbl.motion import accels_mm_s2, idle_lock_s, profile, rates_mm_s
from lasergen.toolpath import LINE, RAPID, Toolpath

COS_STRAIGHT = 0.999999  # planner.c's junction thresholds (the same constants as motion.py)


class BlockTimer:
    def __init__(self, machine):
        self.machine = machine
        rates, accels = rates_mm_s(machine), accels_mm_s2(machine)
        self.inv_rate = tuple(1.0 / r for r in rates)
        self.inv_accel = tuple(1.0 / a for a in accels)
        self.deviation_mm = machine.junction_deviation_mm
        self.horizon = max(1, machine.planner_blocks - 1)
        self.idle_lock_s = idle_lock_s(machine)

    def timing(self, window: list, first: int) -> tuple:
        """(v_entry, v_peak, v_exit, accel, duration_s) of window[first] (blocks with start, end,
        rapid, feed_mm_s), as `profile` of the window gives them."""
        fast = self._timing(window, first)
        return fast if fast is not None else self._profiled(window, first)

    def _profiled(self, window, first):
        path = Toolpath.from_columns(
            kind=[RAPID if b.rapid else LINE for b in window],
            x0=[b.start[0] for b in window], y0=[b.start[1] for b in window],
            x1=[b.end[0] for b in window], y1=[b.end[1] for b in window],
            z0=[b.start[2] for b in window], z1=[b.end[2] for b in window],
            speed_mm_s=[b.feed_mm_s for b in window], energy_uJ=[b.power_s for b in window])
        prof = profile(path, self.machine, steps=False)  # what the emulator has planned with (motion.py)
        return (float(prof.v_entry[first]), float(prof.v_peak[first]), float(prof.v_exit[first]),
                float(prof.accel[first]), float(prof.duration_s[first]))

    def _timing(self, window, first):
        geometry = []
        for b in window:
            g = b.geometry
            if g is None:
                g = b.geometry = self._geometry(b)
            if g is False:
                return None  # zero length (or not a number): profile's own handling
            geometry.append(g)
        m = len(window)
        c = [0.0] * (m + 1)  # c[0]: the window starts from rest; c[m]: it ends at rest
        for i in range(1, m):
            b = window[i]
            if b.entry_after is not window[i - 1]:
                b.entry_after, b.entry_sqr = window[i - 1], self._entry_sqr(geometry[i - 1], geometry[i])
            c[i] = b.entry_sqr
        q = [0.0] * (m + 1)
        total = 0.0
        for i in range(m):
            total += geometry[i][6]
            q[i + 1] = total
        # backward pass down to first + 1 (the entries the block needs), then the horizon:
        # the newest buffered block is planned to stop
        horizon = self.horizon
        low = inf
        w = [0.0] * (first + 2)
        for i in range(m, -1, -1):
            low = min(low, c[i] + q[i])
            if i <= first + 1:
                w[i] = 0.0 if i == m else min(low - q[i], q[min(i + horizon, m)] - q[i])
        low = inf
        v = [0.0] * (first + 2)
        for i in range(first + 2):  # forward pass
            low = min(low, w[i] - q[i])
            v[i] = sqrt(max(q[i] + low, 0.0))
        d, _, _, _, vn, a, _, _ = geometry[first]
        v0, v1 = v[first], v[first + 1]
        v_peak = sqrt(min(vn * vn, (2 * a * d + v0 * v0 + v1 * v1) / 2))
        v_peak = max(v_peak, max(v0, v1))
        d_ramp = (2 * (v_peak * v_peak) - v0 * v0 - v1 * v1) / (2 * a)
        cruise = max(d - d_ramp, 0.0) / v_peak if v_peak > 0 else 0.0
        duration = (2 * v_peak - v0 - v1) / a + cruise
        if first == m - 1:
            duration += self.idle_lock_s  # the steppers run dry after the window's last block
        return v0, v_peak, v1, a, duration

    def _geometry(self, b):
        """(length, ux, uy, uz, nominal speed, acceleration, 2 a L, moves Z) of one block, or
        False. A block that does not move Z has the same figures whether its window moves Z
        or not (its dz is an exact 0), so they are the block's own and kept on it."""
        f32 = np.float32
        z0, z1 = float(f32(b.start[2])), float(f32(b.end[2]))
        dx, dy = float(b.end[0]) - float(b.start[0]), float(b.end[1]) - float(b.start[1])
        ir0, ir1, ir2 = self.inv_rate
        ia0, ia1, ia2 = self.inv_accel
        moves_z = z1 != z0
        if moves_z:
            dz = z1 - z0
            d = sqrt(dx * dx + dy * dy + dz * dz)
        else:
            d = sqrt(dx * dx + dy * dy)
        speed = float(f32(b.feed_mm_s))
        if not d > 0.0 or d == inf or speed != speed:
            return False
        x, y = dx / d, dy / d
        zz = dz / d if moves_z else 0.0
        worst_rate, worst_accel = max(abs(x) * ir0, abs(y) * ir1), max(abs(x) * ia0, abs(y) * ia1)
        if moves_z:
            worst_rate, worst_accel = max(worst_rate, abs(zz) * ir2), max(worst_accel, abs(zz) * ia2)
        v_rapid = 1.0 / worst_rate
        accel = 1.0 / worst_accel
        return d, x, y, zz, v_rapid if b.rapid else min(speed, v_rapid), accel, 2 * accel * d, moves_z

    def _entry_sqr(self, g0, g1):
        """The squared entry speed the junction of two blocks allows: junction deviation
        (motion.py's `_junction_sqr`), capped by both nominal speeds."""
        nominal = min(g1[4], g0[4])
        return min(self._junction_sqr(g0, g1), nominal * nominal)

    def _junction_sqr(self, g0, g1):
        _, x0, y0, z0, _, _, _, zmove0 = g0
        _, x1, y1, z1, _, _, _, zmove1 = g1
        jx, jy = x1 - x0, y1 - y0
        three_d = zmove0 or zmove1  # else both uz are 0: the 2-D figures are the 3-D ones
        if three_d:
            cos_theta = -(x1 * x0 + y1 * y0 + z1 * z0)
        else:
            cos_theta = -(x1 * x0 + y1 * y0)
        if cos_theta > COS_STRAIGHT:
            return 0.0
        if cos_theta < -COS_STRAIGHT:
            return inf
        ia0, ia1, ia2 = self.inv_accel
        if three_d:
            jz = z1 - z0
            a_j = sqrt(jx * jx + jy * jy + jz * jz) / max(max(abs(jx) * ia0, abs(jy) * ia1), abs(jz) * ia2)
        else:
            a_j = sqrt(jx * jx + jy * jy) / max(abs(jx) * ia0, abs(jy) * ia1)
        s = sqrt(0.5 * (1.0 - max(cos_theta, -COS_STRAIGHT)))
        return a_j * self.deviation_mm * s / (1.0 - s)
