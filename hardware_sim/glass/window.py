"""Process window: from a material profile, the recipe that writes a requested line width or dot
size in a requested colour, and how far it may drift (`lasergen calibrate window`).

1. Map: the simulator per isolated cell (`cell_model`) over pulse energy x speed (lines, geometric
   steps) or x dwell (dots), for one and two passes; a recipe's colour is the phase that emits
   more (absolute intensities of the profile: in Br&I glass one pass is green-dominated, a rewrite
   red).
2. Candidates: map points of the requested colour whose size is within +-10 % of the target.
   Each one's margin is estimated from the map: the relative drift of energy, and of speed (or
   dwell), that moves the size by 10 % (size change per relative step, central differences).
   The candidate with the largest smaller margin wins (the most forgiving recipe).
3. Refine: at the winner's energy, the speed (dwell) that gives the target exactly (bisection on
   the simulator), then its margins exactly: the drift in energy, and in speed (dwell), each
   alone, up and down, at which the predicted size leaves +-10 % of the target (bisection, up to
   MAX_DRIFT; a margin of MAX_DRIFT means "at least"). The margin reported is the smaller side.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hardware_sim.glass.cell_model import Cell, predict_cell, reference_intensity
from hardware_sim.glass.material import Material
from lasergen import LasergenError

TOLERANCE = 0.10   # the size band: target +-10 %
WRITING_RANGE_uJ = (100.0, 300.0)  # searched within the machine's range (the paper writes at 200 uJ)
MAX_DRIFT = 0.5    # margins are searched up to +-50 %
SPEEDS_MM_S = tuple(0.05 * 2 ** (k / 2) for k in range(13))   # 0.05 .. 3.2 mm/s
DWELLS_S = tuple(0.5 * 2 ** (k / 2) for k in range(9))        # 0.5 .. 8 s


@dataclass
class Window:
    mode: str
    colour: str
    target_um: float
    energies_uJ: np.ndarray
    exposures: np.ndarray
    size_um: np.ndarray          # (energies, exposures) for the chosen number of passes
    colour_ok: np.ndarray
    passes: int
    recipe: dict | None = None
    margins: dict = field(default_factory=dict)

    @property
    def exposure_key(self) -> str:
        return "speed_mm_s" if self.mode == "lines" else "dwell_s"

    @property
    def exposure_label(self) -> str:
        return "scan speed, mm/s" if self.mode == "lines" else "dwell, s"

    @property
    def size_name(self) -> str:
        return "line width" if self.mode == "lines" else "dot diameter"


def _cell(mode, energy, exposure, passes, rep):
    return Cell(mode, float(energy), rep, passes, **({"speed_mm_s": float(exposure)} if mode == "lines"
                                                     else {"dwell_s": float(exposure)}))


def _predict(material, mode, energy, exposure, passes, rep):
    p = predict_cell(_cell(mode, energy, exposure, passes, rep), material)
    g_ref, r_ref = reference_intensity(material)
    return p.size_um, ("red" if p.red_rel * r_ref > p.green_rel * g_ref else "green"), p.damaged


def _margin(f, x0, target, up: bool) -> float:
    """Largest relative drift d (<= MAX_DRIFT) of x with f(x0 (1 +- d)) still within the band."""
    inside = lambda d: abs(f(x0 * (1 + d if up else 1 - d)) - target) <= TOLERANCE * target
    if inside(MAX_DRIFT if up else min(MAX_DRIFT, 0.95)):
        return MAX_DRIFT
    lo, hi = 0.0, MAX_DRIFT if up else min(MAX_DRIFT, 0.95)
    for _ in range(8):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if inside(mid) else (lo, mid)
    return lo


def process_window(material: Material, mode: str, target_um: float, colour: str | None = None,
                   energy_range_uJ=(100.0, 300.0), rep_rate_kHz: float = 10.0, steps: int = 11) -> Window:
    if not target_um > 0:
        raise LasergenError(f"the requested size must be > 0 um, got {target_um:g}")
    lo_e, hi_e = energy_range_uJ
    energies = np.linspace(max(lo_e, WRITING_RANGE_uJ[0]), min(hi_e, WRITING_RANGE_uJ[1]), steps)
    exposures = np.array(SPEEDS_MM_S if mode == "lines" else DWELLS_S)
    maps = {}
    for passes in (1, 2):
        size = np.zeros((energies.size, exposures.size))
        colour_map = np.empty(size.shape, object)
        for i, e in enumerate(energies):
            for j, x in enumerate(exposures):
                s, c, damaged = _predict(material, mode, e, x, passes, rep_rate_kHz)
                size[i, j], colour_map[i, j] = (0.0 if damaged else s), c
        maps[passes] = (size, colour_map)
    if colour is None:  # the colour one pass writes
        lit = maps[1][0] > 0
        colour = "red" if lit.any() and (maps[1][1][lit] == "red").mean() > 0.5 else "green"
    best = None
    for passes in (1, 2):
        size, colour_map = maps[passes]
        ok = (colour_map == colour) & (size > 0)
        band = ok & (np.abs(size - target_um) <= TOLERANCE * target_um)
        ls = np.log(np.maximum(size, 1e-9))
        d_e = np.abs(np.gradient(ls, np.log(energies), axis=0))
        d_x = np.abs(np.gradient(ls, np.log(exposures), axis=1))
        est = np.minimum(TOLERANCE / np.maximum(d_e, 1e-6), TOLERANCE / np.maximum(d_x, 1e-6))
        for i, j in zip(*np.nonzero(band)):
            key = (est[i, j] - abs(size[i, j] - target_um) / target_um, -passes)
            if best is None or key > best[0]:
                best = (key, passes, i, j)
    window_passes = best[1] if best else (2 if colour == "red" and mode else 1)
    size, colour_map = maps[window_passes]
    window = Window(mode, colour, target_um, energies, exposures, size, colour_map == colour, window_passes)
    if best is None:
        return window
    _, passes, i, j = best
    energy = float(energies[i])
    f_x = lambda x: _predict(material, mode, energy, x, passes, rep_rate_kHz)[0]
    # size falls with speed and rises with dwell: bisect in log exposure between the neighbours
    a, b = np.log(exposures[max(j - 1, 0)]), np.log(exposures[min(j + 1, exposures.size - 1)])
    sign = -1.0 if mode == "lines" else 1.0
    for _ in range(10):
        mid = 0.5 * (a + b)
        s = f_x(np.exp(mid))
        if s <= 0 or sign * (s - target_um) > 0:
            b = mid
        else:
            a = mid
    exposure = float(np.exp(0.5 * (a + b)))
    got = f_x(exposure)
    if not got > 0 or abs(got - target_um) > TOLERANCE * target_um:
        exposure, got = float(exposures[j]), float(size[i, j])
    f_e = lambda e: _predict(material, mode, e, exposure, passes, rep_rate_kHz)[0]
    margins = {"energy_down": _margin(f_e, energy, target_um, False), "energy_up": _margin(f_e, energy, target_um, True),
               "exposure_down": _margin(f_x, exposure, target_um, False), "exposure_up": _margin(f_x, exposure, target_um, True)}
    window.recipe = {"mode": "raster" if mode == "lines" else "dots", "energy_uJ": energy, window.exposure_key: round(exposure, 4),
                     "passes": passes, "rep_rate_kHz": rep_rate_kHz, "predicted_um": round(float(got), 2)}
    window.margins = {**{k: round(v, 3) for k, v in margins.items()},
                      "energy": round(min(margins["energy_down"], margins["energy_up"]), 3),
                      "exposure": round(min(margins["exposure_down"], margins["exposure_up"]), 3)}
    return window
