"""Checked numbers: every number a user gives (a CLI option, a spec value) has a range and a unit.

One table, `QUANTITIES`, says for each kind of number what a sane value is: finite, within a
range (open or closed at the low end), an integer where a count is meant. `checked(kind, value,
where)` returns the value as float/int or raises a one-line LasergenError naming where the
number came from, its unit and the range, e.g.
    --pixel-um: pixel pitch must be a finite number of um within 0.1..10000, got nan
The CLI's number type (`lasergen_cli.common.Number`) and the spec readers both call it, so a
`nan` is refused the same way on the command line and in a TOML file (TOML has `nan` and `inf`).
Ranges are hard limits of what can be planned or written (0.1 um is the resolution of the
G-code lasergen writes; 1 mm/min the slowest feed a controller runs); what is merely unusual
(a feature smaller than the written spot, a job of many hours) is a warning elsewhere.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from numbers import Real

from lasergen import LasergenError


@dataclass(frozen=True)
class Quantity:
    what: str           # what the number is, for messages
    unit: str           # "" for a plain number
    lo: float
    hi: float
    lo_open: bool = False   # lo itself excluded
    integer: bool = False

    def describe(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        lo = f"> {self.lo:g}" if self.lo_open else f"{self.lo:g}"
        kind = "an integer" if self.integer else "a finite number"
        rng = f"{lo} and <= {self.hi:g}" if self.lo_open else f"within {lo}..{self.hi:g}"
        return f"{self.what} must be {kind}{' of' + unit if unit else ''} {rng}"

    def check(self, value, where: str = "", text: bool = False):
        """`value` as float/int, else a LasergenError prefixed by `where`. Text ("12.5", as typed
        on a command line) is parsed only with `text=True`: in a spec a string is not a number."""
        def refuse(shown):
            raise LasergenError(f"{where + ': ' if where else ''}{self.describe()}, got {shown}")

        if isinstance(value, bool) or not isinstance(value, (Real, str) if text else Real):
            refuse(repr(value))
        try:
            number = float(value)
        except (TypeError, ValueError):
            refuse(repr(value))
        shown = value if isinstance(value, str) else (
            str(int(number)) if math.isfinite(number) and number == int(number) else f"{number:g}")
        if not math.isfinite(number) or (self.integer and number != int(number)):
            refuse(shown)
        too_low = number <= self.lo if self.lo_open else number < self.lo
        if too_low or number > self.hi:
            refuse(shown)
        return int(number) if self.integer else number


MIN_FEED_MM_S = 1.0 / 60.0  # 1 mm/min: controllers (GRBL's MINIMUM_FEED_RATE) run no slower

QUANTITIES: dict[str, Quantity] = {
    # recipe
    "energy_uJ": Quantity("pulse energy", "uJ", 0.0, 1e4, lo_open=True),
    "rep_rate_kHz": Quantity("repetition rate", "kHz", 0.0, 1e5, lo_open=True),
    "speed_mm_s": Quantity("scan speed", "mm/s", MIN_FEED_MM_S, 1e4),
    "dwell_s": Quantity("dwell per dot", "s", 0.001, 3600.0),
    "passes": Quantity("number of passes", "", 1, 100, integer=True),
    "line_pitch_um": Quantity("line pitch", "um", 0.1, 1e4),
    "overscan_mm": Quantity("overscan", "mm", 0.0, 100.0),
    "hatch_um": Quantity("hatch spacing", "um", 0.1, 1e4),
    "hatch_angle_deg": Quantity("hatch angle", "deg", -360.0, 360.0),
    "width_mm": Quantity("target width", "mm", 0.0001, 1000.0),
    "tolerance_um": Quantity("chord tolerance", "um", 0.01, 1000.0),
    "size_px": Quantity("drawing size", "px", 16, 16384, integer=True),
    # geometry
    "pitch_um": Quantity("pixel pitch", "um", 0.1, 1e4),
    "module_um": Quantity("QR module size", "um", 0.1, 1e4),
    "width_um": Quantity("target width", "um", 0.1, 1e6),
    "height_um": Quantity("letter height", "um", 0.1, 1e6),
    "margin_um": Quantity("margin", "um", 0.0, 1e5),
    "origin_mm": Quantity("origin coordinate", "mm", -1e4, 1e4),
    "z_mm": Quantity("stage Z", "mm", -1e4, 1e4),
    "depth_um": Quantity("depth below the glass surface", "um", 0.0, 1e5),
    "offset_px": Quantity("offset", "px", 0, 1e6, integer=True),
    "cell_um": Quantity("cell pitch", "um", 0.1, 1e5),
    "line_um": Quantity("line length", "um", 0.1, 1e5),
    # images and codes
    "threshold": Quantity("darkness threshold", "", 0.0, 1.0),
    "transmission": Quantity("transmission", "", 0.0, 1.0, lo_open=True),
    "margin_mm": Quantity("margin", "mm", 0.0, 1000.0),
    "quiet_zone": Quantity("quiet zone", "modules", 0, 100, integer=True),
    "qr_mask": Quantity("QR mask pattern", "", 0, 7, integer=True),
    "page": Quantity("image page", "", 0, 1e5, integer=True),
    "megapixels": Quantity("image size limit", "Mpx", 0.0, 1e5, lo_open=True),
    "fraction": Quantity("hidden-layer fraction", "", 0.1, 0.6),
    # simulator
    "temperature_c": Quantity("temperature", "C", -273.15, 2000.0),
    "hours": Quantity("duration", "h", 0.0, 1e4, lo_open=True),
    "sim_pitch_um": Quantity("simulation pitch", "um", 0.1, 100.0),
    "um_per_px": Quantity("render scale", "um/px", 0.01, 1e4),
    "wavelength_nm": Quantity("wavelength", "nm", 300.0, 1100.0),
    "width_nm": Quantity("filter width", "nm", 0.0, 500.0, lo_open=True),
    "time_h": Quantity("time", "h", 0.0, 1e5, lo_open=True),
    # counts and ports
    "count": Quantity("count", "", 1, 10_000_000, integer=True),
    "start": Quantity("first number", "", 0, 1e15, integer=True),
    "workers": Quantity("worker processes", "", 1, 256, integer=True),
    "tcp_port": Quantity("TCP port", "", 0, 65535, integer=True),
    "baud": Quantity("baud rate", "", 1, 1e8, integer=True),
    "lines": Quantity("line count", "", 0, 1e12, integer=True),
    "probability": Quantity("probability", "", 0.0, 1.0),
    "speed_factor": Quantity("speed factor", "x", 0.0, 1e6, lo_open=True),
    "seed": Quantity("seed", "", 0, 2 ** 32 - 1, integer=True),
}


def checked(kind: str, value, where: str):
    """`value` as a float (or int for counts) within the range of `kind`, else LasergenError."""
    return QUANTITIES[kind].check(value, where)


def checked_optional(kind: str, value, where: str):
    return None if value is None else checked(kind, value, where)
