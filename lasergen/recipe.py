"""Recipes: how one exposure layer is written (pulse energy, repetition rate, mode, passes).

Defaults are the optimum writing point of the central paper: 200 uJ, 10 kHz, 0.4 mm/s.
`raster` scans lines at `speed_mm_s` with `line_pitch_um` between scan lines; `dots` dwells
`dwell_s` on every pixel centre.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, fields

from lasergen import LasergenError
from lasergen.quantities import checked

MODES = ("raster", "dots")
NUMBER_FIELDS = ("energy_uJ", "rep_rate_kHz", "speed_mm_s", "dwell_s", "passes", "line_pitch_um", "overscan_mm")


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

    def __post_init__(self):
        if self.mode not in MODES:
            raise LasergenError(f"recipe: mode must be one of {MODES}, got {self.mode!r}")
        for name in NUMBER_FIELDS:  # finite and in range (lasergen.quantities), nan and inf refused
            value = getattr(self, name)
            if value is not None:
                object.__setattr__(self, name, checked(name, value, f"recipe: {name}"))

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
