"""Transports to the emulated controller: link pacing, a pty, and TCP on the loopback.

Pacing: a UART sends one byte per 10 bit times (start, 8 data, stop), so at 115200 baud a
byte takes 86.8 us. `Pacer` cuts each chunk after every line end and stamps each piece with
the wall-clock time its last byte would have arrived, given everything already on the wire in
that direction; the receiving side waits for that time. A controller answers a line when its
newline lands, not when the last byte of whatever the host's socket happened to coalesce with
it does (a TCP sender with Nagle's algorithm, as pyserial's socket:// is, sends the lines
written while an answer is on its way as one segment; stamped whole, their answers all waited
for its end and the host's window ran dry once per window). With pacing, throughput measured
through the emulator is what the real link allows.
`PtyServer` puts the device behind a pseudo-terminal in raw mode (prints e.g. /dev/pts/7);
`TcpServer` behind a TCP socket bound to 127.0.0.1 only, reachable by any sender as
`socket://127.0.0.1:PORT`. One client at a time, as a serial port is: a second client while
the first is connected is told so in one line (BUSY_REPLY) and closed; the device (its
position, queue and exposure record) outlives every client.
"""

from __future__ import annotations

import os
import select
import socket
import threading
import time
import tty

BITS_PER_BYTE = 10
BUSY_REPLY = b"[MSG:busy: another client is connected; one client at a time]\r\n"


class Pacer:
    def __init__(self, baud: int | None):
        self.s_per_byte = BITS_PER_BYTE / baud if baud else 0.0
        self.busy_until = 0.0

    def stamp(self, n_bytes: int) -> float | None:
        if not self.s_per_byte:
            return None
        start = max(time.monotonic(), self.busy_until)
        self.busy_until = start + n_bytes * self.s_per_byte
        return self.busy_until

    def pieces(self, data: bytes) -> list[tuple[float | None, bytes]]:
        """(arrival, piece) for each line of `data` (the last piece may be a partial line):
        each piece arrives when its own last byte does."""
        first_end = data.find(b"\n")
        if not self.s_per_byte or first_end in (-1, len(data) - 1):  # no line end before the last byte
            return [(self.stamp(len(data)), data)]
        cuts = data.split(b"\n")
        lines = [cut + b"\n" for cut in cuts[:-1]] + ([cuts[-1]] if cuts[-1] else [])
        return [(self.stamp(len(line)), line) for line in lines]


class PtyServer:
    """The device behind a pty; the slave end stays open here so clients may come and go."""

    def __init__(self, device, baud: int | None = None, faults=None):
        self.device = device
        self.master, self._slave = os.openpty()
        tty.setraw(self._slave)
        tty.setraw(self.master)
        self.name = os.ttyname(self._slave)
        self.pacer_in = Pacer(baud)
        self._dropped = False
        self._stop_r, self._stop_w = os.pipe()
        device.attach(self, faults)
        self.thread = threading.Thread(target=self._read_loop, name="pty-reader", daemon=True)
        self.thread.start()

    def _read_loop(self):
        while True:
            ready, _, _ = select.select([self.master, self._stop_r], [], [])
            if self._stop_r in ready:
                return
            try:
                data = os.read(self.master, 4096)
            except OSError:
                return
            if data and not self._dropped:
                for arrival_s, piece in self.pacer_in.pieces(data):
                    self.device.send(piece, arrival_s, link=self)

    def deliver(self, data: bytes):
        if not self._dropped:
            os.write(self.master, data)

    def drop(self):
        self._dropped = True  # a pty cannot be unplugged: the line just goes silent

    def close(self):
        os.write(self._stop_w, b"x")
        self.device.detach(self)
        for fd in (self.master, self._slave, self._stop_r, self._stop_w):
            os.close(fd)


class TcpServer:
    """The device behind a TCP socket on 127.0.0.1, one client at a time. `faults` is the
    fault plan the next client's connection gets (set it between clients to script faults)."""

    def __init__(self, device, port: int = 0, baud: int | None = None, faults=None):
        self.device = device
        self.faults = faults
        self.baud = baud
        self.sock = socket.create_server(("127.0.0.1", port))
        self.port = self.sock.getsockname()[1]
        self.link: _TcpLink | None = None
        self._lock = threading.Lock()
        self.thread = threading.Thread(target=self._accept_loop, name="tcp-accept", daemon=True)
        self.thread.start()

    def _accept_loop(self):
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with self._lock:
                busy = self.link is not None and not self.link.closed
                if not busy:
                    conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
                    self.link = _TcpLink(conn, self.device, Pacer(self.baud))
                    self.device.attach(self.link, self.faults)
                    threading.Thread(target=self.link.read_loop, name="tcp-reader", daemon=True).start()
            if busy:
                try:
                    conn.sendall(BUSY_REPLY)
                    conn.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                conn.close()

    def close(self):
        self.sock.close()
        if self.link is not None:
            self.link.drop()


class _TcpLink:
    def __init__(self, conn: socket.socket, device, pacer: Pacer):
        self.conn, self.device, self.pacer = conn, device, pacer
        self.closed = False

    def read_loop(self):
        while True:
            try:
                data = self.conn.recv(4096)
            except OSError:
                data = b""
            if not data:
                self.closed = True
                self.device.detach(self)
                return
            for arrival_s, piece in self.pacer.pieces(data):
                self.device.send(piece, arrival_s, link=self)

    def deliver(self, data: bytes):
        try:
            self.conn.sendall(data)
        except OSError:
            pass

    def drop(self):
        self.closed = True
        try:
            self.conn.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self.conn.close()
