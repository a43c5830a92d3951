"""Recipes: how one exposure layer is written (pulse energy, repetition rate, mode, passes).

Defaults are the optimum writing point of the central paper: 200 uJ, 10 kHz, 0.4 mm/s.
`raster` scans lines at `speed_mm_s` with `line_pitch_um` between scan lines; `dots` dwells
`dwell_s` on every pixel centre. Vector layers (`lasergen.vector_plan`) write strokes as
lines at `speed_mm_s`, fills as hatch lines `hatch_um` apart (default: `line_pitch_um`, else the
pattern pitch) at `hatch_angle_deg`, optionally cross-hatched at +90 degrees and outlined, and
points as dots of `dwell_s`. Vector fields left at None keep their defaults and stay out of the
manifest.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from lasergen import LasergenError
from lasergen.quantities import checked

MODES = ("raster", "dots")
NUMBER_FIELDS = ("energy_uJ", "rep_rate_kHz", "speed_mm_s", "dwell_s", "passes", "line_pitch_um", "overscan_mm",
                 "hatch_um", "hatch_angle_deg")
FLAG_FIELDS = ("cross_hatch", "outline")


@dataclass(frozen=True)
class Recipe:
    energy_uJ: float = 200.0
    rep_rate_kHz: float = 10.0
    mode: str = "raster"
    speed_mm_s: float = 0.4
    line_pitch_um: float | None = None  # None: one scan line per pixel row
    dwell_s: float = 1.5
    passes: int = 1
    overscan_mm: float | None = None  # None: enough to reach speed, from the machine's acceleration
    hatch_um: float | None = None  # vector fills: hatch line spacing
    hatch_angle_deg: float | None = None  # vector fills: hatch direction, counter-clockwise from +X (0)
    cross_hatch: bool | None = None  # vector fills: a second hatch at +90 degrees (crossings written twice)
    outline: bool | None = None  # vector fills: also trace each boundary ring

    def __post_init__(self):
        if self.mode not in MODES:
            raise LasergenError(f"recipe: mode must be one of {MODES}, got {self.mode!r}")
        for name in NUMBER_FIELDS:  # finite and in range (lasergen.quantities), nan and inf refused
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, checked(name, value, f"recipe: {name}"))
        for name in FLAG_FIELDS:
            if getattr(self, name) not in (None, True, False):
                raise LasergenError(f"recipe: {name} must be true or false, got {getattr(self, name)!r}")

    @classmethod
    def from_dict(cls, data: dict) -> "Recipe":
        known = {f.name for f in fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LasergenError(f"recipe: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        try:
            return cls(**data)
        except TypeError as exc:
            raise LasergenError(f"recipe: {exc}") from None

    def to_dict(self) -> dict:
        return {k: v for k, v in asdict(self).items() if v is not None}


# Named presets: `write` is the paper's optimum; `rewrite` is the second pass that turns a
# written Br&I spot red (same energy, one more pass over the same pixels).
PRESETS: dict[str, Recipe] = {
    "write": Recipe(),
    "rewrite": Recipe(),
    "dots": Recipe(mode="dots", dwell_s=1.5),
}
