"""GRBL 1.1's dynamic laser power (M4 in laser mode), on the stepper's own segment clock.

Under M4 the stepper sets the laser PWM once per step segment, from S x (speed / programmed
rate), the speed being the one the segment ends at (stepper.c: `is_pwm_rate_adjusted`). A
block's segments last one acceleration tick each (1 / ACCELERATION_TICKS_PER_SECOND, 10 ms,
counted from the block's start; a segment that meets a ramp junction runs on across it, the
last one of the block is shorter). So a move at constant speed fires at one level all along,
and a ramp is a staircase of levels, one step per tick.

`pieces` cuts one executed move (its trapezoid (v_entry, v_peak, v_exit, accel, length), run
up to `done_mm`) into consecutive pieces of constant power: each tick is a piece, and
neighbouring pieces of the same power (the cruise) are joined. Each piece carries its own part
of the trapezoid (v_start, v_peak, v_end, accel), which is again a trapezoid, so the glass
model reads it as it reads any move. A move cut short (hold, reset, alarm) keeps the level of
the segment it stopped in: GRBL loaded that segment's PWM when the segment began.
Not modelled: the 8-bit PWM quantisation, $31 (the minimum level), feed overrides and GRBL's
longer segments at speeds so low that one tick would make no step.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property
from math import sqrt

ACCELERATION_TICKS_PER_SECOND = 100  # GRBL's config.h
TICK_S = 1.0 / ACCELERATION_TICKS_PER_SECOND
EDGE_S = 1e-9  # a tick boundary this close to the move's end is its end
SAME_RATE = 1e-9  # relative: speeds this close to the programmed rate are at it


@dataclass(frozen=True)
class Trapezoid:
    """A move's velocity profile: accelerate, cruise, decelerate (speeds in mm/s)."""
    v_entry: float
    v_peak: float
    v_exit: float
    accel: float
    length_mm: float

    @cached_property
    def ramps(self) -> tuple[float, float, float, float]:
        """(time accelerating, distance accelerating, time cruising, distance cruising)."""
        v0, vp, v1, a = self.v_entry, self.v_peak, self.v_exit, self.accel
        if a <= 0 or vp <= 0:
            return 0.0, 0.0, (self.length_mm / vp if vp > 0 else 0.0), self.length_mm
        s_up, s_down = (vp * vp - v0 * v0) / (2 * a), (vp * vp - v1 * v1) / (2 * a)
        s_cruise = max(self.length_mm - s_up - s_down, 0.0)
        return (vp - v0) / a, s_up, s_cruise / vp, s_cruise

    @cached_property
    def duration_s(self) -> float:
        t_up, _, t_cruise, _ = self.ramps
        tail = (self.v_peak - self.v_exit) / self.accel if self.accel > 0 else 0.0
        return t_up + t_cruise + tail

    def speed_at(self, t_s: float) -> float:
        t_up, _, t_cruise, _ = self.ramps
        if t_s < t_up - EDGE_S:  # a tick that ends on a ramp junction ends at its speed
            return self.v_entry + self.accel * t_s
        if t_s <= t_up + t_cruise + EDGE_S or self.accel <= 0:
            return self.v_peak
        if t_s >= self.duration_s - EDGE_S:  # the block's end: exactly its exit speed, as stepper.c sets it
            return self.v_exit
        return max(self.v_peak - self.accel * (t_s - t_up - t_cruise), self.v_exit)

    def distance_at(self, t_s: float) -> float:
        t_up, s_up, t_cruise, s_cruise = self.ramps
        if t_s < t_up:
            return self.v_entry * t_s + 0.5 * self.accel * t_s * t_s
        if t_s <= t_up + t_cruise or self.accel <= 0:
            return min(s_up + self.v_peak * (t_s - t_up), self.length_mm)
        tau = t_s - t_up - t_cruise
        return min(s_up + s_cruise + self.v_peak * tau - 0.5 * self.accel * tau * tau, self.length_mm)

    def time_at(self, s_mm: float) -> float:
        """When the move has travelled s_mm (the inverse of `distance_at`)."""
        v0, vp, a = self.v_entry, self.v_peak, self.accel
        t_up, s_up, t_cruise, s_cruise = self.ramps
        if a <= 0:
            return s_mm / vp if vp > 0 else 0.0
        if s_mm < s_up:
            return (sqrt(v0 * v0 + 2 * a * s_mm) - v0) / a
        if s_mm <= s_up + s_cruise:
            return t_up + (s_mm - s_up) / vp
        s_down = min(s_mm - s_up - s_cruise, (vp * vp - self.v_exit ** 2) / (2 * a))
        return t_up + t_cruise + (vp - sqrt(max(vp * vp - 2 * a * s_down, 0.0))) / a


