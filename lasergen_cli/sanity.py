"""Sanity warnings for a planned job: valid, but probably not what the user meant (stderr only).

- Features smaller than the written spot: the pixel pitch against the mark one recipe writes,
  predicted by the simulator on a probe (one dot, or a 1 mm line: milliseconds); a pitch below
  SPOT_FRACTION of it writes features that merge into one blob.
- A job longer than the stated time (`--max-hours`, default MAX_HOURS): a 10000 x 10000 image at
  5 um runs for most of a day.
- A job read back (estimate) that never fires, or fires on zero-length moves (GRBL's planner
  drops a move without steps, so the beam writes nothing there).
The simulator is optional: without it the spot check is skipped, never guessed.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

MAX_HOURS = 8.0
SPOT_FRACTION = 0.5
PROBE_PITCH_UM = 20.0


@lru_cache(maxsize=32)
def written_spot_um(recipe, material: str) -> float | None:
    """Width (raster) or diameter (dots) of the mark `recipe` writes, from a simulated probe."""
    try:
        from hardware_sim.glass.features import dot_diameters_um, line_widths_um
        from hardware_sim.glass.simulate import simulate
    except ImportError:
        return None
    from lasergen.machine import MachineProfile
    from lasergen.pattern import Layer, Pattern
    from lasergen.planner import plan
    from lasergen.recipe import PRESETS

    machine = MachineProfile.load()
    mask = np.zeros((3, 52), dtype=bool)
    if recipe.mode == "dots":
        mask[1, 26] = True
    else:
        mask[1, 1:51] = True
    probe = Pattern(PROBE_PITCH_UM, [Layer(mask, "write", "probe")], (10.0, 10.0),
                    {**PRESETS, "write": type(recipe)(**{**recipe.to_dict(), "passes": 1, "line_pitch_um": None})})
    try:
        pred = simulate(plan(probe, machine), machine, material)
    except Exception:  # noqa: BLE001 - an advisory probe never stops planning
        return None
    feature = (dot_diameters_um if recipe.mode == "dots" else line_widths_um)(pred.ledger, pred.grid, pred.lit)
    size = feature.get("median_um")
    return float(size) if size else None


def _adjacent(mask: np.ndarray) -> bool:
    """Do exposed pixels touch (so the pixel pitch is the size of a feature)? Isolated dots, as
    in a calibration grid, are spaced by their cells, not by the pitch."""
    return bool((mask[:, 1:] & mask[:, :-1]).any() or (mask[1:] & mask[:-1]).any())


def plan_warnings(pattern, manifest: dict, material: str | None, max_hours: float | None) -> list[str]:
    out = []
    pitch = pattern.pitch_um
    touching = [layer.recipe for layer in pattern.layers  # pitch = feature scale (vector layers: their own)
                if layer.mask is not None and _adjacent(layer.mask)]
    for name in dict.fromkeys(touching):
        recipe = pattern.recipes[name]
        spot = written_spot_um(recipe, material or "BrI")
        if spot and pitch < SPOT_FRACTION * spot:
            out.append(f"features of {pitch:g} um (the pixel pitch) are smaller than the ~{spot:.0f} um "
                       f"{'dot' if recipe.mode == 'dots' else 'line'} recipe {name!r} writes (simulated on "
                       f"{material or 'BrI'}): neighbouring pixels merge; use a pitch of {SPOT_FRACTION * spot:.0f} um "
                       f"or more, or a smaller spot")
    hours = manifest["estimate"]["time_s"] / 3600.0
    limit = MAX_HOURS if max_hours is None else max_hours
    if hours > limit:
        out.append(f"the job takes an estimated {hours:.3g} h, more than {limit:g} h (--max-hours): check the size "
                   f"({manifest['grid']['shape'][1]} x {manifest['grid']['shape'][0]} px at {pitch:g} um) and recipe")
    return out


def estimate_warnings(estimate: dict) -> list[str]:
    """Degenerate jobs read from a job file, from its estimate: nothing fired, or the beam on
    over zero-length moves (the estimate reads any size of file in pieces, so this does too)."""
    if not estimate["mark_count"]:
        return ["the job never fires the laser: it writes nothing"]
    zero = estimate.get("zero_length_marks", 0)
    if zero:
        return [f"{zero} zero-length move(s) with the beam on: GRBL drops a move without steps, "
                f"so nothing is written there (a dot needs G4 dwell)"]
    return []
