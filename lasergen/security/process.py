"""Physics-aware warnings: does a process choice (heat treatment, filter edge) erase a level?

Method: plan a probe (two 5 x 5-cell patches at the job's recipes, one written once, one
written and rewritten, 200 µm apart), simulate it under the proposed process, and compare the
luminance (CIE Y) each patch shows behind the long-pass filter. Level 3 holds while the
rewritten patch outshines the single-pass one by MIN_CONTRAST; when it does not, the same
probe is re-viewed through higher filter edges (no re-simulation) and re-simulated at lower
temperatures, and the working alternatives are suggested. No wavelengths are hard-coded
here: what passes which filter is the simulator's model (PHYSICS.md B.5-B.7).
CLI level: imports `hardware_sim` lazily.
"""

from __future__ import annotations

import numpy as np

from ..machine import MachineProfile
from ..pattern import Layer, Pattern
from ..planner import plan
from ..recipe import PRESETS, Recipe

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
    from .simcheck import with_filter

    seen = with_filter(prediction, edge_nm)
    name = next(n for n in seen.views if n.startswith("uv365_"))
    single, rewritten = patch_luminance(seen, name, split_x_mm)
    return {"filter_nm": edge_nm, "single_pass_Y": single, "rewritten_Y": rewritten,
            "contrast": rewritten / single if single > 0 else float("inf")}


def level_warnings(material: str = "BrI", heat_treat_c: float | None = None, heat_treat_hours: float = 2.0,
                   filter_nm: float = 645.0, recipes: dict[str, Recipe] | None = None,
                   machine: MachineProfile | None = None) -> list[dict]:
    """Warnings (with suggestions) when the process leaves level 3 unreadable; [] when it is fine."""
    from hardware_sim.simulate import simulate

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
