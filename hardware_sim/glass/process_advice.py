"""Physics-aware warnings: does a process choice (heat treatment, filter edge) erase a level?

Level 3 (`level_warnings`). Method: plan a probe (two 5 x 5-cell patches at the job's recipes, one written once, one
written and rewritten, 200 µm apart), simulate it under the proposed process, and compare the
luminance (CIE Y) each patch shows behind the long-pass filter. Level 3 holds while the
rewritten patch outshines the single-pass one by MIN_CONTRAST; when it does not, the same
probe is re-viewed through higher filter edges (no re-simulation) and re-simulated at lower
temperatures, and the working alternatives are suggested.
Keyed modules (`spill_warnings`): a 5 x 5-module patch is written, only its centre module
rewritten; if a neighbour's core (central half, where `check-photo` samples) shows more than
SPILL_MAX of the centre's filtered luminance, the
rewrite's melt zone reaches past the module and the hidden set blurs; the smallest module
size on a ladder that isolates is suggested. No wavelengths or radii are hard-coded
here: what passes which filter is the simulator's model (PHYSICS.md B.5-B.7).
"""

from __future__ import annotations

import numpy as np

from lasergen.machine import MachineProfile
from lasergen.pattern import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import PRESETS, Recipe
from lasergen.security.tag import module_recipes

SPILL_MAX = 0.3  # a neighbour's filtered luminance / the rewritten module's, above which keyed modules blur
MODULE_LADDER_UM = (20.0, 30.0, 40.0, 50.0, 60.0, 80.0)
MIN_CONTRAST = 10.0  # rewritten / single-pass filtered luminance needed to read level 3
MIN_PASS = 0.2  # the rewrite must keep this share of its filtered luminance at the original edge
EDGE_STEPS_NM = (5.0, 10.0, 15.0, 20.0, 25.0)
TEMPERATURE_STEP_C = 50.0
LOWEST_TEMPERATURE_C = 200.0
PATCH = 5
GAP_CELLS = 10


def probe_pattern(recipes: dict[str, Recipe] | None = None, pitch_um: float = 20.0) -> Pattern:
    cols = 2 * PATCH + GAP_CELLS
    write = np.zeros((PATCH, cols), dtype=bool)
    write[:, :PATCH] = write[:, -PATCH:] = True
    rewrite = np.zeros_like(write)
    rewrite[:, -PATCH:] = True
    all_recipes = {**PRESETS, **(recipes or {})}
    return Pattern(pitch_um, [Layer(write, "write", "probe"), Layer(rewrite, "rewrite", "probe-rewrite")],
                   (10.0, 10.0), all_recipes, {"source": "probe"})


def patch_luminance(prediction, view_name: str, split_x_mm: float) -> tuple[float, float]:
    """(single-pass, rewritten) summed Y behind `view_name`: the probe's left and right halves."""
    y = prediction.xyz(view_name)[..., 1]
    left = prediction.grid.x_mm(np.arange(y.shape[1])) < split_x_mm
    return float(y[:, left].sum()), float(y[:, ~left].sum())


def filtered_contrast(prediction, edge_nm: float, split_x_mm: float) -> dict:
    from hardware_sim.glass.level_views import with_filter

    seen = with_filter(prediction, edge_nm)
    name = next(n for n in seen.views if n.startswith("uv365_"))
    single, rewritten = patch_luminance(seen, name, split_x_mm)
    return {"filter_nm": edge_nm, "single_pass_Y": single, "rewritten_Y": rewritten,
            "contrast": rewritten / single if single > 0 else float("inf")}


