"""What the beam did on the emulated C-884 rig: the gate's optical intervals over the motion.

The controller's gate line goes to the rig's gate (`hardware_sim.beam.gate`: latency, no
interval shorter than a laser pulse); the pulse energy is the rig's when the line rises (the
attenuator is turned with the gate closed). Once an optical interval has closed, it is laid
over the moves the stage made meanwhile: a piece while a move ran becomes a LINE exposure from
where the stage was to where it got, a piece at rest a DWELL, in the ExposureRecorder, time
stamped, in X, Y and Z (a C-884 with the focus stage as its third axis; Z stays 0 without one).
A new pass starts at the first exposure after the plate was commanded (each lasergen
layer sets its energy when it starts), or at the first exposure at all.
"""

from __future__ import annotations

from collections import deque

from hardware_sim.beam.gate import Gate
from hardware_sim.beam.rig import Rig


class BeamRecorder:
    def __init__(self, machine, recorder, rig: Rig | None, n_axes: int = 2):
        self.machine = machine
        self.recorder = recorder
        self.rig = rig or Rig(machine)
        self.gate = Gate(machine.gate_latency_ms / 1000.0, 1.0 / (machine.rep_rate_kHz * 1000.0))
        self.history: deque = deque(maxlen=64)  # (t0, t1, move, rest before, rest after)
        self.n_axes = n_axes
        self.rest = [0.0] * n_axes
        self.plate_commands_seen = -1
        self.current = None  # callable: (move, positions) of the move in progress, or None

    def set_line(self, t_s: float, level: bool):
        payload = None
        if level:
            new_pass = self.rig.plate_commands != self.plate_commands_seen
            self.plate_commands_seen = self.rig.plate_commands
            payload = (self.rig.energy_uJ(), new_pass)
        self.gate.set_line(t_s, level, payload)

    def moved(self, move, t_stop_s: float):
        before = list(self.rest)
        after = [move.position(i, t_stop_s, before[i]) for i in range(self.n_axes)]
        self.history.append((move.t0_s, t_stop_s, move, before, after))
        self.rest = after

    def pending_until_s(self) -> float | None:
        return self.gate.pending_until_s()

    def flush(self, now_s: float):
        for start, end, (energy, new_pass) in self.gate.intervals_until(now_s):
            if new_pass:
                self.recorder.laser_enabled()
            self._record(start, end, energy)

    def _segments(self):
        segments = list(self.history)
        if self.current is not None and (running := self.current()) is not None:
            move, now_s = running
            segments.append((move.t0_s, now_s, move, list(self.rest), None))
        return segments

    def _record(self, a: float, b: float, energy: float):
        power = self.machine.energy_to_s(energy)
        t = a
        rest = None
        for t0, t1, move, before, _after in self._segments():
            if t1 <= t:
                rest = _after
                continue
            if t0 >= b:
                break
            if t0 > t:  # at rest until this move started
                self._dwell(before, t, t0, power)
                t = t0
            seg_end = min(b, t1)
            if seg_end > t:
                p, q = ([move.position(i, tt, before[i]) for i in range(self.n_axes)] for tt in (t, seg_end))
                self.recorder.move(p, q, False, move.speed_mm_s(), power, t, t_end_s=seg_end)  # mean speed over the piece
                t = seg_end
            rest = _after if t1 <= b else None
        if t < b:
            self._dwell(rest if rest is not None else self.rest, t, b, power)

    def _dwell(self, where, t0: float, t1: float, power: float):
        if where is not None and t1 - t0 >= self.gate.pulse_period_s:  # no pulse arrives in less
            self.recorder.dwell(where[0], where[1], t1 - t0, power, t0, where[2] if len(where) > 2 else 0.0)