@dataclass(frozen=True)
class Piece:
    """Part of a move at one power: from t0_s to t1_s and s0_mm to s1_mm after the move's start."""
    t0_s: float
    t1_s: float
    s0_mm: float
    s1_mm: float
    kinematics: tuple  # (v_start, v_peak, v_end, accel) of this part of the trapezoid
    power_s: float     # S x speed / programmed rate


def ratio_of(speed_mm_s: float, programmed_mm_s: float) -> float:
    """speed / programmed rate; within SAME_RATE of 1 it is 1 (the planner's round-off in
    junction speeds is far below the PWM's 8-bit step: GRBL fires such a segment at S)."""
    if programmed_mm_s <= 0:
        return 1.0
    ratio = speed_mm_s / programmed_mm_s
    return 1.0 if abs(ratio - 1.0) <= SAME_RATE else ratio


def at_programmed_rate(v_entry: float, v_peak: float, v_exit: float, programmed_mm_s: float) -> bool:
    """A move that runs at its programmed rate throughout (round-off aside): it fires at S."""
    return all(ratio_of(v, programmed_mm_s) == 1.0 for v in (v_entry, v_peak, v_exit))


def pieces(profile: Trapezoid, done_mm: float, power_s: float, programmed_mm_s: float,
           same=lambda a, b: a == b) -> list[Piece]:
    """The constant-power pieces of `profile` run up to done_mm, at S=power_s over the block's
    programmed rate. `same(a, b)` says when two levels deliver the same (joined into one piece)."""
    t_full = profile.duration_s
    t_done = t_full if done_mm >= profile.length_mm else profile.time_at(done_mm)
    t_up, _, t_cruise, _ = profile.ramps
    a = profile.accel
    out: list[Piece] = []
    t0, s0, v0 = 0.0, 0.0, profile.v_entry
    k = 1
    while True:
        t1 = k * TICK_S
        last = t1 >= t_done - EDGE_S
        level = power_s * ratio_of(profile.speed_at(min(t1, t_full)), programmed_mm_s)
        if last:
            t1 = t_done
        s1 = done_mm if last else profile.distance_at(t1)
        v1 = profile.speed_at(t1)
        v_peak = profile.v_peak if (t0 <= t_up + t_cruise and t1 >= t_up) else max(v0, v1)
        if out and same(out[-1].power_s, level):
            p = out[-1]
            out[-1] = Piece(p.t0_s, t1, p.s0_mm, s1, (p.kinematics[0], max(p.kinematics[1], v_peak), v1, a), p.power_s)
        else:
            out.append(Piece(t0, t1, s0, s1, (v0, v_peak, v1, a), level))
        if last:
            return out
        t0, s0, v0 = t1, s1, v1
        # every tick that ends in the cruise fires at its level: go straight to the last of them
        k = max(k + 1, int((t_up + t_cruise) / TICK_S)) if t1 >= t_up else k + 1


def level_at(profile: Trapezoid, t_s: float, power_s: float, programmed_mm_s: float) -> float:
    """The PWM level (as S) of the segment the move is in t_s after its start."""
    t_full = profile.duration_s
    tick_end = min((int(min(t_s, t_full) / TICK_S) + 1) * TICK_S, t_full)
    return power_s * ratio_of(profile.speed_at(tick_end), programmed_mm_s)
