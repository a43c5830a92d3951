"""Calibration grids from a spec file's `[calibration]` table (the grid itself: `lasergen.calib.grid`).

The classic first job on a new glass or laser (the central paper's Fig. 1): rows sweep pulse
energy, columns sweep exposure, i.e. the dwell of a static dot (`mode = "dots"`) or the speed
of a written line (`mode = "raster"`, or "lines"). Every cell is its own layer with its own
recipe, so the job manifest, the simulator's per-layer statistics and the photo of the written
sample can be read cell by cell. Image row 0 (the top of the grid) is the lowest energy.

    [calibration]
    mode = "dots"                       # or "raster" / "lines"
    energies_uJ = [100, 150, 200, 250]
    dwells_s = [0.5, 1.0, 1.5, 2.0]     # dots;  raster: speeds_mm_s = [0.2, 0.4, 0.8]
    cell_um = 200                        # cell pitch
    pitch_um = 20                        # grid pitch
    line_um = 120                        # raster: length of each written line
    fiducials = false                    # true: corner fiducials (what `calibrate measure` finds)
    labels = false                       # true: engraved row letters and column numbers
Values may also be range strings ("120:240:20", "0.1:1.6:x2"), as on the command line.
"""

from __future__ import annotations

from lasergen import LasergenError
from lasergen.calib.grid import GridSpec, grid_parts
from lasergen.calib.sweep import parse_sweep
from lasergen.composition import HEAD_KEYS, refuse_unknown, spec_head, table_of
from lasergen.pattern import Pattern
from lasergen.quantities import checked

DEFAULTS = {"mode": "dots", "energies_uJ": [100.0, 150.0, 200.0, 250.0], "dwells_s": [0.5, 1.0, 1.5, 2.0],
            "speeds_mm_s": [0.2, 0.4, 0.8, 1.6], "cell_um": 200.0, "pitch_um": 20.0, "line_um": 120.0,
            "rep_rate_kHz": 10.0, "passes": 1, "fiducials": False, "labels": False}
MODE_NAMES = {"dots": "dots", "raster": "lines", "lines": "lines"}
SWEEP = {"dots": "dwells_s", "lines": "speeds_mm_s"}


def grid_spec_from(spec: dict) -> GridSpec:
    cal = table_of(spec, "calibration")
    refuse_unknown(cal, DEFAULTS, "calibration")
    s = {**DEFAULTS, **cal}
    if not isinstance(s["mode"], str) or s["mode"] not in MODE_NAMES:
        raise LasergenError(f"calibration: mode must be one of {tuple(MODE_NAMES)}, got {s['mode']!r}")
    mode = MODE_NAMES[s["mode"]]
    sweeps = {"energy_uJ": s["energies_uJ"], ("dwell_s" if mode == "dots" else "speed_mm_s"): s[SWEEP[mode]]}
    if any(isinstance(v, (list, tuple)) and not v for v in sweeps.values()):
        raise LasergenError("calibration: empty sweep")
    values = {f: parse_sweep(v, f"calibration {f}") for f, v in sweeps.items()}
    values["rep_rate_kHz"] = parse_sweep(s["rep_rate_kHz"], "calibration rep_rate_kHz")
    values["passes"] = parse_sweep(s["passes"], "calibration passes")
    for key in ("fiducials", "labels"):
        if not isinstance(s[key], bool):
            raise LasergenError(f"calibration: {key} must be true or false, got {s[key]!r}")
    cell, pitch, line = (checked(key, s[key], f"calibration {key}") for key in ("cell_um", "pitch_um", "line_um"))
    head = spec_head(spec, HEAD_KEYS - {"pitch_um"})  # the grid's pitch is [calibration] pitch_um
    return GridSpec(mode=mode, values=values, cell_um=cell, line_um=line, pitch_um=pitch, origin_mm=head["origin_mm"],
                    fiducials=s["fiducials"], labels=s["labels"], material=head["material"])


def pattern_from_calibration(spec: dict) -> Pattern:
    parts = grid_parts(grid_spec_from(spec))
    if len(parts) > 1:
        raise LasergenError("calibration: a spec file plans one job; sweep the repetition rate with "
                            "`lasergen calibrate grid --rep-rates` (one job per rate)")
    return parts[0].pattern
