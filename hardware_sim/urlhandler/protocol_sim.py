"""pyserial URL handler `sim://`: the emulated controller of the machine profile, in-process.

    sim://[?device=NAME][&port=stage|attenuator][&clock=ff|real][&speed=K][&baud=115200][&machine=default]
          [&material=BrI][&planner_blocks=N][&rx_buffer_bytes=N][&drop_after=N][&error_on=K:C][&alarm_on=K:A][&corrupt=P]
          [&stall_after=N][&reset_after=N][&power_after=N][&seed=S]

`machine` picks the profile, and its controller family the emulator (GRBL, PI GCS, ...); `port`
picks which device of the rig this port reaches (the stage controller, or the attenuator's
rotation mount of the same named device). Without `device`, each open makes a fresh controller that dies with the port; with it, the
named controller persists across opens (same position and exposure ledger). `baud` paces
both directions at 10 bits per byte (default: no pacing, as fast as the host reads).
`clock=ff` (default) fast-forwards simulated time; `clock=real` runs it at `speed` x real
time. `planner_blocks` and `rx_buffer_bytes` build a GRBL controller with other buffers than its
profile says (grbl-Mega: 35 and 256), as `$I` then reports. Faults: see hardware_sim.faults. When a fault drops the link, reads and writes raise
SerialException, as they do when a USB serial adapter is unplugged.
"""

from __future__ import annotations

import math
import queue
import time
import urllib.parse
from dataclasses import replace

from serial.serialutil import PortNotOpenError, SerialBase, SerialException

from hardware_sim.device import open_device
from hardware_sim.faults import PARSERS as FAULT_OPTIONS
from hardware_sim.faults import FaultPlan
from hardware_sim.transport import Pacer
from lasergen import LasergenError
from lasergen.backends.grbl.gcode.words import LINE_BUFFER_SIZE
from lasergen.machine import MachineProfile

BUILD_OPTIONS = {"planner_blocks": 1, "rx_buffer_bytes": LINE_BUFFER_SIZE + 1}  # smallest: one block, one whole line
DEVICE_OPTIONS = {"device", "clock", "speed", "baud", "machine", "material", "port", *BUILD_OPTIONS}


def _positive(options: dict, key: str, kind, what: str):
    """A numeric option as a finite number > 0 (None when absent): speed=0 hung the emulator's
    clock and a negative one never woke it; one line names the option instead."""
    text = options.get(key)
    if not text:
        return None
    try:
        value = kind(text)
    except ValueError:
        value = None
    if value is None or not math.isfinite(value) or value <= 0:
        raise SerialException(f"sim://: {key} must be {what} > 0, got {text!r}")
    return value


def _built(machine: MachineProfile, options: dict) -> MachineProfile:
    """The profile with the controller's buffer sizes the URL gives (`BUILD_OPTIONS`)."""
    sizes = {key: _positive(options, key, int, "a whole number") for key in BUILD_OPTIONS if key in options}
    if not sizes:
        return machine
    known = dict(machine.settings)
    for key, value in sizes.items():
        if key not in known:
            raise SerialException(f"sim://: {key} applies to a GRBL controller, not {machine.controller}")
        if value < BUILD_OPTIONS[key]:
            raise SerialException(f"sim://: {key} must be at least {BUILD_OPTIONS[key]}, got {value}")
    return replace(machine, settings=tuple(sorted({**known, **sizes}.items())))


class Serial(SerialBase):
    def open(self):
        if self.is_open:
            raise SerialException("Port is already open.")
        options = self._parse(self.portstr)
        speed = _positive(options, "speed", float, "a clock factor (x real time)")
        baud = _positive(options, "baud", int, "a whole number of bits per second")
        try:
            faults = FaultPlan.from_options({k: v for k, v in options.items() if k not in DEVICE_OPTIONS})
            machine = _built(MachineProfile.load(options.get("machine", "default")), options)
            self._device = open_device(machine, options.get("device"), port=options.get("port", "stage"),
                                       clock=options.get("clock", "ff"),
                                       speed=speed or 1.0, material=options.get("material"))
        except (LasergenError, ValueError) as exc:
            raise SerialException(f"sim://: {exc}") from None
        self._owned = "device" not in options
        self._pace_out, self._pace_in = Pacer(baud), Pacer(baud)
        self._rx: queue.Queue = queue.Queue()
        self._buffer = bytearray()
        self._dead = False
        self._device.attach(self, faults)
        self.is_open = True

    @staticmethod
    def _parse(url: str) -> dict:
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "sim":
            raise SerialException(f"expected a sim:// URL, got {url!r}")
        unknown = []
        options = {}
        for key, values in urllib.parse.parse_qs(parts.query).items():
            if key not in DEVICE_OPTIONS and key not in FAULT_OPTIONS:
                unknown.append(key)
            options[key] = values[-1]
        if unknown:
            raise SerialException(f"sim://: unknown option(s) {', '.join(sorted(unknown))}")
        return options

    def close(self):
        if self.is_open:
            self.is_open = False
            self._device.detach(self)
            if self._owned:
                self._device.stop()

    def _reconfigure_port(self):
        pass

    def _update_dtr_state(self):
        pass

    def _update_rts_state(self):
        pass

    def _update_break_state(self):
        pass

    # ---- called by the device thread ----
    def deliver(self, data: bytes):
        for item in self._pace_in.pieces(data):
            self._rx.put(item)

    def drop(self):
        self._dead = True
        self._rx.put(None)

    # ---- the host side ----
    def _pull(self, timeout: float | None) -> bool:
        try:
            item = self._rx.get(timeout=timeout) if timeout != 0 else self._rx.get_nowait()
        except queue.Empty:
            return False
        if item is None:
            raise SerialException("sim://: link lost (device disconnected)")
        arrival, data = item
        if arrival is not None and (wait := arrival - time.monotonic()) > 0:
            time.sleep(wait)
        self._buffer += data
        return True

    @property
    def in_waiting(self) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        while self._pull(0):
            pass
        return len(self._buffer)

    def read(self, size: int = 1) -> bytes:
        if not self.is_open:
            raise PortNotOpenError()
        deadline = None if self._timeout is None else time.monotonic() + self._timeout
        while len(self._buffer) < size:
            if self._dead and self._rx.empty() and not self._buffer:
                raise SerialException("sim://: link lost (device disconnected)")
            remaining = None if deadline is None else max(0.0, deadline - time.monotonic())
            if not self._pull(remaining) and remaining is not None:
                break
        out = bytes(self._buffer[:size])
        del self._buffer[:size]
        return out

    def write(self, data) -> int:
        if not self.is_open:
            raise PortNotOpenError()
        if self._dead:
            raise SerialException("sim://: link lost (device disconnected)")
        data = bytes(data)
        for arrival_s, piece in self._pace_out.pieces(data):
            self._device.send(piece, arrival_s, link=self)
        return len(data)

    def reset_input_buffer(self):
        self._buffer.clear()
        while self._pull(0):
            pass
        self._buffer.clear()

    def reset_output_buffer(self):
        pass

    @property
    def out_waiting(self) -> int:
        return 0
