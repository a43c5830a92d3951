"""GRBL's planner queue and stepper, executed on a simulated clock.

Blocks wait in a queue of 15 (BLOCK_BUFFER_SIZE 16, one slot kept free); the block being
executed still counts, as in planner.c, so `Bf:` reports 15 minus everything not yet done.
When a block starts, its duration comes from `lasergen.backends.grbl.motion.profile` over what
GRBL's planner sees at that moment (the block before it, itself and the blocks queued behind
it; computed in plain floats by `block_timing`, bit for bit the same): trapezoids with
junction-deviation corner speeds, so the clock follows GRBL's look-ahead.

Laser (laser mode $32=1, DISABLE_LASER_DURING_HOLD as in the default config.h):
  - during a block under M3 the beam fires at the block's S (the interpreter already zeroes
    G0); under M4 (a `dynamic` block) at S x speed / programmed rate, set once per stepper
    segment (`dynamic_power`: the recorder writes a ramp as a staircase of levels);
  - at rest it keeps the level the last block or spindle command left: after a G1 S>0 block
    under M3 it stays on (constant-power mode), after G0, S0, M5 or any M4 block it is off
    (stepper.c turns a rate-adjusted PWM off when the segment buffer runs empty);
  - a feed hold gates it off; cycle start restores it;
  - a firmware hang (`freeze`) stops the steppers where they are (the main loop no longer
    prepares segments) but leaves the spindle PWM, i.e. the beam, at the level it had: a
    beam-on block frozen mid-way keeps burning at rest until a reset; under M4 at the level
    of the stepper segment it froze in (its S x segment-end speed / programmed rate).
Every executed interval (moves, laser-on rests, holds) goes to the ExposureRecorder, stamped by
this clock. A hold stops at once where the machine
is (no deceleration distance is modelled); the unfinished part of the block is re-queued.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

from hardware_sim.exposure_record import ExposureRecorder
from hardware_sim.grbl import dynamic_power
from hardware_sim.grbl.block_timing import BlockTimer
from lasergen.machine import MachineProfile


@dataclass
class Block:
    start: tuple
    end: tuple
    rapid: bool
    feed_mm_s: float
    power_s: float
    rest_power_s: float  # beam level left at rest when this block ends (M3 keeps S)
    jog: bool = False
    alarm_after_mm: float | None = None  # fault injection: an alarm this far into the block
    alarm_code: int = 1
    dynamic: bool = False  # run under M4 in laser mode: power scales with speed (stepper.c)
    # `block_timing`'s own figures of this block (geometry; the entry its junction allows
    # after `entry_after`): computed once, not once per window it is planned in
    geometry: tuple | None = field(default=None, repr=False, compare=False)
    entry_after: object = field(default=None, repr=False, compare=False)
    entry_sqr: float = field(default=0.0, repr=False, compare=False)


def _lerp(a, b, f):
    return tuple(a[i] + (b[i] - a[i]) * f for i in range(3))


class MotionExecutor:
    def __init__(self, machine: MachineProfile, recorder: ExposureRecorder, position=(0.0, 0.0, 0.0)):
        self.machine = machine
        self.planner_blocks = machine.planner_blocks  # the build's planner size (15 in GRBL's default)
        self.recorder = recorder
        self.queue: deque[Block] = deque()
        self.current: Block | None = None
        self.t_start_s = self.t_end_s = 0.0
        self.previous: Block | None = None
        self.position = tuple(position)
        self.now_s = 0.0
        self.holding = False
        self.rest_power_s = 0.0
        self.rest_since_s = 0.0
        self.timer_end_s: float | None = None  # a dwell or homing in progress
        self.frozen = False  # a firmware hang: the beam stays as it was
        self.alarm_due_s: float | None = None  # an injected alarm during the current block
        self.on_alarm = None  # the controller's alarm handler, called with the code
        self.hold_since_s = 0.0
        self.kinematics = None  # velocity profile of the current block, for the beam history
        self.timer = BlockTimer(machine)

    # ---- queries ----
    @property
    def blocks(self) -> int:
        return len(self.queue) + (self.current is not None)

    @property
    def available(self) -> int:
        return self.planner_blocks - self.blocks

    @property
    def idle(self) -> bool:
        return self.current is None and not self.queue and self.timer_end_s is None

    @property
    def moving(self) -> bool:
        return self.current is not None

    def next_event_s(self) -> float | None:
        if self.timer_end_s is not None:
            return self.timer_end_s
        if self.current is not None and not self.holding:
            return self.t_end_s if self.alarm_due_s is None else min(self.alarm_due_s, self.t_end_s)
        return None

    def position_at(self, t_s: float) -> tuple:
        if self.current is None or self.holding:
            return self.position
        span = self.t_end_s - self.t_start_s
        f = 1.0 if span <= 0 else min(1.0, max(0.0, (t_s - self.t_start_s) / span))
        return _lerp(self.current.start, self.current.end, f)

    def speed_mm_s(self) -> float:
        if self.current is None or self.holding:
            return 0.0
        return self.current.feed_mm_s if not self.current.rapid else max(self.machine.max_rate_mm_s)

    # ---- time ----
    def advance(self, t_s: float):
        """Run everything that finishes by t_s."""
        while True:
            if self.timer_end_s is not None:
                if self.timer_end_s > t_s:
                    break
                self.now_s, self.timer_end_s = self.timer_end_s, None
            elif self.current is not None and not self.holding and self.alarm_due_s is not None \
                    and self.alarm_due_s <= min(t_s, self.t_end_s):
                self.now_s, self.alarm_due_s = self.alarm_due_s, None
                self.on_alarm(self.current.alarm_code)  # stops the motion here (abort)
            elif self.current is not None and not self.holding and self.t_end_s <= t_s:
                self._finish_current()
            elif self.current is None and self.queue and not self.holding:
                self._start_next(self.now_s)
            else:
                break
        self.now_s = max(self.now_s, t_s)

    def push(self, block: Block):
        assert self.available > 0, "planner queue overflow"
        self.queue.append(block)
        if self.current is None and not self.holding and self.timer_end_s is None:
            self._start_next(self.now_s)

    def start_timer(self, seconds: float):
        self.timer_end_s = self.now_s + max(0.0, seconds)

    # ---- laser at rest ----
    def set_rest_power(self, power_s: float):
        if power_s == self.rest_power_s:
            return  # one continuous beam-on interval stays one exposure
        self._flush_rest()
        self.rest_power_s = power_s

    def _flush_rest(self):
        if self.rest_power_s > 0 and (not self.holding or self.frozen) and self.current is None:
            x, y, z = self.position
            self.recorder.dwell(x, y, self.now_s - self.rest_since_s, self.rest_power_s, self.rest_since_s, z)
        self.rest_since_s = self.now_s

    # ---- hold / abort ----
    def hold(self):
        if self.holding:
            return
        self._flush_rest()
        if self.current is not None:
            block = self._cut_current(self.now_s)
            self.queue.appendleft(block)
        self.holding = True
        self.hold_since_s = self.now_s

    def resume(self):
        if not self.holding:
            return
        self.holding = False
        self.recorder.hold(self.position, self.hold_since_s, self.now_s)
        self.rest_since_s = self.now_s
        if self.current is None and self.queue and self.timer_end_s is None:
            self._start_next(self.now_s)

    def abort(self) -> bool:
        """Soft reset or alarm: stop now, flush the queue, beam off. True if it was moving."""
        moving = self.current is not None or (self.holding and bool(self.queue))
        if self.holding and not self.frozen:  # a hang is no hold: its beam stayed on (a rest)
            self.recorder.hold(self.position, self.hold_since_s, self.now_s)
        self._flush_rest()
        if self.current is not None:
            self._cut_current(self.now_s)
        self.queue.clear()
        self.holding = self.frozen = False
        self.timer_end_s = self.alarm_due_s = None
        self.rest_power_s = 0.0
        self.previous = None
        return moving

    def freeze(self):
        """The firmware hangs: motion stops here, the beam keeps its level (see above)."""
        self._flush_rest()
        if self.current is not None:
            power = self.level_now(where_cut=True)
            block = self._cut_current(self.now_s)
            self.queue.appendleft(block)
            self.rest_power_s = power
        self.timer_end_s = None
        self.holding = True  # nothing starts; `abort` (the reset) ends it
        self.frozen = True

    def cancel_jog(self):
        if (self.current is not None and self.current.jog) or any(b.jog for b in self.queue):
            self.abort()

    def set_position(self, position):
        self.position = tuple(position)

    # ---- internals ----
    def _start_next(self, t0: float):
        self._flush_rest()
        block = self.queue.popleft()
        self.current = block
        self.t_start_s = t0
        self.t_end_s = t0 + self._duration(block)
        self.alarm_due_s = None
        if block.alarm_after_mm is not None and self.on_alarm is not None:
            length = float(np.sqrt(sum((block.end[i] - block.start[i]) ** 2 for i in range(3))))  # along X, Y, Z
            f = min(1.0, block.alarm_after_mm / length) if length > 0 else 0.0
            self.alarm_due_s = t0 + f * (self.t_end_s - t0)  # `position_at` is linear in time

    def _finish_current(self):
        block = self.current
        self.now_s = self.t_end_s
        self.recorder.move(block.start, block.end, block.rapid, block.feed_mm_s, block.power_s, self.t_start_s,
                           t_end_s=self.now_s, kinematics=self.kinematics, dynamic=block.dynamic)
        self.position = block.end
        self.previous, self.current = block, None
        self.rest_power_s = block.rest_power_s
        self.rest_since_s = self.now_s
        if self.queue and not self.holding:
            self._start_next(self.now_s)

    def _cut_current(self, t_s: float) -> Block:
        """Record the executed part of the current block; return the rest of it."""
        block = self.current
        here = self.position_at(t_s)
        self.recorder.move(block.start, here, block.rapid, block.feed_mm_s, block.power_s, self.t_start_s,
                           t_end_s=t_s, kinematics=self.kinematics, dynamic=block.dynamic)
        self.position = here
        self.current = None
        self.previous = None
        self.rest_power_s = 0.0 if block.power_s > 0 else self.rest_power_s
        self.rest_since_s = t_s
        return Block(here, block.end, block.rapid, block.feed_mm_s, block.power_s, block.rest_power_s, block.jog,
                     dynamic=block.dynamic)

    def level_now(self, where_cut: bool = False) -> float:
        """The beam level (as S) of the current block now: its S, or under M4 the level of the
        stepper segment it is in: by the clock (what a status report shows), or `where_cut` by
        where `position_at` stops it (the segment a cut records last, where a hang leaves the PWM)."""
        block = self.current
        if not block.dynamic or block.power_s <= 0 or self.kinematics is None:
            return block.power_s
        v0, vp, v1, accel, length = self.kinematics
        profile = dynamic_power.Trapezoid(v0, vp, v1, accel, length)
        if where_cut:
            here = self.position_at(self.now_s)
            done = float(np.sqrt(sum((here[i] - block.start[i]) ** 2 for i in range(3))))
            t_s = profile.duration_s if done >= length - 1e-9 else profile.time_at(done)
        else:
            t_s = self.now_s - self.t_start_s
        return dynamic_power.level_at(profile, t_s, block.power_s, float(np.float32(block.feed_mm_s)))

    def _duration(self, block: Block) -> float:
        window = ([self.previous] if self.previous is not None else []) + [block] + list(self.queue)
        first = 1 if self.previous is not None else 0
        # in X, Y and Z, as planner.c plans (a Z move is a block): `profile(steps=False)` of the
        # window; GRBL's stop on a move of no motor step is not modelled here yet, as in the batch path
        v_entry, v_peak, v_exit, accel, duration = self.timer.timing(window, first)
        length = float(np.sqrt(sum((block.end[i] - block.start[i]) ** 2 for i in range(3))))
        finite = bool(np.isfinite(duration))
        self.kinematics = (v_entry, v_peak, v_exit, accel, length) if length > 0 and finite else None
        return duration if finite else 0.0
