"""Beam history: what the beam did, in time, as an emulated controller executed it.

This is the one seam between the machine and the glass model. A controller emulator (GRBL,
PI GCS, ...) appends a segment for every interval it executed, stamped by its own clock
(`exposure_record.ExposureRecorder`); a job that is not streamed gets the same segments from
the same executor run in batch (`hardware_sim.batch`). The glass model reads nothing else: no
G-code, no pass labels, no planner output.

Columns (numpy arrays, one row per executed segment, in time order):
  t_start_s, duration_s       the controller's clock when the segment began, and how long it lasted
  x0, y0, z0, x1, y1, z1      mm, machine coordinates at its start and end (equal for a rest)
  v_entry, v_peak, v_exit     mm/s of its trapezoidal velocity profile (0 for a rest)
  accel                       mm/s^2 of the ramps (0: constant speed, length / duration)
  beam_on                     1 while the laser fired (G1/G2/G3 or a dwell under M3 with S > 0)
  energy_uJ                   pulse energy delivered (after the controller's S clamp and the
                              laser's own limit), 0 with the beam off
  rep_rate_kHz                pulse repetition rate
  s_command                   the S word commanded (before any clamp; 0 if the family has none)
  clamped                     1 where the commanded power exceeded what the controller or laser
                              can deliver (the segment ran at the clamped energy)
  hold                        1 for a rest caused by a feed hold or pause (beam gated off)
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

import numpy as np

from lasergen import LasergenError
from lasergen.columns import ColumnTable

COLUMNS = {
    "t_start_s": np.float64, "duration_s": np.float64,
    "x0": np.float64, "y0": np.float64, "z0": np.float64, "x1": np.float64, "y1": np.float64, "z1": np.float64,
    "v_entry": np.float64, "v_peak": np.float64, "v_exit": np.float64, "accel": np.float64,
    "beam_on": np.int8, "energy_uJ": np.float64, "rep_rate_kHz": np.float64, "s_command": np.float64,
    "clamped": np.int8, "hold": np.int8,
}
FORMAT_VERSION = 2


@dataclass
class BeamHistory(ColumnTable):
    COLUMNS: ClassVar[dict] = COLUMNS
    t_start_s: np.ndarray
    duration_s: np.ndarray
    x0: np.ndarray
    y0: np.ndarray
    z0: np.ndarray
    x1: np.ndarray
    y1: np.ndarray
    z1: np.ndarray
    v_entry: np.ndarray
    v_peak: np.ndarray
    v_exit: np.ndarray
    accel: np.ndarray
    beam_on: np.ndarray
    energy_uJ: np.ndarray
    rep_rate_kHz: np.ndarray
    s_command: np.ndarray
    clamped: np.ndarray
    hold: np.ndarray

    # -- construction -------------------------------------------------------------------
    @classmethod
    def from_columns(cls, **columns) -> BeamHistory:
        """Rows from columns (scalars broadcast). Defaults: a segment ends where it starts, the
        beam is on where energy > 0, segments follow each other without gaps from t = 0."""
        unknown = sorted(set(columns) - set(COLUMNS))
        if unknown:
            raise LasergenError(f"beam history: unknown column(s) {', '.join(unknown)}; known: {', '.join(COLUMNS)}")
        n = max((np.size(v) for v in columns.values()), default=0)
        get = lambda name, default: np.broadcast_to(np.asarray(columns.get(name, default), dtype=np.float64), (n,))
        duration = get("duration_s", 0.0)
        defaults = {
            "x1": get("x0", 0.0), "y1": get("y0", 0.0), "z1": get("z0", 0.0),
            "beam_on": (get("energy_uJ", 0.0) > 0).astype(np.int8),
            "t_start_s": np.concatenate([[0.0], np.cumsum(duration)[:-1]]) if n else np.zeros(0),
        }
        out = {}
        for name, dtype in COLUMNS.items():
            value = columns[name] if name in columns else defaults.get(name, 0.0)
            out[name] = np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()
        return cls(**out)

    def append(self, **row) -> None:
        """Add one or more rows in place."""
        merged = BeamHistory.concat([self, BeamHistory.from_columns(**row)])
        for name in COLUMNS:
            setattr(self, name, getattr(merged, name))

    def shifted(self, dt_s: float) -> BeamHistory:
        """The same history with its clock moved by dt_s (e.g. to append a later session)."""
        out = self.take(slice(None))
        out.t_start_s = out.t_start_s + dt_s
        return out

    # -- access ---------------------------------------------------------------------------
    @property
    def t_end_s(self) -> np.ndarray:
        return self.t_start_s + self.duration_s

    @property
    def length_mm(self) -> np.ndarray:
        return np.sqrt((self.x1 - self.x0) ** 2 + (self.y1 - self.y0) ** 2 + (self.z1 - self.z0) ** 2)

    @property
    def is_exposure(self) -> np.ndarray:
        """Rows where the beam wrote: on, with energy, for some time."""
        return (self.beam_on > 0) & (self.energy_uJ > 0) & (self.duration_s > 0)

    @property
    def is_dwell(self) -> np.ndarray:
        """Exposures at rest (a dot)."""
        return self.is_exposure & (self.x0 == self.x1) & (self.y0 == self.y1) & (self.z0 == self.z1)

    def exposures(self) -> BeamHistory:
        return self.take(self.is_exposure)

    def bounds_mm(self) -> tuple[float, float, float, float]:
        """XY bounds of the exposures (all rows if the beam never wrote)."""
        rows = self.exposures() if self.is_exposure.any() else self
        if not len(rows):
            return (0.0, 0.0, 0.0, 0.0)
        xs, ys = np.concatenate([rows.x0, rows.x1]), np.concatenate([rows.y0, rows.y1])
        return float(xs.min()), float(ys.min()), float(xs.max()), float(ys.max())

    def at_time(self, t_s: float) -> BeamHistory:
        """The row executing at controller time t_s (empty if the machine was idle)."""
        return self.take((self.t_start_s <= t_s) & (t_s < self.t_end_s))

    def stats(self) -> dict:
        exp = self.exposures()
        dwell = exp.is_dwell
        return {"segments": len(self), "exposures": len(exp), "dots": int(dwell.sum()),
                "lines": int((~dwell).sum()), "mark_length_mm": float(exp.length_mm.sum()),
                "beam_on_s": float(exp.duration_s.sum()),
                "span_s": float(self.t_end_s.max() - self.t_start_s.min()) if len(self) else 0.0,
                "hold_s": float(self.duration_s[self.hold > 0].sum()),
                "clamped_segments": int((exp.clamped > 0).sum())}

    # -- persistence ----------------------------------------------------------------------
    def save(self, path: str | Path) -> None:
        """Write the history as .npz (".npz" added to a name without it, as numpy does), whole or
        not at all: written beside the target and renamed over it, so a reader that opens the file
        while the emulator saves it (`sim serve`'s save, on request and on exit) never sees half."""
        path = Path(path)
        if path.suffix != ".npz":
            path = path.with_name(path.name + ".npz")
        partial = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial")
        try:
            with open(partial, "wb") as f:
                np.savez_compressed(f, format_version=FORMAT_VERSION, **{n: getattr(self, n) for n in COLUMNS})
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)

    @classmethod
    def load(cls, path: str | Path) -> BeamHistory:
        try:
            with np.load(path) as data:
                version = int(data.get("format_version", -1))
                if version != FORMAT_VERSION:
                    raise LasergenError(f"beam history {path}: format version {version}, expected {FORMAT_VERSION}")
                missing = [n for n in COLUMNS if n not in data]
                if missing:
                    raise LasergenError(f"beam history {path}: missing column(s) {', '.join(missing)}")
                return cls(**{n: data[n].astype(COLUMNS[n]) for n in COLUMNS})
        except (OSError, ValueError, KeyError) as exc:
            raise LasergenError(f"beam history {path}: {exc}") from None


ExposureLedger = BeamHistory  # the name the stream and CLI code know it by
