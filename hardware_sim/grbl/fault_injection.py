"""Fault injection of the GRBL emulator (`hardware_sim.faults.FaultPlan`), as a mixin.

What a fault does to the controller, after the line that triggers it is taken from the RX
buffer (lines count per connection, from 1):
  - before the line runs: the link drops (the controller keeps running what it holds), an
    `ALARM:A` replaces the line, an `error:C` answers it instead of executing it, or an alarm
    is armed to fire D mm into the line's motion (`alarm_at`);
  - after it: the firmware hangs (`stall`: steppers and parser freeze, the beam stays as it
    was, only a soft reset ends it), a soft reset, or a power cycle;
  - on the way out: reply bytes corrupted (`take_output`).
Every fault is logged in `fault_log` as (simulated time, what), so a test can time what the
beam did after each.
"""

from __future__ import annotations


class FaultInjection:
    def _fault_before_line(self, n: int) -> bool:
        """Faults that act as line n is taken; True when one replaced the line."""
        faults = self.faults
        if faults.drops_at(n) and not self.link_dropped:
            self.fault_log.append((self.motion.now_s, "drop"))
            self.link_dropped = True
        if (code := faults.alarm_for(n)) is not None:
            self._alarm(code)
            return True
        if (code := faults.error_for(n)) is not None:
            self.fault_log.append((self.motion.now_s, f"error:{code}"))
            self._say(f"error:{code}")
            return True
        self.pending_alarm = faults.alarm_during(n)
        return False

    def _fault_after_line(self, n: int):
        if self.faults.stalls_at(n):
            self.stall()
        if self.faults.resets_at(n):
            self.soft_reset()
        if self.faults.powers_at(n):
            self.power_cycle()

    def stall(self):
        """The firmware hangs (a fault): no answers, no motion, the beam as it was."""
        self.fault_log.append((self.motion.now_s, "stall"))
        self.motion.freeze()
        self.stalled = True

    def power_cycle(self):
        """Power lost and back: beam off, queue and position gone, settings kept (EEPROM)."""
        self.fault_log.append((self.motion.now_s, "power_cycle"))
        self.motion.abort()
        self.motion.set_position((0.0, 0.0, 0.0))
        self._boot(power_up=True)

    def take_output(self) -> bytes:
        """The bytes the controller has sent since the last call, as the link delivers them."""
        data, self.out = bytes(self.out), bytearray()
        sent = self.faults.mangle(data, self.lines_taken)
        if sent != data and not any(kind == "corrupt" for _, kind in self.fault_log[-1:]):
            self.fault_log.append((self.motion.now_s, "corrupt"))
        return sent
