"""The byte link to a GRBL controller: the port, who reads it, and the messages it carries.

Outside a stream a reader thread turns incoming lines into `Message`s on one queue, `events`;
anything that is not GRBL (a corrupted or foreign device) arrives as kind "unknown", a lost
link as kind "link_lost". While a stream runs, the streaming thread reads the port itself
(`take_port` .. `release_port`, `read_now`): one wait, one read and one parse per wake-up and
no hand-off between threads per answer, which was most of the sender's CPU. Where the port
has a file descriptor (a serial device, a socket) the link waits on it and reads and writes
it directly (pyserial adds a select to every read and write; a socket:// port's `in_waiting`
only says whether a byte waits); a port without one (sim://, a Windows COM port) is read
with a short timeout. Control requests from other threads (pause, resume, abort; a signal
handler) go on the event queue and ring a wake-up socket, so a streaming thread waiting on
the descriptor hears them at once. While streaming (`hold_on_refusal`), an `error:N` or a
line that is not GRBL is met with a feed hold as it is parsed, before anything else runs:
the refused line may be the beam-off line after a mark, and under M3 GRBL keeps the beam on
at rest. Realtime bytes (`?` `!` `~` 0x18) are written directly, never queued behind lines.
"""

from __future__ import annotations

import io
import math
import os
import queue
import select
import socket
import threading
import time

import serial

from drivers.grbl.protocol import Message, parse_line
from drivers.session import DeviceError
from lasergen.machine import MachineProfile

HOLD = b"!"
WRITE_TIMEOUT_S = 10.0
READ_BYTES = 4096
OK = Message("ok", "ok")  # the commonest answer by far, shared (messages are never changed)


