"""Character-counting streaming (GRBL interface.md, doc/script/stream.py's "aggressive" mode).

GRBL's RX buffer holds 128 bytes (127 usable in the ring). The sender keeps the bytes of
every line it has sent but not yet seen answered, newline included, within that window;
each `ok`/`error:N` frees the oldest line's bytes. Lines go out in write units
(`drivers.grbl.plan.units`): everything that fits in one write, a barrier unit only once
every earlier line is answered. The handler hears of each write BEFORE the bytes leave
(write-ahead), of each `ok` (acked) and of each proof of execution (`drivers.grbl.tracker`).

The loop reads the port itself (`drivers.grbl.link`: `take_port`, `read_now`): each wake-up
takes everything that arrived and books all its answers; the next write goes out first, then
the handler hears once (acked through the last answer, executed through what they prove; at
a halt, before it is raised). An `error:N` or an unreadable answer is met with a feed hold
as it is parsed, before any other answer is handled: the refused line may be the beam-off
line after a mark, and under M3 GRBL keeps the beam on at rest, so the beam rests on the
mark's end only for that reaction time. Every wait is bounded. A stall (the firmware hangs:
steppers and parser freeze, the beam stays as it was) can only be seen as silence: GRBL
answers `?` from its real-time handler within milliseconds whatever it is doing (streaming,
in a G4 dwell, in a hold). So the beam is off after a hang within `stall_budget_s` (the
status interval by default) plus the reaction (the hold and reset bytes): `stall_timing`
derives from it, in one place, how often `?` goes out and how long one may stay unanswered,
the two adding up to the budget. Silence is counted in time this process was running (a
host too busy to run the loop, as a shared machine can be, does not make a stall, and
answers already received are read before any silence is judged). A line left unanswered far
longer than GRBL's planner model says the work queued ahead of it takes (`ack_limit_s`) is a
stall too. A halt raises
`StreamHalt` at once: `error:N` (with the refused seq), `ALARM:N`, a line that is not GRBL,
a lost link, a stall, and a reset nobody asked for (a welcome banner, or the unlock message
that follows one, mid-stream: the controller's queue and position are gone, and any `error:9`
after it answers lines the reset discarded, so nothing after it is booked). Pause, resume,
abort and interrupt requests arrive as control messages on the client's event queue, which
wakes the loop's wait.
"""

from __future__ import annotations

import time
from collections import deque

from drivers.grbl.client import GrblClient
from drivers.grbl.tracker import PLANNER_FREE_WHEN_EMPTY, ExecutionTracker
from drivers.session import StreamHalt
from lasergen.backends.grbl.codes import alarm_text, error_text

ACK_MARGIN_S = 2.0  # on top of 1.5 x the modelled time of the queued work
LATE_S = 0.01  # a wait that overran by more than this means the host, not the controller, was slow


def ack_limit_s(queued_s: float) -> float:
    """How long a line may stay unanswered: GRBL answers a motion line once its block is in
    the planner, i.e. after the queued work ahead of it ran (a dwell, a sync line: all of it)."""
    return 1.5 * queued_s + ACK_MARGIN_S


REPORT_BYTES = 100  # a status report with every optional field (WCO, Ov, Bf, Ln, FS, Pn, A)


def stall_timing(status_interval_s: float, stall_budget_s: float, baud: int = 115200) -> tuple[float, float]:
    """(poll period, reply timeout) that see a hang within stall_budget_s: a hang right after
    an answered `?` is found when the next poll (one period later) stays unanswered for the
    timeout, so the two add up to the budget. Two polls per interval (5-10 Hz, what GRBL
    senders commonly use; `?` is one byte to the controller, its report ~60 bytes on the
    other direction of the link), and never slower than the status interval the caller asked.
    The timeout is never shorter than three reports take on the link (10 bits a byte): on a
    slow link (9600 baud: 0.31 s) a report on its way is not silence, and the budget grows."""
    period_s = min(status_interval_s, stall_budget_s) / 2.0
    return period_s, max(stall_budget_s - period_s, 3 * REPORT_BYTES * 10 / baud)


