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
     only once 5 more blocks have left after it (SEGMENT_LAG_BLOCKS). The count is read
     against the controller's own planner size (`planner_blocks`: what `$I` reports, so a
     build with a bigger planner, as grbl-Mega's 36 blocks, is not read as GRBL's 15), a count
     outside 0..planner_blocks proves nothing, and a count proves lines only as far as the
     previous report's count did too: reports carry no checksum, and one corrupted digit
     (Bf:9 for Bf:3) would otherwise prove lines still queued, which a resume would skip.
Lines with no planner block (comments aside: F/S-only, M-codes without sync) execute when
they are parsed; they count as done once every block before them has.
"""

from __future__ import annotations

from collections import deque

from drivers.grbl.protocol import Status

PLANNER_FREE_WHEN_EMPTY = 15
SEGMENT_LAG_BLOCKS = 5


class ExecutionTracker:
    def __init__(self, planner_blocks: int = PLANNER_FREE_WHEN_EMPTY):
        self.planner_blocks = planner_blocks  # Bf: when the planner is empty
        self.acked: deque[tuple[int, int]] = deque()  # (sequence number, planner blocks), not yet proven
        self.executed_seq = -1  # every sent line with sequence number <= this has executed
        self._last_count_proof = -1  # what the previous report's planner count proved

    def ack(self, seq: int, blocks: int, sync: bool) -> int:
        """Record the `ok` of line `seq`; returns the executed-through sequence number."""
        self.acked.append((seq, blocks))
        if sync:
            self._confirm_through(seq)
        return self.executed_seq

    def status(self, status: Status) -> int:
        if status.state == "Idle" and self.acked:
            self._confirm_through(self.acked[-1][0])
        elif status.state == "Run" and status.planner_free is not None \
                and 0 <= status.planner_free <= self.planner_blocks:
            proof = self._proven_by_blocks(self.planner_blocks - status.planner_free + SEGMENT_LAG_BLOCKS)
            self._confirm_through(min(proof, self._last_count_proof))  # two reports agree that far
            self._last_count_proof = proof
        return self.executed_seq

    def _proven_by_blocks(self, unproven_blocks: int) -> int:
        """The seq through which lines are done when all acked lines but those holding the newest
        `unproven_blocks` blocks are (executed_seq when that proves nothing new)."""
        remaining = unproven_blocks
        cut = len(self.acked)
        for i in range(len(self.acked) - 1, -1, -1):
            if remaining <= 0:
                break
            remaining -= self.acked[i][1]
            cut = i
        if remaining > 0:
            return self.executed_seq
        # lines before `cut` are proven; block-less lines right after them ride along
        while cut < len(self.acked) and self.acked[cut][1] == 0:
            cut += 1
        return self.acked[cut - 1][0] if cut > 0 else self.executed_seq

    def _confirm_through(self, seq: int):
        while self.acked and self.acked[0][0] <= seq:
            self.acked.popleft()
        self.executed_seq = max(self.executed_seq, seq)
