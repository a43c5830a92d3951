"""Job totals on GRBL's planner model, accumulated over a toolpath fed in pieces.

`JobEstimate.feed` takes consecutive pieces of a job's toolpath (all of it at once, or chunk by
chunk as a job file is read) and `result()` gives the figures `lasergen estimate` prints: time
split into writing, blank moves, travel and dwell, distances, counts, passes and mark bounds;
for a job in depth also the Z moves between planes (time, distance) and the marks' Z range.
Motion blocks go through `motion.BlockStream`, which plans them in the same windows whatever
the pieces, so the figures do not depend on how the job was cut, and memory is bounded by the
piece and one planning window (CHUNK_BLOCKS). What a piece cannot know alone is carried over:
the last block's pass and category, and whether a dwell or a move GRBL drops (no motor step;
it synchronises under M3 in laser mode) came after it (each synchronises GRBL).
"""

from __future__ import annotations

import numpy as np

from lasergen.backends.grbl.motion import CATEGORIES, GEOMETRY, DWELL_STEP_S, BlockStream, idle_lock_s, stepless
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, RAPID, Toolpath, masked_bounds

MARK, BLANK, TRAVEL, PLANE = 0, 1, 2, 3  # time categories of a motion row (PLANE: a RAPID moving Z alone)


def dwell_steps(dwell_s) -> np.ndarray:
    """GRBL's 50 ms G4 steps for each dwell (motion.dwell_seconds / DWELL_STEP_S)."""
    return np.ceil(np.round(np.round(np.asarray(dwell_s, dtype=np.float64), 3) / DWELL_STEP_S, 6))


