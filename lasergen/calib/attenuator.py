"""Attenuator calibration: power-meter readings vs half-wave-plate angle -> Malus fit -> a machine
profile whose [beam.attenuator] table records the fit, its provenance and the range it covers.

Readings (CSV, `#` starts a comment): a column `angle_deg` and one of `energy_uJ` (pulse energy),
`power_mW` or `power_W` (average power; energy = power / repetition rate, so mW / kHz = uJ),
one reading per row. `transmission` scales what the meter saw to what reaches the sample (a meter
before the objective). The fit is `lasergen.malus.MalusCalibration.fit` (linear least squares in
1, cos 4 theta, sin 4 theta); residuals are reported per reading. The calibrated range is the
span of the fitted energies at the measured angles: the planner and the driver refuse energies
outside it. The profile is the base profile's TOML edited in place (tomlkit keeps its comments),
with `energy = "attenuator"`, and is loaded back through `MachineProfile` before it is written.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import tomlkit

from lasergen import LasergenError
from lasergen.machine import ALIASES, PROFILE_DIR, MachineProfile
from lasergen.malus import MalusCalibration

UNITS = {"energy_uJ": None, "power_mW": 1.0, "power_W": 1000.0}  # column -> mW per unit (None: energy)
MIN_READINGS = 5
MIN_SPAN_DEG = 45.0  # a quarter turn of the plate is a full swing of cos^2(2 theta)
RESIDUAL_WARNING = 0.05  # of the swing p_max - p_min


@dataclass
class AttenuatorFit:
    calibration: MalusCalibration
    angles_deg: np.ndarray
    energies_uJ: np.ndarray
    residuals_uJ: np.ndarray
    calibrated_uJ: tuple[float, float]
    warnings: list[str]

    def summary(self) -> dict:
        c = self.calibration
        return {"p_min_uJ": c.p_min, "p_max_uJ": c.p_max, "theta0_deg": c.theta0_deg,
                "rms_residual_uJ": c.rms_residual, "max_residual_uJ": float(np.abs(self.residuals_uJ).max()),
                "calibrated_uJ": list(self.calibrated_uJ), "readings": int(self.angles_deg.size),
                "residuals": [{"angle_deg": float(a), "energy_uJ": float(e), "residual_uJ": float(r)}
                              for a, e, r in zip(self.angles_deg, self.energies_uJ, self.residuals_uJ)],
                "warnings": self.warnings}


def read_readings(path: str | Path, rep_rate_kHz: float, transmission: float = 1.0) -> tuple[np.ndarray, np.ndarray]:
    """(angles in degrees, pulse energies at the sample in uJ) from a readings CSV."""
    if not (math.isfinite(rep_rate_kHz) and rep_rate_kHz > 0):
        raise LasergenError(f"attenuator: repetition rate must be > 0 kHz, got {rep_rate_kHz:g}")
    if not (math.isfinite(transmission) and 0 < transmission <= 1):
        raise LasergenError(f"attenuator: --transmission must be in (0, 1], got {transmission:g}")
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise LasergenError(f"readings file not found: {path}") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise LasergenError(f"cannot read readings file {path}: {exc}") from None
    lines = [(i + 1, line) for i, line in enumerate(text.splitlines()) if line.strip() and not line.lstrip().startswith("#")]
    if not lines:
        raise LasergenError(f"{path}: no readings")
    reader = csv.reader(io.StringIO("\n".join(line for _, line in lines)))
    header = [h.strip() for h in next(reader)]
    value_cols = [c for c in UNITS if c in header]
    if "angle_deg" not in header or len(value_cols) != 1:
        raise LasergenError(f"{path}: the header needs angle_deg and one of {', '.join(UNITS)}; got {', '.join(header)}")
    ia, iv = header.index("angle_deg"), header.index(value_cols[0])
    angles, values = [], []
    for (line_no, _), row in zip(lines[1:], reader):
        try:
            a, v = float(row[ia]), float(row[iv])
        except (IndexError, ValueError):
            raise LasergenError(f"{path} line {line_no}: expected numbers for angle_deg and {value_cols[0]}, "
                                f"got {','.join(row)!r}") from None
        if not (math.isfinite(a) and math.isfinite(v)) or v < 0:
            raise LasergenError(f"{path} line {line_no}: readings must be finite and not negative, got {a:g}, {v:g}")
        angles.append(a)
        values.append(v)
    scale = UNITS[value_cols[0]]
    energy = np.array(values) if scale is None else np.array(values) * scale / rep_rate_kHz
    return np.array(angles), energy / transmission


def fit_readings(angles_deg: np.ndarray, energies_uJ: np.ndarray) -> AttenuatorFit:
    if angles_deg.size < MIN_READINGS:
        raise LasergenError(f"attenuator: {angles_deg.size} readings; a Malus fit needs at least {MIN_READINGS}")
    cal = MalusCalibration.fit(angles_deg, energies_uJ)
    if not cal.p_max - cal.p_min > 0:
        raise LasergenError("attenuator: the readings do not change with the angle (no Malus swing to fit)")
    model = cal.power(angles_deg)
    residuals = energies_uJ - model
    low, high = max(0.0, float(model.min())), float(model.max())
    warnings = []
    span = float(np.ptp(np.mod(angles_deg, 180.0))) if angles_deg.size else 0.0
    if span < MIN_SPAN_DEG:
        warnings.append(f"readings span {span:.0f} deg of plate angle (< {MIN_SPAN_DEG:g}): the swing's ends are "
                        f"extrapolated; the calibrated range covers only {low:.3g}..{high:.3g} uJ")
    if cal.rms_residual > RESIDUAL_WARNING * (cal.p_max - cal.p_min):
        warnings.append(f"rms residual {cal.rms_residual:.3g} uJ is over {100 * RESIDUAL_WARNING:g} % of the swing: "
                        f"check the readings (meter range, plate slipping, laser drift)")
    return AttenuatorFit(cal, angles_deg, energies_uJ, residuals, (low, high), warnings)


def _profile_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILE_DIR / f"{ALIASES.get(name_or_path, name_or_path)}.toml"
    if not path.is_file():
        raise LasergenError(f"machine profile {name_or_path!r} not found")
    return path


def profile_with_fit(base: str, fit: AttenuatorFit, name: str, rep_rate_kHz: float, wavelength_nm: float,
                     date: str | None = None) -> tuple[str, MachineProfile]:
    """The base profile's TOML with the fit written into [beam.attenuator]; and the profile it loads as."""
    if not (math.isfinite(wavelength_nm) and wavelength_nm > 0):
        raise LasergenError(f"attenuator: wavelength must be > 0 nm, got {wavelength_nm:g}")
    date = date or dt.date.today().isoformat()
    try:
        dt.date.fromisoformat(date)
    except ValueError:
        raise LasergenError(f"attenuator: --date must be YYYY-MM-DD, got {date!r}") from None
    path = _profile_path(base)
    MachineProfile.load(path)  # the base must itself be valid
    doc = tomlkit.parse(path.read_text(encoding="utf-8"))
    doc["name"] = name
    beam = doc.get("beam")
    if beam is None:
        beam = tomlkit.table()
        doc["beam"] = beam
    beam["energy"] = "attenuator"
    old = dict(beam.get("attenuator", {}))
    att = tomlkit.table()
    att.comment(f"Malus fit of {fit.angles_deg.size} power-meter readings (lasergen calibrate attenuator)")
    for key in ("port", "address", "move_s"):
        if key in old:
            att[key] = old[key]
    c = fit.calibration
    values = {"p_min_uJ": round(max(c.p_min, 0.0), 6), "p_max_uJ": round(c.p_max, 6),
              "theta0_deg": round(c.theta0_deg, 6),
              "calibrated_uJ": [round(v, 6) for v in fit.calibrated_uJ], "calibrated_on": date,
              "wavelength_nm": float(wavelength_nm), "rep_rate_kHz": float(rep_rate_kHz),
              "rms_residual_uJ": round(c.rms_residual, 6), "readings": int(fit.angles_deg.size)}
    for key, value in values.items():
        att[key] = value
    beam["attenuator"] = att
    text = tomlkit.dumps(doc)
    profile = MachineProfile.from_dict(tomllib.loads(text), f"machine profile {name}")
    return text, profile
