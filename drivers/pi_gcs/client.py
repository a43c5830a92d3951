"""GCS 2.0 over any pyserial URL: write commands, read answers, ask for errors.

GCS is strictly request/answer, so the client has no reader thread: a set command is written
and never answered; a query's answer is read until a line ends in LF not preceded by a space
(`commands.answer_complete`); the single-byte commands #5 #7 #8 #24 are written as raw bytes
and #5/#8 answered by a line, #7 by one byte. A refused command is silent, so `check` sends
`ERR?` after the commands and raises `GcsRefused` with PI's code. Silence past the timeout and
bytes that are not an answer (a corrupted link, another device) raise `DeviceError`, one line;
silence is counted in time this process was running (a read that returns far later than its
own timeout means the host did not schedule us, and that time is added back).

Why not PI's `pipython`: its serial gateway opens `serial.Serial(port)`, not
`serial.serial_for_url`, so it cannot reach `socket://` or `sim://` ports without replacing
it; its message layer polls `read_all` with sleeps under a lock; and its licence (PI's general
software licence) allows use only with PI hardware and forbids sublicensing, which an MIT
project and an emulator cannot honour. The facts it and PI's manuals document (syntax, answer
format, single-byte commands, error codes) are in `lasergen.backends.pi_gcs`.
"""

from __future__ import annotations

import threading
import time

import serial

from drivers.session import DeviceError
from lasergen.backends.pi_gcs.codes import error_text
from lasergen.backends.pi_gcs.commands import answer_complete, parse_answer

DEFAULT_TIMEOUT_S = 2.0
LATE_S = 0.005  # a read that returned this much after its timeout: the host was slow, not the controller
ANSWER_BYTES = set(range(0x20, 0x7F)) | {0x0A, 0x0D}


class LinkLost(DeviceError):
    """The port failed (unplugged adapter, dropped link)."""


class Silent(DeviceError):
    """No (complete) answer within the timeout; `heard`: some bytes came (the link lives)."""

    heard = False


class Garbled(DeviceError):
    """Bytes that are not a GCS answer."""


class GcsRefused(DeviceError):
    def __init__(self, code: int, command: str):
        super().__init__(f"{command!r} refused: {error_text(code)}")
        self.code = code


class GcsClient:
    def __init__(self, url: str, baud: int = 115200, read_timeout_s: float = 0.02, port=None):
        self.url = url
        self.baud = baud
        self.read_timeout_s = read_timeout_s
        self.port = port  # an open pyserial-like object (tests), else opened by `open`
        self.lock = threading.RLock()
        self.bytes_out = 0
        self.answer_timeout_s = DEFAULT_TIMEOUT_S  # a wait for an answer given no timeout of its own
        self.bytes_in = 0

    def open(self):
        if self.port is None:
            try:
                self.port = serial.serial_for_url(self.url, baudrate=self.baud, timeout=self.read_timeout_s)
            except (serial.SerialException, ValueError, OSError) as exc:
                raise DeviceError(f"cannot open {self.url}: {exc}") from None
        return self

    def close(self):
        if self.port is not None:
            try:
                self.port.close()
            except (serial.SerialException, OSError):
                pass

    # ---- bytes ----
    def write(self, data: bytes):
        try:
            self.port.write(data)
            self.bytes_out += len(data)
        except (serial.SerialException, OSError) as exc:
            raise LinkLost(f"serial link lost while writing: {exc}") from None

    def _read(self) -> bytes:
        try:
            data = self.port.read(max(1, getattr(self.port, "in_waiting", 0) or 1))
        except (serial.SerialException, OSError, TypeError, AttributeError) as exc:
            raise LinkLost(f"serial link lost: {exc}") from None
        self.bytes_in += len(data)
        return data

    def drain(self, quiet_s: float = 0.05) -> bytes:
        """Read and drop whatever arrives until the line is quiet for quiet_s."""
        got = bytearray()
        deadline = time.monotonic() + quiet_s
        while time.monotonic() < deadline:
            data = self._read()
            if data:
                got += data
                deadline = time.monotonic() + quiet_s
        return bytes(got)

    def read_answer(self, what: str, timeout_s: float | None = None, single_byte: bool = False) -> str:
        timeout_s = self.answer_timeout_s if timeout_s is None else timeout_s
        buf = bytearray()
        deadline = last = time.monotonic()
        deadline += timeout_s
        while last < deadline:
            buf += self._read()
            now = time.monotonic()
            if (late := now - last - self.read_timeout_s) > LATE_S:
                deadline += late  # this process was not scheduled: that silence is ours, not the controller's
            last = now
            if single_byte and buf:
                return chr(buf[0])
            if answer_complete(bytes(buf)):
                if any(b not in ANSWER_BYTES for b in buf):
                    raise Garbled(f"{self.url} is not answering as a GCS controller: got {bytes(buf[:40])!r}")
                return buf.decode("ascii")
        got = f"; got {bytes(buf[:40])!r}" if buf else ""
        silent = Silent(f"no answer to {what} from {self.url} within {timeout_s:g} s{got}")
        silent.heard = bool(buf)
        raise silent

    # ---- GCS ----
    def send(self, *commands: str):
        with self.lock:
            self.write("".join(c + "\n" for c in commands).encode())

    def query(self, command: str, timeout_s: float | None = None) -> str:
        with self.lock:
            self.write(command.encode() + b"\n")
            return self.read_answer(command, timeout_s)

    def query_axes(self, command: str, timeout_s: float | None = None) -> dict[str, str]:
        return parse_answer(self.query(command, timeout_s))

    def query_numbers(self, command: str, axes, timeout_s: float | None = None) -> dict[str, float]:
        """An axis query whose values are numbers (TMN?, TMX?, POS?), one per axis asked: a
        missing axis or a value that is not a number (a corrupted byte) is Garbled."""
        answer = self.query_axes(command, timeout_s)
        try:
            return {a: float(answer[a]) for a in axes}
        except (KeyError, ValueError):
            raise Garbled(f"{self.url} answered {command.split()[0]} with {str(answer)[:60]}") from None

    def single(self, byte: bytes, timeout_s: float | None = None) -> str:
        """#5 / #8 (a line) or #7 (one byte)."""
        with self.lock:
            self.write(byte)
            return self.read_answer(f"#{byte[0]}", timeout_s, single_byte=byte == b"\x07")

    def error(self, timeout_s: float | None = None) -> int:
        text = self.query("ERR?", timeout_s).strip()
        try:
            return int(text)
        except ValueError:
            raise Garbled(f"{self.url} answered ERR? with {text[:40]!r}") from None

    def check(self, *commands: str, timeout_s: float | None = None):
        """Send the commands and ERR?; GcsRefused if the controller refused one of them."""
        with self.lock:
            self.send(*commands)
            code = self.error(timeout_s)
        if code:
            raise GcsRefused(code, commands[-1] if len(commands) == 1 else "; ".join(commands)[:60])
