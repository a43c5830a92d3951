"""Character-counting streaming (GRBL interface.md, doc/script/stream.py's "aggressive" mode).

GRBL's RX buffer holds 128 bytes (127 usable in the ring). The sender keeps the bytes of
every line it has sent but not yet seen answered, newline included, within that window;
each `ok`/`error:N` frees the oldest line's bytes. Lines go out in write units
(`drivers.grbl.plan.units`): everything that fits in one write, a barrier unit only once
every earlier line is answered. The handler hears of each write BEFORE the bytes leave
(write-ahead), of each `ok` (acked) and of each proof of execution (`drivers.grbl.tracker`).

An `error:N` or an unreadable answer is met with a feed hold at once, from the client's
reader thread: the refused line may be the beam-off line after a mark, and under M3 GRBL
keeps the beam on at rest, so the beam rests on the mark's end only for that reaction time.
Every wait is bounded. A stall (the firmware hangs: steppers and parser freeze, the beam stays
as it was) can only be seen as silence: GRBL answers `?` from its real-time handler within
milliseconds whatever it is doing (streaming, in a G4 dwell, in a hold). So the beam is off
after a hang within `stall_budget_s` (the status interval by default) plus the reaction (the
hold and reset bytes): `stall_timing` derives from it, in one place, how often `?` goes out
and how long one may stay unanswered, the two adding up to the budget. Silence is counted in
time this process was running (a host too busy to run the loop, as a shared machine can be,
does not make a stall, and answers already received are read before any silence is judged).
A line left unanswered far longer than GRBL's planner model says the work queued ahead of it
takes (`ack_limit_s`) is a stall too. A halt raises
`StreamHalt` at once: `error:N` (with the refused seq), `ALARM:N`, a line that is not GRBL,
a lost link, a stall, and a reset nobody asked for (a welcome banner, or the unlock message
that follows one, mid-stream: the controller's queue and position are gone, and any `error:9`
after it answers lines the reset discarded, so nothing after it is booked). Pause, resume,
abort and interrupt requests arrive as control messages on the client's event queue.
"""

from __future__ import annotations

import time
from collections import deque

from drivers.grbl.client import GrblClient
from drivers.grbl.tracker import ExecutionTracker
from drivers.session import StreamHalt
from lasergen.backends.grbl.codes import alarm_text, error_text

ACK_MARGIN_S = 2.0  # on top of 1.5 x the modelled time of the queued work
LATE_S = 0.01  # a wait that overran by more than this means the host, not the controller, was slow


def ack_limit_s(queued_s: float) -> float:
    """How long a line may stay unanswered: GRBL answers a motion line once its block is in
    the planner, i.e. after the queued work ahead of it ran (a dwell, a sync line: all of it)."""
    return 1.5 * queued_s + ACK_MARGIN_S


def stall_timing(status_interval_s: float, stall_budget_s: float) -> tuple[float, float]:
    """(poll period, reply timeout) that see a hang within stall_budget_s: a hang right after
    an answered `?` is found when the next poll (one period later) stays unanswered for the
    timeout, so the two add up to the budget. Two polls per interval (5-10 Hz, what GRBL
    senders commonly use; `?` is one byte to the controller, its report ~60 bytes on the
    other direction of the link), and never slower than the status interval the caller asked."""
    period_s = min(status_interval_s, stall_budget_s) / 2.0
    return period_s, stall_budget_s - period_s


