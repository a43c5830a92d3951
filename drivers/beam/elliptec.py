"""Thorlabs Elliptec rotation mount (ELL14-style) ASCII protocol, on its own serial port.

Frames are `<address><command>[data]` with an address '0'..'F', no terminator; replies end
in CR LF. Used here:
    `0in`            -> `0IN` type(2) serial(8) year(4) firmware(2) hardware(2) travel(4 hex)
                        pulses per unit(8 hex)   (ELL14: 143360 pulses per revolution)
    `0ma` + 8 hex    absolute move, signed 32-bit pulses -> `0PO` + 8 hex when arrived
    `0gp`            position -> `0PO` + 8 hex
    `0ho0`           home -> `0PO...`
    any failure      -> `0GS` + 2 hex status (00 ok, 01 communication timeout, 02 mechanical
                        timeout, 03 command error, 09 busy, ...)
"""

from __future__ import annotations

from lasergen import LasergenError

STATUS_TEXT = {0: "ok", 1: "communication timeout", 2: "mechanical timeout", 3: "command error or not supported",
               4: "value out of range", 5: "module isolated", 6: "module out of isolation", 7: "initialising error",
               8: "thermal error", 9: "busy", 10: "sensor error", 11: "motor error", 12: "out of range",
               13: "over current error"}
DEFAULT_PULSES_PER_REV = 143360


def to_hex32(value: int) -> str:
    return f"{value & 0xFFFFFFFF:08X}"


def from_hex32(text: str) -> int:
    value = int(text, 16)
    return value - (1 << 32) if value & 0x80000000 else value


class ElliptecMount:
    def __init__(self, port, address: str = "0"):
        """port: an open pyserial-like object (write, read_until)."""
        self.port = port
        self.address = address.upper()
        self.pulses_per_rev = DEFAULT_PULSES_PER_REV

    def _ask(self, command: str, data: str = "", expect: str = "PO") -> str:
        self.port.write(f"{self.address}{command}{data}".encode())
        reply = self.port.read_until(b"\n").decode("ascii", "replace").strip()
        if not reply:
            raise LasergenError(f"rotation mount {self.address}: no reply to {command!r}")
        if reply[:1].upper() != self.address or len(reply) < 3:
            raise LasergenError(f"rotation mount {self.address}: unreadable reply {reply!r}")
        kind, body = reply[1:3].upper(), reply[3:]
        if kind == "GS" and expect != "GS":
            code = int(body or "0", 16)
            raise LasergenError(f"rotation mount {self.address}: {STATUS_TEXT.get(code, f'status {code}')}")
        if kind != expect:
            raise LasergenError(f"rotation mount {self.address}: expected {expect}, got {reply!r}")
        return body

    def info(self) -> dict:
        body = self._ask("in", expect="IN")
        pulses = int(body[22:30], 16)
        if pulses:
            self.pulses_per_rev = pulses
        return {"type": int(body[0:2], 16), "serial": body[2:10], "year": body[10:14],
                "firmware": body[14:16], "pulses_per_rev": self.pulses_per_rev}

    def angle_deg(self) -> float:
        return from_hex32(self._ask("gp")) * 360.0 / self.pulses_per_rev

    def move_to_deg(self, angle_deg: float) -> float:
        pulses = round((angle_deg % 360.0) * self.pulses_per_rev / 360.0)
        return from_hex32(self._ask("ma", to_hex32(pulses))) * 360.0 / self.pulses_per_rev

    def home(self) -> float:
        return from_hex32(self._ask("ho", "0")) * 360.0 / self.pulses_per_rev