class Streamer:
    def __init__(self, client: GrblClient, window_bytes: int = 127, poll_s: float = 0.2,
                 stall_budget_s: float | None = None, planner_blocks: int = PLANNER_FREE_WHEN_EMPTY):
        self.client = client
        self.window = window_bytes
        self.planner_blocks = planner_blocks  # what `Bf:` reports with the planner empty
        self.poll_s = poll_s  # the status interval
        self.stall_budget_s = stall_budget_s  # None: the status interval
        self.paused = False

    def run(self, table, plan, unit_iter, handler):
        client = self.client
        client.hold_on_refusal = True
        client.take_port()
        try:
            self._run(plan, unit_iter, handler)
        finally:
            client.release_port()
            client.hold_on_refusal = False

    def _run(self, plan, unit_iter, handler):
        client, clock = self.client, time.monotonic
        tracker = ExecutionTracker(self.planner_blocks)
        pending: deque[tuple] = deque()  # lines written and unanswered (`Unit.lines` entries)
        unproven: deque[tuple] = deque()  # the same entries, written and not yet proven executed
        queued_s = 0.0  # modelled time of the lines written and not yet proven executed
        in_flight = 0
        unit = next(unit_iter, None)
        last_seq = len(plan.commands) - 1
        machine = getattr(client, "machine", None)
        period_s, reply_timeout_s = stall_timing(self.poll_s, self.stall_budget_s or self.poll_s,
                                                 getattr(machine, "baud", 115200))
        next_poll = clock()
        poll_sent_at = None
        last_answer = clock()
        acked = told_acked = told_done = -1

        def tell():  # the handler hears once per read, after the next write went out
            nonlocal told_acked, told_done, queued_s
            if acked > told_acked:
                told_acked = acked
                handler.acked(acked)
            done = tracker.executed_seq
            if done > told_done:
                told_done = done
                while unproven and unproven[0][0] <= done:
                    queued_s -= unproven.popleft()[2]
                handler.executed(done)

        while True:
            if not self.paused and unit is not None:
                batch, last = [], None
                if not pending:
                    last_answer = clock()  # the ack clock starts with the first line out
                while unit is not None and in_flight + unit.size <= self.window \
                        and not (unit.barrier and pending):
                    batch.append(unit.data)
                    pending.extend(unit.lines)
                    unproven.extend(unit.lines)
                    queued_s += unit.seconds
                    in_flight += unit.size
                    last = unit.lines[-1][0]
                    unit = next(unit_iter, None)
                if batch:
                    handler.written(last)  # one write-ahead record for every unit of this write
                    client.write(batch[0] if len(batch) == 1 else b"".join(batch))
            tell()
            now = clock()
            if unit is None and not pending and tracker.executed_seq >= last_seq:
                return
            if unit is None and not pending:
                next_poll = min(next_poll, now + 0.02)  # all answered: ask for Idle soon
            # answers already arrived are read before anything is called a stall
            if poll_sent_at is not None and now - poll_sent_at > reply_timeout_s \
                    and not client.answers_waiting():
                raise StreamHalt("stall", f"controller stopped responding (no status report for "
                                          f"{reply_timeout_s:g} s)")
            if pending and not self.paused and now - last_answer > ack_limit_s(queued_s) \
                    and not client.answers_waiting():
                raise StreamHalt("stall", f"controller stopped answering: no ok for {now - last_answer:.1f} s "
                                          f"(the queued work should take {queued_s:.1f} s)")
            if now >= next_poll and poll_sent_at is None:
                client.write(b"?")
                poll_sent_at, next_poll = now, now + period_s
            wait = max(0.0, min(next_poll, (poll_sent_at or now) + reply_timeout_s) - now)
            wait = min(wait, period_s)
            messages = client.read_now(wait)
            if not messages:
                late = clock() - (now + wait)
                if late > LATE_S:  # this process was not scheduled: that silence is ours, not the controller's
                    poll_sent_at = None if poll_sent_at is None else poll_sent_at + late
                    last_answer += late
                continue
            answered = acked
            try:
                for msg in messages:  # every answer of this read, before the next write
                    kind = msg.kind
                    if kind == "ok":
                        if not pending:
                            raise StreamHalt("protocol", f"unexpected {msg.text!r} with nothing outstanding")
                        seq, size, _, blocks, sync = pending.popleft()
                        in_flight -= size
                        acked = seq
                        tracker.ack(seq, blocks, sync)
                    elif kind == "error":
                        if not pending:
                            raise StreamHalt("protocol", f"unexpected {msg.text!r} with nothing outstanding")
                        seq = pending.popleft()[0]
                        raise StreamHalt("error", f"line refused: {error_text(msg.code)}", seq=seq, code=msg.code)
                    elif kind == "status":
                        poll_sent_at = None
                        tracker.status(msg.status)
                        handler.status(msg.status)
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
                        last_answer = clock()  # a pause stops the ack clock
            except BaseException:
                tell()  # what this read proved before the halt is booked
                raise
            if acked != answered:
                last_answer = clock()

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