class GrblLink:
    def __init__(self, url: str, machine: MachineProfile, read_timeout_s: float = 0.05):
        self.url = url
        self.machine = machine
        self.read_timeout_s = read_timeout_s
        self.events: queue.SimpleQueue[Message] = queue.SimpleQueue()  # C-level: a put/get costs ~1 us
        self.port = None
        self._closing = threading.Event()
        self._reader = None
        self._fd = None
        self._partial = bytearray()  # bytes of a line whose newline has not arrived yet
        self._turn = threading.Condition()  # who reads the port: the reader thread or a stream
        self._direct = False  # a streaming thread reads the port (take_port): the reader thread waits
        self._parked = False  # the reader thread is waiting (or gone)
        self._wake_send = self._wake_recv = None  # rings a thread waiting on the descriptor
        self._poller = None  # the streaming thread's wait on the descriptor and the ring
        self.hold_on_refusal = False  # while streaming: feed hold at an error, as it is parsed

    # ---- connection ----
    def open(self):
        try:
            self.port = serial.serial_for_url(self.url, baudrate=self.machine.baud, timeout=self.read_timeout_s)
        except (serial.SerialException, ValueError, OSError) as exc:
            raise DeviceError(f"cannot open {self.url}: {exc}") from None
        self._fd = self._port_fd()
        if self._fd is not None:
            self.port.timeout = 0  # the reader waits in select; a read takes what is there
            self._wake_send, self._wake_recv = socket.socketpair()
            self._wake_send.setblocking(False)
            self._wake_recv.setblocking(False)
        self._reader = threading.Thread(target=self._read_loop, name="grbl-reader", daemon=True)
        self._reader.start()
        return self

    def close(self):
        self._closing.set()
        with self._turn:
            self._turn.notify_all()
        if self._reader is not None:
            self._reader.join(timeout=1.0)
        for end in (self._wake_send, self._wake_recv):
            if end is not None:
                end.close()  # a socket object, not a bare descriptor: a late post fails, never hits a reused fd
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
        if os.name == "nt":
            return None  # a socket's descriptor is no file there (os.read, poll)
        return fd if isinstance(fd, int) and fd >= 0 else None

    def _read_chunk(self) -> bytes:
        if self._fd is None:
            return self.port.read(max(1, self.port.in_waiting))
        if not select.select([self._fd], [], [], self.read_timeout_s)[0]:
            return b""
        return self._read_fd()

    def _read_fd(self) -> bytes:
        try:
            data = os.read(self._fd, READ_BYTES)  # the descriptor itself: pyserial's read selects once more
        except BlockingIOError:
            return b""
        if not data:  # readable with nothing to read: the peer closed the link (pyserial says the same)
            raise serial.SerialException("the device closed the connection")
        return data

    def _messages(self, data: bytes) -> list[Message]:
        """The whole lines of what arrived, parsed (a line cut short waits for its newline)."""
        if not self._partial and data.endswith(b"\n") and 4 * data.count(b"ok\r\n") == len(data):
            return [OK] * (len(data) // 4)  # answers only: most reads while streaming
        self._partial += data
        if b"\n" not in data:
            return []
        *lines, rest = self._partial.split(b"\n")
        self._partial = bytearray(rest)
        out = []
        for line in lines:
            if line == b"ok\r" or line == b"ok":
                out.append(OK)
                continue
            raw = line.rstrip(b"\r").decode("latin-1")
            if not raw.strip():
                continue
            try:
                msg = parse_line(raw)
            except Exception:  # noqa: BLE001 - reading must outlive any line: it is not GRBL
                msg = Message("unknown", raw)
            if self.hold_on_refusal and msg.kind in ("error", "unknown"):
                self._hold_now()
            out.append(msg)
        return out

    def _read_loop(self):
        try:
            while not self._closing.is_set():
                if self._direct:
                    self._park()
                    continue
                try:
                    data = self._read_chunk()
                except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
                    self.events.put(Message("link_lost", f"serial link lost: {exc}"))
                    return
                for msg in self._messages(data) if data else ():
                    self.events.put(msg)
        finally:
            with self._turn:
                self._parked = True
                self._turn.notify_all()

    def _park(self):
        with self._turn:
            self._parked = True
            self._turn.notify_all()
            while self._direct and not self._closing.is_set():
                self._turn.wait(1.0)
            self._parked = False

    # ---- the streaming thread reads the port itself ----
    def take_port(self):
        """From now on the calling thread reads the port (`read_now`): the reader thread ends
        its current read (at most read_timeout_s), queues what it got, and waits."""
        with self._turn:
            self._direct = True
            while not self._parked and self._reader is not None and self._reader.is_alive():
                self._turn.wait(1.0)
        if self._fd is not None and self._poller is None:
            self._poller = select.poll()  # registered once: cheaper per wait than select()
            self._poller.register(self._fd, select.POLLIN)
            self._poller.register(self._wake_recv.fileno(), select.POLLIN)

    def release_port(self):
        """The reader thread reads again (the stop path and commands wait on `events`)."""
        if self._fd is None and self.port is not None:
            self.port.timeout = self.read_timeout_s
        with self._turn:
            self._direct = False
            self._turn.notify_all()

    def read_now(self, timeout_s: float) -> list[Message]:
        """After `take_port`: the control requests posted and the lines the controller sent,
        waiting up to timeout_s for either (a lost link comes back as a "link_lost" message)."""
        try:
            if self._fd is None:
                return self._read_polled(timeout_s)
            ms = 0 if not self.events.empty() else math.ceil(timeout_s * 1000.0)
            out, data = [], None
            for fd, _ in self._poller.poll(ms):
                if fd == self._fd:
                    data = self._read_fd()
                else:
                    self._drain_ring()
            if not self.events.empty():
                out = self._queued()
            if data:
                out += self._messages(data)
            return out
        except (serial.SerialException, OSError, TypeError, AttributeError, ValueError) as exc:
            return self._queued() + [Message("link_lost", f"serial link lost: {exc}")]

    def _read_polled(self, timeout_s: float) -> list[Message]:
        deadline = time.monotonic() + timeout_s
        out = []
        while True:
            out += self._queued()
            left = deadline - time.monotonic()
            waiting = self.port.in_waiting
            if waiting or (not out and left > 0):
                timeout = min(self.read_timeout_s, max(0.0, left))
                if self.port.timeout != timeout:
                    self.port.timeout = timeout
                out += self._messages(self.port.read(max(1, waiting)))
            if out or time.monotonic() >= deadline:
                return out

    def _queued(self) -> list[Message]:
        out = []
        while not self.events.empty():
            try:
                out.append(self.events.get_nowait())
            except queue.Empty:
                break
        return out

    def _drain_ring(self):
        try:
            while self._wake_recv.recv(4096):
                pass
        except (BlockingIOError, OSError):
            pass

    def answers_waiting(self) -> bool:
        """Whether something has arrived that nobody has handled yet: asked before a silence
        is called a stall (a busy host may not have read what the controller sent)."""
        if not self.events.empty():
            return True
        if not self._direct:
            return False
        try:
            if self._fd is None:
                return bool(self.port.in_waiting)
            return bool(select.select([self._fd], [], [], 0.0)[0])
        except (serial.SerialException, OSError, TypeError, AttributeError, ValueError):
            return True  # the next read says what happened to the link

    def _hold_now(self):
        """A refused line may be the one that turned the beam off (under M3 GRBL keeps the
        beam at rest): gate it off now, before any other answer is handled. A realtime byte
        may go between any two bytes of a write (GRBL picks it out wherever it arrives)."""
        try:
            self.write(HOLD)
        except DeviceError:
            pass  # the link is gone: the next read says so

    def write(self, data: bytes):
        try:
            if self._fd is None:
                self.port.write(data)
                return
            view = memoryview(data)
            while view:  # the descriptor itself (non-blocking): pyserial's write selects after every send
                try:
                    view = view[os.write(self._fd, view):]
                except BlockingIOError:
                    if not select.select([], [self._fd], [], WRITE_TIMEOUT_S)[1]:
                        raise DeviceError(f"serial link stuck: nothing written for {WRITE_TIMEOUT_S:g} s") from None
        except (serial.SerialException, OSError) as exc:
            raise DeviceError(f"serial link lost while writing: {exc}") from None

    def post(self, kind: str, text: str = ""):
        """Put a control request (pause, resume, abort) on the event queue, from any thread
        (a signal handler too), and wake a streaming thread waiting on the port."""
        self.events.put(Message(kind, text))
        if self._wake_send is not None:
            try:
                self._wake_send.send(b"\0")
            except OSError:  # full (it rings already) or closed (nobody waits any more)
                pass

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
