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

MODES = ("raster", "dots")


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
        checks = (
            (self.mode in MODES, f"mode must be one of {MODES}, got {self.mode!r}"),
            (self.energy_uJ > 0, f"energy_uJ must be > 0, got {self.energy_uJ}"),
            (self.rep_rate_kHz > 0, f"rep_rate_kHz must be > 0, got {self.rep_rate_kHz}"),
            (self.speed_mm_s > 0, f"speed_mm_s must be > 0, got {self.speed_mm_s}"),
            (self.dwell_s > 0, f"dwell_s must be > 0, got {self.dwell_s}"),
            (int(self.passes) == self.passes and self.passes >= 1, f"passes must be an integer >= 1, got {self.passes}"),
            (self.line_pitch_um is None or self.line_pitch_um > 0, f"line_pitch_um must be > 0, got {self.line_pitch_um}"),
            (self.overscan_mm is None or self.overscan_mm >= 0, f"overscan_mm must be >= 0, got {self.overscan_mm}"),
            (self.hatch_um is None or self.hatch_um > 0, f"hatch_um must be > 0, got {self.hatch_um}"),
            (self.hatch_angle_deg is None or abs(self.hatch_angle_deg) <= 360,
             f"hatch_angle_deg must be within -360..360, got {self.hatch_angle_deg}"),
            (self.cross_hatch in (None, True, False), f"cross_hatch must be true or false, got {self.cross_hatch!r}"),
            (self.outline in (None, True, False), f"outline must be true or false, got {self.outline!r}"),
        )
        for ok, message in checks:
            if not ok:
                raise LasergenError(f"recipe: {message}")

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
