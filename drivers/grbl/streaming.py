"""Character-counting streaming (GRBL interface.md, doc/script/stream.py's "aggressive" mode).

GRBL's RX buffer holds 128 bytes (127 usable in the ring). The sender keeps the bytes of
every line it has sent but not yet seen answered, newline included, within that window;
each `ok`/`error:N` frees the oldest line's bytes. The link then never idles while the
controller has room, and the controller never drops a byte. Lines are written in batches
(everything that fits, one write), an atomic group (a dot's `G1M3S`/`G4`/`M5`) only whole,
so a dropped link can never leave the beam on between them.
Status is polled with `?` at most every `poll_s` (5 Hz); if a poll stays unanswered for
`stall_s` the controller is declared stalled. Everything the caller must decide goes to a
handler: acks, status reports, messages; `error:N`, `ALARM:N`, a line that is not GRBL or a
lost link raise `StreamHalt` at once. Pause/resume/abort requests arrive as control messages
on the client's event queue.
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass

from drivers.grbl.client import GrblClient
from lasergen.backends.grbl.codes import alarm_text, error_text


@dataclass
class Item:
    seqs: list[int]  # sequence numbers of the lines in this write unit
    data: bytes  # the lines, each ending in "\n"
    sizes: list[int]


class StreamHalt(Exception):
    """The stream stopped; `kind` says why (error, alarm, protocol, link, stall, abort)."""

    def __init__(self, kind: str, message: str, seq: int | None = None, code: int | None = None):
        super().__init__(message)
        self.kind, self.seq, self.code = kind, seq, code


class Streamer:
    def __init__(self, client: GrblClient, window_bytes: int = 127, poll_s: float = 0.2, stall_s: float = 3.0):
        self.client = client
        self.window = window_bytes
        self.poll_s = poll_s
        self.stall_s = stall_s
        self.paused = False

    def run(self, items: list[Item], handler, wait_idle: bool = True):
        client = self.client
        pending: deque[tuple[int, int]] = deque()  # (seq, bytes) sent, unanswered
        in_flight = 0
        k = 0
        next_poll = time.monotonic()
        poll_sent_at = None
        idle_seen = False
        while True:
            if not self.paused and k < len(items):
                batch, sent = bytearray(), []
                while k < len(items) and in_flight + len(items[k].data) <= self.window:
                    item = items[k]
                    batch += item.data
                    for seq, size in zip(item.seqs, item.sizes):
                        pending.append((seq, size))
                        sent.append(seq)
                    in_flight += len(item.data)
                    k += 1
                if batch:
                    client.write(bytes(batch))
                    handler.on_sent(sent)
            if k >= len(items) and not pending and (idle_seen or not wait_idle):
                return
            now = time.monotonic()
            if k >= len(items) and not pending:
                next_poll = min(next_poll, now)  # all answered: ask for Idle at once
            if poll_sent_at is not None and now - poll_sent_at > self.stall_s:
                raise StreamHalt("stall", f"controller stopped responding (no status report for {self.stall_s:g} s)")
            if now >= next_poll and poll_sent_at is None:
                client.write(b"?")
                poll_sent_at, next_poll = now, now + self.poll_s
            msg = client.next_event(max(0.0, min(next_poll, (poll_sent_at or now) + self.stall_s) - now))
            if msg is None:
                continue
            kind = msg.kind
            if kind == "ok" or kind == "error":
                if not pending:
                    raise StreamHalt("protocol", f"unexpected {msg.text!r} with nothing outstanding")
                seq, size = pending.popleft()
                in_flight -= size
                if kind == "error":
                    raise StreamHalt("error", f"line refused: {error_text(msg.code)}", seq=seq, code=msg.code)
                handler.on_ack(seq)
            elif kind == "status":
                poll_sent_at = None
                idle_seen = msg.status.state == "Idle" and k >= len(items) and not pending
                handler.on_status(msg.status)
            elif kind == "alarm":
                raise StreamHalt("alarm", alarm_text(msg.code), code=msg.code)
            elif kind == "link_lost":
                raise StreamHalt("link", msg.text)
            elif kind == "unknown":
                raise StreamHalt("protocol", f"unreadable answer from the controller: {msg.text[:40]!r}")
            elif kind in CONTROL:
                CONTROL[kind](self)
            else:
                handler.on_message(msg)

    def _pause(self):
        self.paused = True
        self.client.feed_hold()

    def _resume(self):
        self.paused = False
        self.client.cycle_start()

    def _abort(self):
        raise StreamHalt("abort", "aborted by the operator")


CONTROL = {"pause": Streamer._pause, "resume": Streamer._resume, "abort": Streamer._abort}
