"""`expected_protocol` for serial clients (after pymeasure's test helper): a scripted port that
checks every byte the host writes against a list of (host bytes, device answer) pairs and
answers with the device's bytes, with no emulator in between."""

from __future__ import annotations

import threading
import time


class ScriptedPort:
    def __init__(self, pairs, timeout: float = 0.05):
        self.pairs = [(bytes(h), bytes(d)) for h, d in pairs]
        self.timeout = timeout
        self.host = bytearray()
        self.rx = bytearray()
        self.lock = threading.Condition()
        self.is_open = True
        self.mismatch = None

    def write(self, data) -> int:
        with self.lock:
            self.host += bytes(data)
            while self.pairs and self.host.startswith(self.pairs[0][0]):
                host, answer = self.pairs.pop(0)
                del self.host[:len(host)]
                self.rx += answer
            if self.host and not (self.pairs and self.pairs[0][0].startswith(bytes(self.host))):
                self.mismatch = (bytes(self.host), self.pairs[0][0] if self.pairs else None)
                raise AssertionError(f"host wrote {bytes(self.host)!r}, expected {self.mismatch[1]!r}")
            self.lock.notify_all()
        return len(data)

    @property
    def in_waiting(self) -> int:
        return len(self.rx)

    def read(self, size: int = 1) -> bytes:
        deadline = time.monotonic() + self.timeout
        with self.lock:
            while not self.rx and time.monotonic() < deadline:
                self.lock.wait(deadline - time.monotonic())
            out = bytes(self.rx[:size])
            del self.rx[:size]
            return out

    def read_until(self, end: bytes = b"\n") -> bytes:
        deadline = time.monotonic() + self.timeout
        with self.lock:
            while end not in self.rx and time.monotonic() < deadline:
                self.lock.wait(deadline - time.monotonic())
            i = self.rx.find(end)
            n = i + len(end) if i >= 0 else len(self.rx)
            out = bytes(self.rx[:n])
            del self.rx[:n]
            return out

    def close(self):
        self.is_open = False

    def done(self) -> bool:
        return not self.pairs and not self.host and self.mismatch is None
