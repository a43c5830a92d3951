"""Exposure ledger: what the laser actually did, one row per laser-on segment or dwell.

This is the seam between the machine and the sample. The GRBL emulator appends a row each time
it executes a block with the beam on (G1 with S > 0 in laser mode, or a G4 dwell under M3);
`ExposureLedger.from_toolpath` builds the same rows from a Toolpath and its controller's motion
profile, so simulating the ledger and simulating the G-code give identical predictions.

Columns (numpy arrays, like `lasergen.toolpath.Toolpath`):
  x0, y0, x1, y1     mm, machine coordinates (a dwell has x0 == x1, y0 == y1)
  v_entry, v_peak, v_exit   mm/s of the trapezoidal velocity profile (0 for a dwell)
  accel              mm/s^2 of the ramps
  duration_s         time the beam was on for this row (the dwell time for a dwell)
  dwell_s            > 0 only for dwells
  energy_uJ          pulse energy delivered at the laser head setting (S mapped by the machine)
  rep_rate_kHz       pulse repetition rate
  t_start_s          job clock when the row started
  pass_id, layer     the (layer, pass) block the row belongs to (-1 / 0 if unknown)
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from lasergen import LasergenError
from lasergen.backends import language_for
from lasergen.columns import ColumnTable
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, Toolpath

COLUMNS = {
    "x0": np.float64, "y0": np.float64, "x1": np.float64, "y1": np.float64,
    "v_entry": np.float64, "v_peak": np.float64, "v_exit": np.float64, "accel": np.float64,
    "duration_s": np.float64, "dwell_s": np.float64, "energy_uJ": np.float64,
    "rep_rate_kHz": np.float64, "t_start_s": np.float64, "pass_id": np.int32, "layer": np.int32,
}
FORMAT_VERSION = 1


@dataclass
class ExposureLedger(ColumnTable):
    COLUMNS: ClassVar[dict] = COLUMNS
    x0: np.ndarray
    y0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    v_entry: np.ndarray
    v_peak: np.ndarray
    v_exit: np.ndarray
    accel: np.ndarray
    duration_s: np.ndarray
    dwell_s: np.ndarray
    energy_uJ: np.ndarray
    rep_rate_kHz: np.ndarray
    t_start_s: np.ndarray
    pass_id: np.ndarray
    layer: np.ndarray

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_columns(cls, **columns) -> "ExposureLedger":
        unknown = sorted(set(columns) - set(COLUMNS))
        if unknown:
            raise LasergenError(f"ledger: unknown column(s) {', '.join(unknown)}")
        n = len(np.atleast_1d(columns.get("x0", [])))
        defaults = {"pass_id": -1, "x1": columns.get("x0", 0.0), "y1": columns.get("y0", 0.0)}
        out = {}
        for name, dtype in COLUMNS.items():
            value = columns.get(name, defaults.get(name, 0.0))
            out[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        return cls(**out)

    @classmethod
    def from_toolpath(cls, path: Toolpath, machine: MachineProfile, t0_s: float = 0.0) -> "ExposureLedger":
        """Laser-on rows of an executed (chained) toolpath, timed by the machine controller's motion model."""
        prof = language_for(machine).profile(path, machine)
        t_start = t0_s + np.concatenate([[0.0], np.cumsum(prof.duration_s)[:-1]])
        on = path.is_mark & ((path.kind == DWELL) | (path.length_mm > 0))
        is_dwell = path.kind[on] == DWELL
        return cls.from_columns(
            x0=path.x0[on], y0=path.y0[on],
            x1=np.where(is_dwell, path.x0[on], path.x1[on]), y1=np.where(is_dwell, path.y0[on], path.y1[on]),
            v_entry=prof.v_entry[on], v_peak=prof.v_peak[on], v_exit=prof.v_exit[on], accel=prof.accel[on],
            duration_s=prof.duration_s[on], dwell_s=np.where(is_dwell, path.dwell_s[on], 0.0),
            energy_uJ=path.energy_uJ[on], rep_rate_kHz=machine.rep_rate_kHz, t_start_s=t_start[on],
            pass_id=path.pass_id[on], layer=path.layer[on])

    def append(self, **row) -> None:
        """Add one or more rows in place."""
        merged = ExposureLedger.concat([self, ExposureLedger.from_columns(**row)])
        for name in COLUMNS:
            setattr(self, name, getattr(merged, name))

    # -- access ---------------------------------------------------------------------------
    @property
    def is_dwell(self) -> np.ndarray:
        return self.dwell_s > 0

    @property
    def length_mm(self) -> np.ndarray:
        return np.hypot(self.x1 - self.x0, self.y1 - self.y0)

    def bounds_mm(self) -> tuple[float, float, float, float]:
        if not len(self):
            return (0.0, 0.0, 0.0, 0.0)
        xs, ys = np.concatenate([self.x0, self.x1]), np.concatenate([self.y0, self.y1])
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

    def stats(self) -> dict:
        return {"rows": len(self), "dots": int(self.is_dwell.sum()),
                "lines": int((~self.is_dwell).sum()),
                "mark_length_mm": float(self.length_mm.sum()),
                "beam_on_s": float(self.duration_s.sum()),
                "passes": int(np.unique(self.pass_id).size)}

    def with_physical_passes(self) -> "ExposureLedger":
        """The same rows with passes derived from what the beam did, so a ledger recorded by the
        emulator (which sees the laser switch on once per dot) and one built from a job file
        (which names its passes) group alike: a run of line exposures under one laser enable is
        one pass; consecutive dots of one energy and dwell are one pass, until a dot lands where
        that pass already dwelt (a rewrite). The phase model counts rewrites per pass."""
        n = len(self)
        if n == 0:
            return self
        dwell = self.is_dwell
        new = np.ones(n, dtype=bool)
        same_kind = dwell[1:] == dwell[:-1]
        same_line_pass = ~dwell[1:] & (self.pass_id[1:] == self.pass_id[:-1])
        same_dot_recipe = dwell[1:] & (self.energy_uJ[1:] == self.energy_uJ[:-1]) & \
            (self.dwell_s[1:] == self.dwell_s[:-1])
        new[1:] = ~(same_kind & (same_line_pass | same_dot_recipe))
        spot = np.round(self.x0 * 1e4).astype(np.int64) * 10_000_000 + np.round(self.y0 * 1e4).astype(np.int64)
        seen: set = set()
        for i in np.flatnonzero(dwell):  # a dot on a spot this pass already dwelt on starts a new pass
            if new[i]:
                seen = set()
            elif spot[i] in seen:
                new[i], seen = True, set()
            seen.add(spot[i])
        out = self.take(slice(None))
        out.pass_id = (np.cumsum(new) - 1).astype(np.int32)
        return out

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        np.savez_compressed(path, format_version=FORMAT_VERSION, **{n: getattr(self, n) for n in COLUMNS})

    @classmethod
    def load(cls, path: str | Path) -> "ExposureLedger":
        try:
            with np.load(path) as data:
                version = int(data.get("format_version", -1))
                if version != FORMAT_VERSION:
                    raise LasergenError(f"ledger {path}: format version {version}, expected {FORMAT_VERSION}")
                missing = [n for n in COLUMNS if n not in data]
                if missing:
                    raise LasergenError(f"ledger {path}: missing column(s) {', '.join(missing)}")
                return cls(**{n: data[n].astype(COLUMNS[n]) for n in COLUMNS})
        except (OSError, ValueError) as exc:
            raise LasergenError(f"ledger {path}: {exc}") from None
