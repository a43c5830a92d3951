"""GRBL 1.1 client: connection, handshake, settings check, commands and realtime bytes.

Protocol (doc/markdown/interface.md): opening a port loses whatever the controller sent
before, so the client sends a soft reset (0x18) and waits for the welcome banner; `$I`
must report version 1.1; `$$` must show laser mode ($32=1) and a $30 / travel that agree
with the machine profile (tables below, not if-chains). A reader thread turns incoming lines
into `Message`s on one queue, `events` (where the port has a file descriptor, a serial device
or a socket, it waits on that and takes everything waiting in one read: a socket:// port's
`in_waiting` only says whether a byte waits, and reading it byte by byte cost the sender more
CPU than the rest of its work per line); anything that is not GRBL (a corrupted or foreign
device) arrives as kind "unknown", a lost link as kind "link_lost". Control requests from
other threads (pause, resume, abort) are put on the same queue, so the streaming loop waits
on exactly one thing. Realtime bytes (`?` `!` `~` 0x18) are written directly, never queued
behind lines.
"""

from __future__ import annotations

import io
import queue
import select
import threading
import time

import serial

from drivers.grbl.protocol import Message, Status, parse_line
from drivers.session import DeviceError
from lasergen.backends.grbl.codes import alarm_text, error_text, setting_name
from lasergen.machine import MachineProfile

STATUS, HOLD, START, RESET = b"?", b"!", b"~", b"\x18"
BANNER_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0


class Interrupted(DeviceError):
    """Ctrl-C or an abort request arrived while waiting outside a stream (e.g. at connect)."""


# (setting, check(value, machine) -> bool, what is wrong) — failing any of these stops a job
REQUIRED = [
    (32, lambda v, m: v == 1, "laser mode is off: G0 moves would fire the beam (set $32=1)"),
    (30, lambda v, m: abs(v - m.s_max) < 1e-6, "max S differs from the profile's s_max: the S->energy map would be wrong"),
    (130, lambda v, m: v + 1e-6 >= m.x_range_mm[1], "X travel is shorter than the profile's"),
    (131, lambda v, m: v + 1e-6 >= m.y_range_mm[1], "Y travel is shorter than the profile's"),
]
# settings that only change timing or safety margins: reported, not fatal
ADVISED = [
    (20, lambda v, m: v == 1, "soft limits are off"),
    (110, lambda v, m: abs(v - m.max_rate_mm_s[0] * 60) < 1e-3, "X max rate differs from the profile (ETA off)"),
    (111, lambda v, m: abs(v - m.max_rate_mm_s[1] * 60) < 1e-3, "Y max rate differs from the profile (ETA off)"),
    (120, lambda v, m: abs(v - m.accel_mm_s2[0]) < 1e-3, "X acceleration differs from the profile (ETA off)"),
    (121, lambda v, m: abs(v - m.accel_mm_s2[1]) < 1e-3, "Y acceleration differs from the profile (ETA off)"),
]


def check_settings(settings: dict[int, float], machine: MachineProfile) -> list[str]:
    """Warnings for advised settings; raises DeviceError for a required one."""
    for number, ok, what in REQUIRED:
        if number not in settings:
            raise DeviceError(f"controller did not report {setting_name(number)}")
        if not ok(settings[number], machine):
            raise DeviceError(f"${number}={settings[number]:g}: {what}")
    return [f"${n}={settings[n]:g}: {what}" for n, ok, what in ADVISED if n in settings and not ok(settings[n], machine)]


