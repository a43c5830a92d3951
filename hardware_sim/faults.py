"""Fault injection for the emulated controller, from a URL query or the command line.

    drop_after=N      the link goes dead after the device has taken N lines: nothing more
                      arrives or leaves, but the controller keeps running what it already
                      holds (as GRBL does when a cable is pulled)
    error_on=K[:C]    line K is answered `error:C` (default 20) instead of being executed
    alarm_on=K[:A]    taking line K raises `ALARM:A` (default 1, hard limit): motion stops at
                      once, the queue is flushed and GRBL waits for a reset
    alarm_at=K:D[:A]  the same alarm once line K's motion has run D um (a stop at a known point
                      of a mark, e.g. 1.5 um into it: what reconciliation must read as a cut)
    corrupt=P         each byte the device sends is replaced by a random one with probability
                      P (from line `corrupt_after=N` on, default 0). Only the device->host direction: a GRBL sender cannot detect a
                      corrupted coordinate going the other way (the protocol has no checksum),
                      so that fault would test nothing but luck
    stall_after=N     the firmware hangs after N lines: no responses, no motion, no status,
                      until a soft reset (0x18)
    reset_after=N     the controller is soft-reset after taking line N (as if 0x18 arrived)
    power_after=N     the controller loses power after line N and boots again (position,
                      queue and beam gone; settings and the stored `$I=` id kept)
    seed=S            random seed for `corrupt`
Lines are counted per connection, from 1, as the device takes them out of its RX buffer.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field

from lasergen import LasergenError


def _line(text: str) -> int:
    """A line count (lines are counted per connection, from 1; 0: before the first line)."""
    value = int(text)
    if value < 0:
        raise ValueError(text)
    return value


def _pair(text: str, default_code: int) -> tuple[int, int]:
    line, _, code = text.partition(":")
    return _line(line), int(code) if code else default_code


def _at(text: str) -> tuple[int, float, int]:
    line, distance, *code = text.split(":")
    value = float(distance)
    if not 0.0 <= value < float("inf"):
        raise ValueError(text)
    return _line(line), value, int(code[0]) if code else 1


PARSERS = {
    "drop_after": _line,
    "stall_after": _line,
    "reset_after": _line,
    "power_after": _line,
    "error_on": lambda v: _pair(v, 20),
    "alarm_on": lambda v: _pair(v, 1),
    "alarm_at": _at,
    "corrupt": float,
    "corrupt_after": _line,
    "seed": int,
}


@dataclass
class FaultPlan:
    drop_after: int | None = None
    stall_after: int | None = None
    reset_after: int | None = None
    power_after: int | None = None
    error_on: tuple[int, int] | None = None
    alarm_on: tuple[int, int] | None = None
    alarm_at: tuple[int, float, int] | None = None
    corrupt: float = 0.0
    corrupt_after: int = 0
    seed: int = 0
    rng: random.Random = field(default_factory=random.Random, repr=False)

    def __post_init__(self):
        self.rng.seed(self.seed)
        if not 0.0 <= self.corrupt <= 1.0:
            raise LasergenError(f"corrupt must be a probability 0..1, got {self.corrupt}")

    @classmethod
    def from_options(cls, options: dict) -> "FaultPlan":
        values = {}
        for key, raw in options.items():
            if key not in PARSERS or raw in (None, ""):
                continue
            try:
                values[key] = PARSERS[key](str(raw))
            except ValueError:
                raise LasergenError(f"fault option {key}={raw!r} is not valid") from None
        return cls(**values)

    @property
    def any(self) -> bool:
        return any((self.drop_after, self.stall_after, self.error_on, self.alarm_on, self.alarm_at, self.corrupt,
                    self.reset_after, self.power_after))

    def error_for(self, line_no: int) -> int | None:
        return self.error_on[1] if self.error_on and self.error_on[0] == line_no else None

    def alarm_for(self, line_no: int) -> int | None:
        return self.alarm_on[1] if self.alarm_on and self.alarm_on[0] == line_no else None

    def alarm_during(self, line_no: int) -> tuple[float, int] | None:
        """(distance in mm into the line's motion, alarm code) for line `line_no`, if any."""
        if self.alarm_at and self.alarm_at[0] == line_no:
            return self.alarm_at[1] / 1000.0, self.alarm_at[2]
        return None

    def drops_at(self, line_no: int) -> bool:
        return self.drop_after is not None and line_no >= self.drop_after

    def stalls_at(self, line_no: int) -> bool:
        return self.stall_after is not None and line_no == self.stall_after

    def resets_at(self, line_no: int) -> bool:
        return self.reset_after is not None and line_no == self.reset_after

    def powers_at(self, line_no: int) -> bool:
        return self.power_after is not None and line_no == self.power_after

    def mangle(self, data: bytes, lines_taken: int = 0) -> bytes:
        if not self.corrupt or not data or lines_taken < self.corrupt_after:
            return data
        out = bytearray(data)
        for i in range(len(out)):
            if self.rng.random() < self.corrupt:
                out[i] = self.rng.choice(b"#%&*@^|}{0123456789abcdefxyz")
        return bytes(out)