class Streamer:
    def __init__(self, client: GrblClient, window_bytes: int = 127, poll_s: float = 0.2,
                 stall_budget_s: float | None = None):
        self.client = client
        self.window = window_bytes
        self.poll_s = poll_s  # the status interval
        self.stall_budget_s = stall_budget_s  # None: the status interval
        self.paused = False

    def run(self, table, plan, unit_iter, handler):
        self.client.hold_on_refusal = True
        try:
            self._run(table, plan, unit_iter, handler)
        finally:
            self.client.hold_on_refusal = False

    def _run(self, table, plan, unit_iter, handler):
        client = self.client
        tracker = ExecutionTracker()
        commands = plan.commands
        duration = table.duration_s
        pending: deque[tuple[int, int]] = deque()  # (seq, bytes) written, unanswered
        queued_s = 0.0  # modelled time of the lines written and not yet proven executed
        in_flight = 0
        unit = next(unit_iter, None)
        last_seq = len(commands) - 1
        period_s, reply_timeout_s = stall_timing(self.poll_s, self.stall_budget_s or self.poll_s)
        next_poll = time.monotonic()
        poll_sent_at = None
        last_answer = time.monotonic()

        def line_s(seq):
            return float(duration[commands[seq]]) if commands[seq] >= 0 else 0.0

        def executed(before):
            nonlocal queued_s
            for seq in range(before + 1, tracker.executed_seq + 1):
                queued_s -= line_s(seq)
            if tracker.executed_seq > before:
                handler.executed(tracker.executed_seq)

        while True:
            if not self.paused and unit is not None:
                batch, last = bytearray(), None
                if not pending:
                    last_answer = time.monotonic()  # the ack clock starts with the first line out
                while unit is not None and in_flight + len(unit.data) <= self.window \
                        and not (unit.barrier and pending):
                    batch += unit.data
                    for seq, size in zip(unit.seqs, unit.sizes):
                        pending.append((seq, size))
                        queued_s += line_s(seq)
                        last = seq
                    in_flight += len(unit.data)
                    unit = next(unit_iter, None)
                if batch:
                    handler.written(last)
                    client.write(bytes(batch))
            now = time.monotonic()
            if unit is None and not pending and tracker.executed_seq >= last_seq:
                return
            if unit is None and not pending:
                next_poll = min(next_poll, now + 0.02)  # all answered: ask for Idle soon
            answers_waiting = not client.events.empty()  # read them before calling anything a stall
            if poll_sent_at is not None and now - poll_sent_at > reply_timeout_s and not answers_waiting:
                raise StreamHalt("stall", f"controller stopped responding (no status report for "
                                          f"{reply_timeout_s:g} s)")
            if pending and not self.paused and now - last_answer > ack_limit_s(queued_s) and not answers_waiting:
                raise StreamHalt("stall", f"controller stopped answering: no ok for {now - last_answer:.1f} s "
                                          f"(the queued work should take {queued_s:.1f} s)")
            if now >= next_poll and poll_sent_at is None:
                client.write(b"?")
                poll_sent_at, next_poll = now, now + period_s
            wait = max(0.0, min(next_poll, (poll_sent_at or now) + reply_timeout_s) - now)
            wait = min(wait, period_s)
            msg = client.next_event(wait)
            if msg is None:
                late = time.monotonic() - (now + wait)
                if late > LATE_S:  # this process was not scheduled: that silence is ours, not the controller's
                    poll_sent_at = None if poll_sent_at is None else poll_sent_at + late
                    last_answer += late
                continue
            while msg is not None:  # every answer already read, before the next write
                kind = msg.kind
                if kind == "ok" or kind == "error":
                    if not pending:
                        raise StreamHalt("protocol", f"unexpected {msg.text!r} with nothing outstanding")
                    seq, size = pending.popleft()
                    in_flight -= size
                    last_answer = time.monotonic()
                    if kind == "error":
                        raise StreamHalt("error", f"line refused: {error_text(msg.code)}", seq=seq, code=msg.code)
                    handler.acked(seq)
                    line = commands[seq]
                    before = tracker.executed_seq
                    tracker.ack(seq, int(table.blocks[line]) if line >= 0 else 0, bool(table.sync[line]) if line >= 0 else True)
                    executed(before)
                elif kind == "status":
                    poll_sent_at = None
                    st = msg.status
                    before = tracker.executed_seq
                    tracker.status(st)
                    executed(before)
                    handler.status(st)
                elif kind == "alarm":
                    raise StreamHalt("alarm", alarm_text(msg.code), code=msg.code)
                elif kind == "banner" or (kind == "msg" and ("unlock" in msg.text or "Reset to continue" in msg.text)):
                    raise StreamHalt("reset", f"the controller was reset mid-stream ({msg.text[:40]!r})")
                elif kind == "link_lost":
                    raise StreamHalt("link", msg.text)
                elif kind == "unknown":
                    raise StreamHalt("protocol", f"unreadable answer from the controller: {msg.text[:40]!r}")
                elif kind in CONTROL:
                    CONTROL[kind](self, msg)
                    last_answer = time.monotonic()  # a pause stops the ack clock
                msg = client.waiting_event()

    def _pause(self, msg):
        self.paused = True
        self.client.feed_hold()

    def _resume(self, msg):
        self.paused = False
        self.client.cycle_start()

    def _abort(self, msg):
        raise StreamHalt("interrupt" if msg.kind == "interrupt" else "abort",
                         "interrupted (Ctrl-C)" if msg.kind == "interrupt" else "aborted by the operator")


CONTROL = {"pause": Streamer._pause, "resume": Streamer._resume, "abort": Streamer._abort,
           "interrupt": Streamer._abort}