class JobEstimate:
    def __init__(self, machine: MachineProfile):
        self.machine = machine
        self.stream = BlockStream(machine)
        self.time_s, self.dist_mm = np.zeros(CATEGORIES), np.zeros(CATEGORIES)
        self.stops = np.zeros(CATEGORIES, dtype=np.int64)  # blocks after which the steppers run dry, per category
        self.steps = 0  # G4 steps of 50 ms
        self.marks = self.dots = self.zero_length = 0  # zero_length: beam-on moves without steps
        self.lo = np.array([np.inf, np.inf])
        self.hi = np.array([-np.inf, -np.inf])
        self.z_lo, self.z_hi = np.inf, -np.inf  # Z over the marks
        self.pass_ids: set[int] = set()
        self.last_pass: int | None = None  # pass of the last block seen
        self.last_category: int | None = None
        self.sync_after_last = False  # a dwell or a dropped move (both sync) since the last block

    def feed(self, path: Toolpath) -> None:
        if not len(path):
            return
        marks = path.is_mark
        dwell = path.kind == DWELL
        self._count(path, marks, dwell)
        moves_z = path.z1 != path.z0
        dropped = stepless(path, self.machine)  # GRBL drops it, and syncs under M3 (motion.py)
        syncing = dwell | dropped
        any_sync = bool(syncing.any())
        blocks = np.flatnonzero(~syncing) if any_sync else None  # None: every row moves
        n_blocks = len(path) if blocks is None else blocks.size
        if n_blocks == 0:
            self.sync_after_last = True
            return
        rows = slice(None) if blocks is None else blocks  # a raster piece: views, not copies
        rapid = path.kind[rows] == RAPID
        category = (rapid * np.uint8(TRAVEL)) | ((~rapid & ~marks[rows]) * np.uint8(BLANK))
        if moves_z.any():  # a RAPID moving Z alone: a change of plane
            plane = rapid & moves_z[rows] & (path.x1[rows] == path.x0[rows]) & (path.y1[rows] == path.y0[rows])
            category[plane] = PLANE
        pass_id = path.pass_id[rows]
        sync = np.empty(n_blocks, dtype=bool)
        np.not_equal(pass_id[1:], pass_id[:-1], out=sync[1:])
        sync[0] = self.last_pass is not None and (int(pass_id[0]) != self.last_pass or self.sync_after_last)
        if any_sync:
            syncs_before = np.cumsum(syncing, dtype=np.int64)
            at_block = syncs_before[blocks]
            sync[1:] |= at_block[1:] != at_block[:-1]
            sync[0] |= self.last_pass is not None and at_block[0] > 0
            self.sync_after_last = bool(syncs_before[-1] > at_block[-1])
        else:
            self.sync_after_last = False
        if sync[0]:
            self.stops[self.last_category] += 1
        self.stops += np.bincount(category[:-1][sync[1:]], minlength=CATEGORIES)
        self.last_pass, self.last_category = int(pass_id[-1]), int(category[-1])
        cols = {name: getattr(path, name)[rows] for name in GEOMETRY}
        cols["category"] = category
        for planned in self.stream.feed(cols, sync):
            self._add(*planned)

    def _count(self, path: Toolpath, marks: np.ndarray, dwell: np.ndarray) -> None:
        self.steps += int(dwell_steps(path.dwell_s[dwell]).sum())
        n_marks = int(np.count_nonzero(marks))
        self.marks += n_marks
        self.dots += int(np.count_nonzero(marks & dwell))
        self.zero_length += int(np.count_nonzero(marks & ~dwell & (path.x0 == path.x1) & (path.y0 == path.y1)))
        if n_marks:
            x_lo, y_lo, x_hi, y_hi = masked_bounds(path.x0, path.y0, path.x1, path.y1, marks)
            self.lo = np.minimum(self.lo, [x_lo, y_lo])
            self.hi = np.maximum(self.hi, [x_hi, y_hi])
            if path.has_z:
                z_lo, z_hi = path.z_range_mm(marks_only=True)
                self.z_lo, self.z_hi = min(self.z_lo, z_lo), max(self.z_hi, z_hi)
        pid = path.pass_id
        starts = np.flatnonzero(pid[1:] != pid[:-1]) + 1  # where a pass begins (and row 0)
        self.pass_ids.update(np.unique(np.r_[pid[:1], pid[starts]]).tolist())

    def _add(self, time_s: np.ndarray, dist_mm: np.ndarray) -> None:
        self.time_s += time_s
        self.dist_mm += dist_mm

    def result(self) -> dict:
        for planned in self.stream.close():
            self._add(*planned)
        stops = self.stops.copy()
        if self.last_category is not None:
            stops[self.last_category] += 1  # the job's end
        time_s = self.time_s + stops * idle_lock_s(self.machine)
        dwell_time_s = self.steps * DWELL_STEP_S
        bounds = (0.0, 0.0, 0.0, 0.0) if not self.marks else (float(self.lo[0]), float(self.lo[1]),
                                                               float(self.hi[0]), float(self.hi[1]))
        return {
            "time_s": float(time_s.sum()) + dwell_time_s,
            "mark_time_s": float(time_s[MARK]),
            "dwell_time_s": dwell_time_s,
            "travel_time_s": float(time_s[TRAVEL] + time_s[PLANE]),
            "z_travel_time_s": float(time_s[PLANE]),
            "z_travel_mm": float(self.dist_mm[PLANE]),
            "mark_z_range_mm": [float(self.z_lo), float(self.z_hi)] if self.z_lo <= self.z_hi else [0.0, 0.0],
            "blank_time_s": float(time_s[BLANK]),
            "distance_mm": float(self.dist_mm.sum()),
            "mark_count": self.marks,
            "dot_count": self.dots,
            "line_count": self.marks - self.dots,
            "zero_length_marks": self.zero_length,
            "mark_length_mm": float(self.dist_mm[MARK]),
            "travel_mm": float(self.dist_mm[BLANK] + self.dist_mm[TRAVEL] + self.dist_mm[PLANE]),
            "passes": len(self.pass_ids),
            "bounds_mm": list(bounds),
        }
