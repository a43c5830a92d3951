"""A Thorlabs Elliptec ELL14 rotation mount, byte for byte, turning the rig's half-wave plate.

Frames from the host are `<address><command>[data]` with no terminator, so each command has a
known data length: `in` (identify), `gp` (get position), `gs` (get status), `ho` + 1 (home,
direction), `ma` + 8 hex (move absolute, signed 32-bit pulses). Replies end in CR LF:
`0IN` + type, serial, year, firmware, hardware, travel, pulses per unit; `0PO` + 8 hex once a
move is done (instant here: the host waits for the reply, the rotation time is in the
profile's `move_s` for estimates); `0GS` + 2 hex status (00 ok, 03 command error). A frame for
another address is ignored, as on the shared Elliptec bus. Fault options as for the stage.
"""

from __future__ import annotations

from hardware_sim.faults import FaultPlan

PULSES_PER_REV = 143360
DATA_LENGTH = {"in": 0, "gp": 0, "gs": 0, "ho": 1, "ma": 8}
IDENTITY = "0E" "11400609" "2023" "17" "01" "0168"  # type 14, serial, year, firmware, hardware, travel


def to_hex32(value: int) -> str:
    return f"{value & 0xFFFFFFFF:08X}"


class ElliptecEmulator:
    USES_RIG = True

    def __init__(self, machine, fast_forward: bool = True, rig=None, address: str = "0"):
        self.machine = machine
        self.rig = rig
        self.address = address.upper()
        self.faults = FaultPlan()
        self.lines_taken = 0
        self.link_dropped = False
        self.pulses = 0
        self.rx = bytearray()
        self.out = bytearray()
        self.recorder = None

    def receive(self, data: bytes):
        self.rx += data
        while len(self.rx) >= 3:
            address, command = chr(self.rx[0]).upper(), self.rx[1:3].decode("latin-1").lower()
            need = DATA_LENGTH.get(command, 0)
            if len(self.rx) < 3 + need:
                return
            payload = self.rx[3:3 + need].decode("latin-1")
            del self.rx[:3 + need]
            if address != self.address:
                continue
            self.lines_taken += 1
            if self.faults.drops_at(self.lines_taken):
                self.link_dropped = True
            if self.faults.stalls_at(self.lines_taken):
                return
            self._answer(command, payload)

    def _answer(self, command: str, payload: str):
        if (code := self.faults.error_for(self.lines_taken)) is not None:
            return self._say(f"GS{code % 256:02X}")
        if command == "in":
            return self._say("IN" + IDENTITY + f"{PULSES_PER_REV:08X}")
        if command in ("gp", "ho", "ma"):
            if command == "ma":
                try:
                    value = int(payload, 16)
                except ValueError:
                    return self._say("GS03")
                self.pulses = value - (1 << 32) if value & 0x80000000 else value
            elif command == "ho":
                self.pulses = 0
            if command != "gp" and self.rig is not None:
                self.rig.plate_moved(self.angle_deg)
            return self._say("PO" + to_hex32(self.pulses))
        if command == "gs":
            return self._say("GS00")
        self._say("GS03")

    @property
    def angle_deg(self) -> float:
        return self.pulses * 360.0 / PULSES_PER_REV

    def _say(self, text: str):
        self.out += f"{self.address}{text}\r\n".encode()

    def take_output(self) -> bytes:
        data, self.out = bytes(self.out), bytearray()
        return self.faults.mangle(data, self.lines_taken)

    def advance(self, t_s: float):
        pass

    def next_event_s(self):
        return None

    def run_until_idle(self):
        pass

    def soft_reset(self):
        self.rx.clear()
