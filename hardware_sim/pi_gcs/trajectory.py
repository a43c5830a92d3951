"""A C-884 axis's point-to-point trajectory: a trapezoid from rest to rest, in time.

Each axis of a MOV runs its own profile (accelerate at ACC to VEL, cruise, decelerate at DEC,
or a triangle when the distance is too short); the axes of one MOV start together and each
stops at its own time. The move is on target once every axis has stopped and the settling
time has passed. Positions are evaluated in closed form at any time, so the emulator can
answer POS? mid-move and cut a move where a stop caught it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass


@dataclass
class AxisProfile:
    p0: float
    p1: float
    v: float
    a: float
    d: float

    def __post_init__(self):
        dist = abs(self.p1 - self.p0)
        ramp = self.v * self.v / (2 * self.a) + self.v * self.v / (2 * self.d)
        if dist >= ramp:
            self.v_peak = self.v
            self.cruise_s = (dist - ramp) / self.v
        else:
            self.v_peak = math.sqrt(2 * dist * self.a * self.d / (self.a + self.d))
            self.cruise_s = 0.0
        self.t_acc = self.v_peak / self.a
        self.t_dec = self.v_peak / self.d
        self.duration_s = self.t_acc + self.cruise_s + self.t_dec if dist > 0 else 0.0
        self.sign = 1.0 if self.p1 >= self.p0 else -1.0

    def position(self, tau: float) -> float:
        if tau <= 0 or self.duration_s == 0:
            return self.p0 if tau <= 0 else self.p1
        if tau >= self.duration_s:
            return self.p1
        if tau < self.t_acc:
            s = 0.5 * self.a * tau * tau
        elif tau < self.t_acc + self.cruise_s:
            s = 0.5 * self.a * self.t_acc ** 2 + self.v_peak * (tau - self.t_acc)
        else:
            left = self.duration_s - tau
            s = abs(self.p1 - self.p0) - 0.5 * self.d * left * left
        return self.p0 + self.sign * s


@dataclass
class Move:
    axes: dict  # axis index -> AxisProfile
    t0_s: float

    @property
    def t_end_s(self) -> float:
        return self.t0_s + max((p.duration_s for p in self.axes.values()), default=0.0)

    def moving(self, index: int, t_s: float) -> bool:
        p = self.axes.get(index)
        return p is not None and self.t0_s <= t_s < self.t0_s + p.duration_s

    def position(self, index: int, t_s: float, rest: float) -> float:
        p = self.axes.get(index)
        return rest if p is None else p.position(t_s - self.t0_s)

    def time_at_distance(self, distance_mm: float) -> float:
        """When the move has run `distance_mm` along its path (its end if it is shorter): the
        axes run straight lines in step, so the distance grows monotonically (bisection)."""
        def run(t_s: float) -> float:
            return math.sqrt(sum((p.position(t_s - self.t0_s) - p.p0) ** 2 for p in self.axes.values()))
        lo, hi = self.t0_s, self.t_end_s
        if run(hi) <= distance_mm:
            return hi
        for _ in range(60):
            mid = 0.5 * (lo + hi)
            lo, hi = (mid, hi) if run(mid) < distance_mm else (lo, mid)
        return hi

    def speed_mm_s(self) -> float:
        return math.sqrt(sum(p.v_peak ** 2 for p in self.axes.values()))
