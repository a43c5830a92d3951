"""One emulated controller behind a byte link, run by its own thread.

Everything that touches the emulator goes through the device's inbox (a queue): bytes from
the host (stamped with the wall-clock time they finish arriving, so a transport can emulate
the baud rate, or the time they were sent), link attach/detach, calls from tests. The thread
blocks on the inbox; with a scaled clock (`clock=real`, `speed=K`) it wakes when the next
block or dwell is due, so simulated time follows the wall clock, and bytes are taken in at
the simulated moment they arrived (a thread that wakes late catches up event by event, never
running all due motion before feeding the planner); with the default fast-forward clock it
never waits on motion (the emulator jumps its own clock).
The emulator is the machine profile's controller family's (`hardware_sim.emulators`), so the
device, its transports, fault plans and `sim://` options are the same for every family. A link (in-process pyserial object, pty or TCP
socket) receives the device's output through `deliver(bytes)`; when a fault drops the link,
the link gets `drop()` and the device goes on running what it already holds.

Named devices (`sim://?device=NAME`) live in a registry and survive their connection: a
later open of the same name reaches the same controller (same position, same ledger), which
is how a resume after a dropped link is tested.
"""

from __future__ import annotations

import math
import queue
import threading
import time

from hardware_sim.faults import FaultPlan
from hardware_sim.emulators import make_emulator
from lasergen.machine import MachineProfile

_REGISTRY: dict[str, "Device"] = {}
_REGISTRY_LOCK = threading.Lock()


class Device:
    def __init__(self, machine: MachineProfile, clock: str = "ff", speed: float = 1.0, material: str | None = None,
                 name: str | None = None, port: str = "stage"):
        if clock not in ("ff", "real"):
            raise ValueError(f"clock must be 'ff' or 'real', got {clock!r}")
        if not (math.isfinite(speed) and speed > 0):  # 0 never wakes the clock, < 0 runs it backwards
            raise ValueError(f"speed must be a finite clock factor > 0, got {speed!r}")
        self.machine = machine
        self.name = name
        self.material = material
        self.scale = None if clock == "ff" else float(speed)
        self.port = port
        self.emulator = make_emulator(machine, port, name, fast_forward=self.scale is None)
        self.inbox: queue.Queue = queue.Queue()
        self.link = None
        self._sim0 = 0.0
        self._wall0 = time.monotonic()
        self._stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name=f"grbl-device-{name or id(self)}", daemon=True)
        self.thread.start()

    # ---- called from other threads ----
    def attach(self, link, faults: FaultPlan | None = None):
        self.inbox.put(("attach", link, faults or FaultPlan()))

    def detach(self, link):
        self.inbox.put(("detach", link))

    def send(self, data: bytes, arrival_s: float | None = None, link=None):
        """Bytes from the host; `arrival_s` (monotonic) when their last byte arrives, if paced."""
        self.inbox.put(("data", time.monotonic() if arrival_s is None else arrival_s, bytes(data), link))

    def call(self, fn, timeout_s: float = 10.0):
        """Run fn(emulator) on the device thread and return its result."""
        reply: queue.Queue = queue.Queue()
        self.inbox.put(("call", fn, reply))
        ok, value = reply.get(timeout=timeout_s)
        if not ok:
            raise value
        return value

    def ledger(self):
        return self.call(lambda emu: emu.recorder.ledger())

    def executed_toolpath(self):
        return self.call(lambda emu: emu.recorder.toolpath())

    def stop(self):
        if not self._stopped.is_set():
            self.inbox.put(("stop",))
            self.thread.join(timeout=5)

    # ---- the device thread ----
    def _sim_now(self) -> float:
        return self._sim_at(time.monotonic())

    def _sim_at(self, wall_s: float) -> float:
        return self._sim0 + (wall_s - self._wall0) * self.scale

    def sim_time_s(self) -> float:
        """The emulator's clock now (from any thread)."""
        return self.call(lambda emu: emu.now_s)

    def _timeout(self) -> float | None:
        if self.scale is None:
            return None
        t = self.emulator.next_event_s()
        return None if t is None else max(0.0, (t - self._sim_now()) / self.scale)

    def _run(self):
        emu = self.emulator
        while True:
            try:
                msg = self.inbox.get(timeout=self._timeout())
            except queue.Empty:
                msg = None
            if msg is not None:
                if msg[0] == "stop":
                    break
                if msg[0] != "data" and self.scale is not None:
                    emu.advance(self._sim_now())
                HANDLERS[msg[0]](self, *msg[1:])
            if self.scale is not None:
                emu.advance(self._sim_now())
            self._flush()
        self._stopped.set()

    def _on_data(self, arrival_s, data, link):
        if link is not self.link:
            return  # bytes from a closed or dropped connection
        if (wait := arrival_s - time.monotonic()) > 0:
            time.sleep(wait)
        if self.scale is not None:
            self.emulator.advance(self._sim_at(arrival_s))  # up to the moment they arrived
        self.emulator.receive(data)

    def _on_attach(self, link, faults):
        emu = self.emulator
        emu.faults, emu.lines_taken, emu.link_dropped = faults, 0, False
        self.link = link

    def _on_detach(self, link):
        if link is self.link:
            self.link = None

    def _on_call(self, fn, reply):
        try:
            reply.put((True, fn(self.emulator)))
        except Exception as exc:  # handed back to the caller's thread
            reply.put((False, exc))

    def _flush(self):
        emu = self.emulator
        data = emu.take_output()
        link = self.link
        if link is not None and data:
            link.deliver(data)
        if emu.link_dropped and link is not None:
            self.link = None
            link.drop()
        if self.link is None and self.scale is None:
            emu.run_until_idle()  # nobody is feeding it: the queued motion runs out
            emu.take_output()


HANDLERS = {"data": Device._on_data, "attach": Device._on_attach, "detach": Device._on_detach,
            "call": Device._on_call}


def open_device(machine: MachineProfile, name: str | None = None, port: str = "stage", **options) -> Device:
    """A new device, or the named one if it exists (then `options` other than faults are ignored).
    A rig's other ports (`port=attenuator`) are devices of their own under the same name."""
    if name is None:
        return Device(machine, name=None, port=port, **options)
    key = name if port == "stage" else f"{name}:{port}"
    with _REGISTRY_LOCK:
        device = _REGISTRY.get(key)
        if device is None:
            device = _REGISTRY[key] = Device(machine, name=name, port=port, **options)
        return device


def get_device(name: str) -> Device:
    with _REGISTRY_LOCK:
        return _REGISTRY[name]


def forget_device(name: str):
    with _REGISTRY_LOCK:
        device = _REGISTRY.pop(name, None)
    if device is not None:
        device.stop()