def level_warnings(material: str = "BrI", heat_treat_c: float | None = None, heat_treat_hours: float = 2.0,
                   filter_nm: float = 645.0, recipes: dict[str, Recipe] | None = None,
                   machine: MachineProfile | None = None) -> list[dict]:
    """Warnings (with suggestions) when the process leaves level 3 unreadable; [] when it is fine."""
    from hardware_sim.glass.simulate import simulate

    machine = machine or MachineProfile.load()
    pattern = probe_pattern(recipes)
    path = plan(pattern, machine)
    split = pattern.column_x_mm(PATCH + GAP_CELLS / 2)
    run = lambda t: simulate(path, machine, material, heat_treat_c=t, heat_treat_hours=heat_treat_hours)
    proposed = run(heat_treat_c)
    base = filtered_contrast(proposed, filter_nm, split)
    if base["contrast"] >= MIN_CONTRAST:
        return []
    edges = []
    for step in EDGE_STEPS_NM:
        alt = filtered_contrast(proposed, filter_nm + step, split)
        if alt["contrast"] >= MIN_CONTRAST and alt["rewritten_Y"] >= MIN_PASS * base["rewritten_Y"]:
            edges.append(alt)
            break
    temps = []
    if heat_treat_c is not None:
        t = heat_treat_c - TEMPERATURE_STEP_C
        while t >= LOWEST_TEMPERATURE_C and not temps:
            alt = filtered_contrast(run(t), filter_nm, split)
            if alt["contrast"] >= MIN_CONTRAST:
                temps.append({**alt, "heat_treat_c": t})
            t -= TEMPERATURE_STEP_C
    process = f"{material} glass" + (f", {heat_treat_c:g} °C for {heat_treat_hours:g} h" if heat_treat_c is not None else "")
    advice = [f"a {e['filter_nm']:g} nm long-pass filter (contrast {e['contrast']:.0f}x)" for e in edges]
    advice += [f"heat treatment at {t['heat_treat_c']:g} °C or below (contrast {t['contrast']:.0f}x)" for t in temps]
    message = (f"level uv365_lp{filter_nm:g} is lost with {process}: single-pass red now passes the {filter_nm:g} nm "
               f"filter, rewritten/single-pass contrast {base['contrast']:.1f}x < {MIN_CONTRAST:g}x; "
               + ("use " + " or ".join(advice) if advice else "no filter edge up to "
                  f"{filter_nm + EDGE_STEPS_NM[-1]:g} nm or lower temperature restores it"))
    suggest = {}
    if edges:
        suggest["filter_nm"] = edges[0]["filter_nm"]
    if temps:
        suggest["heat_treat_c"] = temps[0]["heat_treat_c"]
    return [{"level": f"uv365_lp{filter_nm:g}", "contrast": round(base["contrast"], 2), "message": message,
             "suggest": suggest, "probes": {"proposed": base, "edges": edges, "temperatures": temps}}]


def rewrite_spill(module_um: float, material: str = "BrI", recipes: dict[str, Recipe] | None = None,
                  machine: MachineProfile | None = None) -> float:
    """Largest neighbour / centre filtered luminance when only the centre module is rewritten."""
    from hardware_sim.glass.simulate import simulate

    machine = machine or MachineProfile.load()
    n = 5
    write = np.ones((n, n), dtype=bool)
    rewrite = np.zeros_like(write)
    rewrite[n // 2, n // 2] = True
    pattern = Pattern(module_um, [Layer(write, "write", "probe"), Layer(rewrite, "rewrite", "probe-rewrite")],
                      (10.0, 10.0), module_recipes(module_um, recipes), {"source": "probe"})
    prediction = simulate(plan(pattern, machine), machine, material)
    name = next(v for v in prediction.views if v.startswith("uv365_"))
    y = prediction.xyz(name)[..., 1]
    g = prediction.grid
    u = (g.x_mm(np.arange(g.nx)) - pattern.origin_mm[0]) * 1000.0 / module_um  # module units
    v = (g.y_mm(np.arange(g.ny)) - pattern.origin_mm[1]) * 1000.0 / module_um
    core = lambda t: (t >= 0) & (t < n) & (np.abs(t % 1.0 - 0.5) <= 0.25)  # central half, as the checker samples
    cu, cv = core(u), core(v)
    sums = np.zeros((n, n))
    rr, cc = np.meshgrid(v[cv].astype(int), u[cu].astype(int), indexing="ij")
    np.add.at(sums, (rr, cc), y[np.ix_(cv, cu)])
    centre = sums[n // 2, n // 2]
    neighbours = [sums[n // 2 + dr, n // 2 + dc] for dr, dc in ((-1, 0), (1, 0), (0, -1), (0, 1))]
    return float(max(neighbours) / centre) if centre > 0 else float("inf")


def spill_warnings(module_um: float, material: str = "BrI", recipes: dict[str, Recipe] | None = None,
                   machine: MachineProfile | None = None) -> list[dict]:
    """Warn (suggesting a module size) when a keyed rewrite would spill into neighbouring modules."""
    spill = rewrite_spill(module_um, material, recipes, machine)
    if spill <= SPILL_MAX:
        return []
    better = next((m for m in MODULE_LADDER_UM if m > module_um
                   and rewrite_spill(m, material, recipes, machine) <= SPILL_MAX), None)
    advice = (f"use --module-um {better:g} or more" if better else
              f"no module size up to {MODULE_LADDER_UM[-1]:g} um isolates it; lower the rewrite energy")
    return [{"level": "hidden", "spill": round(spill, 3), "suggest": {"module_um": better} if better else {},
             "message": f"the rewrite of one {module_um:g} um module makes a neighbour glow at {spill:.0%} of it behind "
                        f"the filter (melt zone wider than the module): the keyed modules will blur; {advice}"}]
