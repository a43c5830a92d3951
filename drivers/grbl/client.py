"""GRBL 1.1 client: connection, handshake, settings check, commands and realtime bytes.

Protocol (doc/markdown/interface.md): opening a port loses whatever the controller sent
before, so the client sends a soft reset (0x18) and waits for the welcome banner; `$I`
must report version 1.1; `$$` must show laser mode ($32=1) and a $30 / travel that agree
with the machine profile (tables below, not if-chains). The port, who reads it and the
messages it carries (the reader thread outside a stream, the streaming thread itself while
one runs): `drivers.grbl.link`. Realtime bytes (`?` `!` `~` 0x18) are written directly,
never queued behind lines.
"""

from __future__ import annotations

import time

from drivers.grbl.link import HOLD, GrblLink
from drivers.grbl.protocol import Message, Status
from drivers.session import DeviceError
from lasergen.backends.grbl.codes import alarm_text, error_text, setting_name
from lasergen.machine import MachineProfile

STATUS, START, RESET = b"?", b"~", b"\x18"
BANNER_TIMEOUT_S = 5.0
COMMAND_TIMEOUT_S = 10.0
__all__ = ["HOLD", "RESET", "START", "STATUS", "GrblClient", "Interrupted", "check_settings"]


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


class GrblClient(GrblLink):
    def __init__(self, url: str, machine: MachineProfile, read_timeout_s: float = 0.05):
        super().__init__(url, machine, read_timeout_s)
        self.version = None
        self.settings: dict[int, float] = {}
        self.locked = False

    # ---- waiting ----
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

    @staticmethod
    def buffer_sizes(options: str) -> tuple[int, int] | None:
        """(planner blocks, RX buffer bytes) from `$I`'s options (`VL,15,128`: GRBL 1.1 prints
        its option codes, its block buffer size less one, which is what `Bf:` reports when the
        planner is empty, then its RX buffer size; grblHAL appends more fields after them), or
        None when the build does not say."""
        fields = options.split(",")
        if len(fields) < 3 or not (fields[1].isdigit() and fields[2].isdigit()):
            return None
        blocks, rx = int(fields[1]), int(fields[2])
        return (blocks, rx) if 1 <= blocks <= 255 and 16 <= rx <= 65535 else None

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
