"""What GRBL's answers prove about execution, line by line.

`ok` means "parsed and queued in the planner", NOT "executed": up to 15 blocks (plus the
lines still in the 128-byte RX buffer) may be waiting when it arrives. A line is marked
executed only on proof:
  1. the `ok` of a synchronising line (M3/M5 changes, G4, S or mode changes at rest: see
     `Interpreter.synced`): GRBL answers it after the planner ran empty, so it and every
     line before it have executed (for G4, the dwell too);
  2. a status report `Idle`: planner and steppers are empty, so every line acknowledged
     before that report has executed (`Hold`, `Run` and `Alarm` prove nothing);
  3. a status report's `Bf:` planner count: if q blocks are still queued, all but the q
     newest acknowledged blocks have left the planner. A block leaves GRBL's planner when
     the stepper has prepared its last segment, not when it has run it; the segment buffer
     holds at most 5 segments and every block makes at least one, so a block is proven done
     only once 5 more blocks have left after it (SEGMENT_LAG_BLOCKS).
Lines with no planner block (comments aside: F/S-only, M-codes without sync) execute when
they are parsed; they count as done once every block before them has.
"""

from __future__ import annotations

from collections import deque

from drivers.grbl.protocol import Status

PLANNER_FREE_WHEN_EMPTY = 15
SEGMENT_LAG_BLOCKS = 5


class ExecutionTracker:
    def __init__(self):
        self.acked: deque[tuple[int, int]] = deque()  # (sequence number, planner blocks), not yet proven
        self.executed_seq = -1  # every sent line with sequence number <= this has executed

    def ack(self, seq: int, blocks: int, sync: bool) -> int:
        """Record the `ok` of line `seq`; returns the executed-through sequence number."""
        self.acked.append((seq, blocks))
        if sync:
            self._confirm_through(seq)
        return self.executed_seq

    def status(self, status: Status) -> int:
        if status.state == "Idle" and self.acked:
            self._confirm_through(self.acked[-1][0])
        elif status.state == "Run" and status.planner_free is not None and self.acked:
            queued = PLANNER_FREE_WHEN_EMPTY - status.planner_free
            self._confirm_blocks(queued + SEGMENT_LAG_BLOCKS)
        return self.executed_seq

    def _confirm_blocks(self, unproven_blocks: int):
        """All acked lines except those holding the newest `unproven_blocks` blocks are done."""
        remaining = unproven_blocks
        cut = len(self.acked)
        for i in range(len(self.acked) - 1, -1, -1):
            if remaining <= 0:
                break
            remaining -= self.acked[i][1]
            cut = i
        if remaining > 0:
            return
        # lines before `cut` are proven; block-less lines right after them ride along
        while cut < len(self.acked) and self.acked[cut][1] == 0:
            cut += 1
        if cut > 0:
            self._confirm_through(self.acked[cut - 1][0])

    def _confirm_through(self, seq: int):
        while self.acked and self.acked[0][0] <= seq:
            self.acked.popleft()
        self.executed_seq = max(self.executed_seq, seq)
