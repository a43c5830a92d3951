"""Toolpath: the planned job as columnar numpy arrays, one row per controller motion.

Real jobs hold 10^5..10^6 marks, so rows are not objects. Row kinds:
  RAPID  travel at the machine's maximum rate, laser gated off (G0)
  LINE   straight move at `speed_mm_s`; writes when `energy_uJ` > 0 (G1 ... S), else a blank
         constant-speed move such as a raster lead-in or a gap inside a scan line (G1 ... S0)
  DWELL  laser on at `energy_uJ` for `dwell_s` without moving (a dot: G1 M3 S / G4 P / M5)
`pass_id` numbers each (layer, pass) block; the laser is switched on and off around it.
`z0`, `z1`: the stage's Z (mm, work coordinates) at the row's start and end. A flat job keeps
Z at 0 and never states it; a job in depth (`lasergen.focus`) changes Z between planes with
a RAPID that moves Z alone, and along a plane where the sample is tilted.
A toolpath built chained (`chained_columns`: the raster planner) holds each start column as a
view of its end column shifted by one row in one buffer, so chaining copies nothing; columns
are never changed in place one without the other (every operation here returns new arrays).
X and Y are float64; Z (float32: 2 nm resolution over +-16 mm, 50x finer than the 0.1 um the
job files write), speed, dwell and energy are float32, which keeps a 10^7-row toolpath under
600 MB.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from lasergen import kernels
from lasergen.columns import ColumnTable

RAPID, LINE, DWELL = 0, 1, 2


def masked_bounds(x0, y0, x1, y1, mask) -> tuple[float, float, float, float]:
    """(x min, y min, x max, y max) over both ends of the rows in `mask` (at least one)."""
    kernel = kernels.get()
    if kernel is not None:
        return kernel.mark_bounds(*map(np.ascontiguousarray, (x0, y0, x1, y1, mask)))[1]
    x0, x1, y0, y1 = (np.compress(mask, c) for c in (x0, x1, y0, y1))
    return (float(min(x0.min(), x1.min())), float(min(y0.min(), y1.min())),
            float(max(x0.max(), x1.max())), float(max(y0.max(), y1.max())))
KIND_NAMES = {RAPID: "rapid", LINE: "line", DWELL: "dwell"}


def chained_columns(n: int, dtype=np.float64) -> tuple[np.ndarray, np.ndarray]:
    """(starts, ends) of n rows as views of one n + 1 buffer: starts[i + 1] is ends[i], starts[0]
    is 0 until `Toolpath.chain` sets it."""
    buffer = np.empty(n + 1, dtype)
    buffer[0] = 0
    return buffer[:-1], buffer[1:]


def _is_shifted_view(starts: np.ndarray, ends: np.ndarray) -> bool:
    """Is starts[1:] the very memory of ends[:-1] (`chained_columns`)?"""
    return starts.dtype == ends.dtype and starts.strides == ends.strides == (starts.itemsize,) \
        and ends.ctypes.data == starts.ctypes.data + starts.itemsize

COLUMNS = {
    "kind": np.uint8, "x0": np.float64, "y0": np.float64, "x1": np.float64, "y1": np.float64,
    "speed_mm_s": np.float32, "dwell_s": np.float32, "energy_uJ": np.float32, "pass_id": np.int32,
    "layer": np.int16, "z0": np.float32, "z1": np.float32,
}


@dataclass
class Toolpath(ColumnTable):
    COLUMNS: ClassVar[dict] = COLUMNS
    kind: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    speed_mm_s: np.ndarray
    dwell_s: np.ndarray
    energy_uJ: np.ndarray
    pass_id: np.ndarray
    layer: np.ndarray
    z0: np.ndarray
    z1: np.ndarray

    @classmethod
    def from_columns(cls, **columns) -> "Toolpath":
        n = len(columns["kind"])
        out = {}
        for name, dtype in COLUMNS.items():
            value = np.asarray(columns.get(name, 0), dtype=dtype)  # no copy when already right
            if value.shape != (n,):  # a constant (zeros: fresh pages, no fill)
                value = np.zeros(n, dtype) if value.ndim == 0 and value == 0 else np.full(n, value, dtype=dtype)
            out[name] = value
        return cls(**out)

    def chain(self, start_mm: tuple[float, ...] = (0.0, 0.0)) -> "Toolpath":
        """In place: every row starts where the previous one ended (the toolpath as executed);
        `start_mm` is (x, y) or (x, y, z)."""
        if len(self):
            self.x0[0], self.y0[0] = start_mm[:2]
            self.z0[0] = start_mm[2] if len(start_mm) > 2 else 0.0
            for starts, ends in ((self.x0, self.x1), (self.y0, self.y1), (self.z0, self.z1)):
                if not _is_shifted_view(starts, ends):  # a chained build shares the memory already
                    starts[1:] = ends[:-1]
        return self

    def without_null_moves(self) -> "Toolpath":
        """Drop moves of zero length (e.g. a lead-in when overscan is 0); dwells stay."""
        keep = (self.kind == DWELL) | (self.x1 != self.x0) | (self.y1 != self.y0) | (self.z1 != self.z0)
        return self if keep.all() else self.take(keep)

    @property
    def dz_mm(self) -> np.ndarray:
        return self.z1.astype(np.float64) - self.z0

    @property
    def has_z(self) -> bool:
        """Does the toolpath move Z at all (or hold it anywhere but 0)?"""
        return bool(len(self)) and bool((self.z1 != 0).any() or (self.z0 != 0).any())

    @property
    def length_mm(self) -> np.ndarray:
        """Length of each row's straight move in X, Y and Z."""
        if not self.has_z:
            return np.hypot(self.x1 - self.x0, self.y1 - self.y0)
        return np.sqrt((self.x1 - self.x0) ** 2 + (self.y1 - self.y0) ** 2 + self.dz_mm ** 2)

    @property
    def is_mark(self) -> np.ndarray:
        """Rows that expose the glass (beam on): written lines and dots."""
        return (self.energy_uJ > 0) & (self.kind != RAPID)

    @property
    def is_rapid(self) -> np.ndarray:
        """Rows of travel at the maximum rate, beam gated off (G0)."""
        return self.kind == RAPID

    @property
    def is_line(self) -> np.ndarray:
        """Straight moves at `speed_mm_s` (written where `energy_uJ` > 0, else blank moves)."""
        return self.kind == LINE

    @property
    def is_dwell(self) -> np.ndarray:
        """Dots: the beam on at `energy_uJ` for `dwell_s` without moving."""
        return self.kind == DWELL

    def bounds_mm(self) -> tuple[float, float, float, float]:
        if not len(self):
            return (0.0, 0.0, 0.0, 0.0)
        return (float(min(self.x0.min(), self.x1.min())), float(min(self.y0.min(), self.y1.min())),
                float(max(self.x0.max(), self.x1.max())), float(max(self.y0.max(), self.y1.max())))

    def z_range_mm(self, marks_only: bool = False) -> tuple[float, float]:
        """(low, high) of the stage Z over the rows (or over the marks only); (0, 0) if none."""
        rows = self.is_mark if marks_only else np.ones(len(self), dtype=bool)
        if not rows.any():
            return (0.0, 0.0)
        z = np.concatenate([self.z0[rows], self.z1[rows]])
        return (float(z.min()), float(z.max()))

    def mark_bounds_mm(self) -> tuple[float, float, float, float]:
        marks = self.is_mark
        if not marks.any():
            return (0.0, 0.0, 0.0, 0.0)
        return masked_bounds(self.x0, self.y0, self.x1, self.y1, marks)

    def stats(self, length: np.ndarray | None = None) -> dict:
        marks = self.is_mark
        length = self.length_mm if length is None else length
        return {
            "rows": int(len(self)),
            "marks": int(marks.sum()),
            "line_marks": int((marks & (self.kind == LINE)).sum()),
            "dots": int((marks & (self.kind == DWELL)).sum()),
            "mark_length_mm": float(length[marks & (self.kind == LINE)].sum()),
            "travel_mm": float(length[~marks].sum()),
            "passes": self.pass_count(),
        }

    def pass_count(self) -> int:
        return int(np.count_nonzero(np.bincount(self.pass_id))) if len(self) else 0
