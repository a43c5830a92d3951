"""The optical gate behind a controller's digital output: a shutter or a pulse picker.

The beam at the sample follows the output line after the gate's latency (a mechanical
shutter's few milliseconds, a pulse picker's microsecond), both when it opens and when it
closes. The gate holds the transitions of the line; `intervals_until(t)` hands back the
optical on-intervals that closed by time t, so the emulator records each exposure once the
beam really stopped. An interval shorter than one laser pulse period carries no pulse and is
dropped (a pulse picker gated for 1 us at 10 kHz lets nothing through).
"""

from __future__ import annotations

from collections import deque


class Gate:
    def __init__(self, latency_s: float, pulse_period_s: float):
        self.latency_s = latency_s
        self.pulse_period_s = pulse_period_s
        self.level = False  # the output line
        self.open_since: float | None = None  # optical open time of the interval in progress
        self.payload = None  # what the caller attached to the interval when the line rose
        self.closed: deque[tuple[float, float, object]] = deque()  # (open, close, payload)

    def set_line(self, t_s: float, level: bool, payload=None):
        if level == self.level:
            return
        self.level = level
        if level:
            self.open_since, self.payload = t_s + self.latency_s, payload
        elif self.open_since is not None:
            start, end = self.open_since, t_s + self.latency_s
            self.open_since = None
            if end - start >= self.pulse_period_s:
                self.closed.append((start, end, self.payload))

    def is_open(self, t_s: float) -> bool:
        """The optical state at time t (a line change takes `latency_s` to show)."""
        return self.open_since is not None and t_s >= self.open_since

    def intervals_until(self, t_s: float) -> list[tuple[float, float, object]]:
        out = []
        while self.closed and self.closed[0][1] <= t_s:
            out.append(self.closed.popleft())
        return out

    def pending_until_s(self) -> float | None:
        return self.closed[0][1] if self.closed else None