class GrblClient:
    def __init__(self, url: str, machine: MachineProfile, read_timeout_s: float = 0.05):
        self.url = url
        self.machine = machine
        self.read_timeout_s = read_timeout_s
        self.events: queue.SimpleQueue[Message] = queue.SimpleQueue()  # C-level: a put/get costs ~1 us
        self.port = None
        self.version = None
        self.settings: dict[int, float] = {}
        self.locked = False
        self._closing = threading.Event()
        self._reader = None
        self._fd = None
        self.hold_on_refusal = False  # while streaming: feed hold from the reader thread at an error

    # ---- connection ----
    def open(self):
        try:
            self.port = serial.serial_for_url(self.url, baudrate=self.machine.baud, timeout=self.read_timeout_s)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise DeviceError(f"cannot open {self.url}: {exc}") from None
        self._fd = self._port_fd()
        if self._fd is not None:
            self.port.timeout = 0  # the reader waits in select; a read takes what is there
        self._reader = threading.Thread(target=self._read_loop, name="grbl-reader", daemon=True)
        self._reader.start()
        return self

    def close(self):
        self._closing.set()
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        if self.port is not None:
            try:
                self.port.close()
            except (serial.SerialException, OSError):
                pass

    def _port_fd(self) -> int | None:
        try:
            fd = self.port.fileno()
        except (AttributeError, OSError, io.UnsupportedOperation, serial.SerialException):
            return None  # sim://, rfc2217, a Windows COM port: reads with a timeout
        return fd if isinstance(fd, int) and fd >= 0 else None

    def _read_chunk(self) -> bytes:
        if self._fd is None:
            return self.port.read(max(1, self.port.in_waiting))
        if not select.select([self._fd], [], [], self.read_timeout_s)[0]:
            return b""
        return self.port.read(4096)

    def _read_loop(self):
        pending = bytearray()
        while not self._closing.is_set():
            try:
                data = self._read_chunk()
            except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
                self.events.put(Message("link_lost", f"serial link lost: {exc}"))
                return
            if not data:
                continue
            pending += data
            while (i := pending.find(b"\n")) >= 0:
                raw = pending[:i].rstrip(b"\r").decode("latin-1")
                del pending[:i + 1]
                if raw.strip():
                    try:
                        msg = parse_line(raw)
                    except Exception:  # noqa: BLE001 - the reader must outlive any line: it is not GRBL
                        msg = Message("unknown", raw)
                    if self.hold_on_refusal and msg.kind in ("error", "unknown"):
                        self._hold_now()
                    self.events.put(msg)

    def _hold_now(self):
        """A refused line may be the one that turned the beam off (under M3 GRBL keeps the
        beam at rest): gate it off now, before the streaming thread even wakes. A realtime byte
        may go between any two bytes of a write (GRBL picks it out wherever it arrives)."""
        try:
            self.port.write(HOLD)
        except (serial.SerialException, OSError):
            pass

    def write(self, data: bytes):
        try:
            self.port.write(data)
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"serial link lost while writing: {exc}") from None

    def post(self, kind: str, text: str = ""):
        """Put a control request (pause, resume, abort) on the event queue, from any thread."""
        self.events.put(Message(kind, text))

    # ---- waiting ----
    def next_event(self, timeout_s: float | None) -> Message | None:
        try:
            return self.events.get(timeout=timeout_s)
        except queue.Empty:
            return None

    def waiting_event(self) -> Message | None:
        """The next message if one is already there (never waits)."""
        try:
            return self.events.get_nowait()
        except queue.Empty:
            return None

    def wait_for(self, kinds: tuple[str, ...], timeout_s: float, what: str,
                 max_unknown: int | None = None) -> tuple[Message, list[Message]]:
        """The first message of one of `kinds` and what came before it; DeviceError on silence
        (or after `max_unknown` lines that are not GRBL at all)."""
        deadline = time.monotonic() + timeout_s
        seen = []
        while (left := deadline - time.monotonic()) > 0:
            msg = self.next_event(left)
            if msg is None:
                break
            if msg.kind in kinds:
                return msg, seen
            if msg.kind == "link_lost":
                raise DeviceError(msg.text)
            if msg.kind in ("interrupt", "abort"):
                raise Interrupted("interrupted (Ctrl-C)" if msg.kind == "interrupt" else "aborted by the operator")
            seen.append(msg)
            if max_unknown is not None and sum(m.kind == "unknown" for m in seen) >= max_unknown:
                raise DeviceError(f"{self.url} is not answering as GRBL: got {msg.text[:40]!r}")
        got = f"; got {seen[-1].text[:40]!r}" if seen else ""
        raise DeviceError(f"no {what} from {self.url} within {timeout_s:g} s{got}")

    # ---- handshake ----
    def reset(self, timeout_s: float = BANNER_TIMEOUT_S) -> list[Message]:
        """Soft reset, wait for the banner; returns what followed it (e.g. the unlock message)."""
        self.write(RESET)
        banner, _ = self.wait_for(("banner",), timeout_s, "GRBL banner after a soft reset", max_unknown=3)
        self.version = banner.groups[0]
        after = self.drain(0.15)
        self.locked = any(m.kind == "msg" and "unlock" in m.text for m in after)
        return after

    def drain(self, quiet_s: float) -> list[Message]:
        out = []
        while (msg := self.next_event(quiet_s)) is not None:
            if msg.kind == "link_lost":
                raise DeviceError(msg.text)
            if msg.kind in ("interrupt", "abort"):
                raise Interrupted("interrupted (Ctrl-C)" if msg.kind == "interrupt" else "aborted by the operator")
            out.append(msg)
        return out

    def command(self, line: str, timeout_s: float = COMMAND_TIMEOUT_S) -> list[Message]:
        """Send one line outside streaming; the lines it produced. DeviceError on error/alarm."""
        self.write(line.encode() + b"\n")
        msg, seen = self.wait_for(("ok", "error", "alarm"), timeout_s, f"answer to {line!r}")
        bad = [m for m in seen if m.kind == "unknown"]
        if bad:
            raise DeviceError(f"{self.url} is not answering as GRBL: {bad[0].text[:40]!r}")
        if msg.kind == "error":
            raise DeviceError(f"{line!r} refused: {error_text(msg.code)}")
        if msg.kind == "alarm":
            raise DeviceError(f"{line!r}: {alarm_text(msg.code)}")
        return seen

    def status(self, timeout_s: float = 1.0) -> Status:
        self.write(STATUS)
        msg, _ = self.wait_for(("status",), timeout_s, "status report")
        return msg.status

    def build_info(self) -> tuple[str, str, str]:
        """`$I`: (version.build date, options, the stored user string); GRBL 1.1 required."""
        lines = self.command("$I")
        ver = next((m.groups[1] for m in lines if m.kind == "feedback" and m.groups[0] == "VER"), None)
        opt = next((m.groups[1] for m in lines if m.kind == "feedback" and m.groups[0] == "OPT"), "")
        version, _, user = (ver or "").partition(":")
        if ver is None or not version.startswith("1.1"):
            raise DeviceError(f"controller reports version {ver or self.version!r}; GRBL 1.1 is required")
        return version, opt, user

    def check_version(self) -> str:
        return self.build_info()[0]

    def read_settings(self) -> dict[int, float]:
        self.settings = {int(m.groups[0]): float(m.groups[1]) for m in self.command("$$") if m.kind == "setting"}
        return self.settings

    def connect(self) -> list[str]:
        """Reset, check version and settings, unlock by homing if locked. Returns warnings."""
        try:
            self.reset()
        except DeviceError as exc:
            raise DeviceError(f"{self.url} does not answer like GRBL 1.1 ({exc})") from None
        self.info = self.build_info()
        warnings = check_settings(self.read_settings(), self.machine)
        if self.locked:
            self.unlock()
        return warnings

    def unlock(self):
        """Leave the alarm lock: home when homing is enabled (positions are machine coordinates)."""
        if self.settings.get(22):
            self.command("$H", timeout_s=120.0)
        else:
            self.command("$X")
        self.locked = False

    # ---- realtime ----
    def feed_hold(self):
        self.write(HOLD)

    def cycle_start(self):
        self.write(START)

    def soft_reset_now(self):
        self.write(RESET)
