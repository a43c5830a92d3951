"""Glue from a pattern to a job file: plan, estimate, write. Shared by the CLI and the demo."""

from __future__ import annotations

from pathlib import Path

from lasergen.job import write_job
from lasergen.machine import MachineProfile
from lasergen.pattern import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import PRESETS, Recipe
from lasergen.sources import Artwork
from lasergen.vector_plan import with_shape_promise


def single_layer_pattern(art: Artwork, recipe: Recipe, origin_mm, name: str) -> Pattern:
    """One layer written with `recipe` (a vector source: one layer per group, all with it)."""
    recipes = {**PRESETS, "write": recipe}
    if art.is_vector:
        layers = [Layer(None, "write", f"{name}:{group}" if group else name, shapes)
                  for group, shapes in art.groups.items()]
    else:
        layers = [Layer(art.mask, "write", name)]
    return Pattern(art.pitch_um, layers, tuple(origin_mm), recipes, dict(art.meta))


def plan_to_file(pattern: Pattern, out: str | Path, machine: MachineProfile, material: str | None = None,
                 extra: dict | None = None) -> dict:
    """Plan the pattern and write the job; returns the manifest (with the estimate)."""
    pattern = with_shape_promise(pattern)  # vector jobs promise their region, for verify
    path = plan(pattern, machine)
    material = material or pattern.meta.get("material")
    return write_job(out, pattern, path, machine, material, extra)


def summary(manifest: dict, out: str | Path) -> dict:
    est = manifest["estimate"]
    return {"job": str(out), "marks": manifest["counts"]["marks"], "passes": manifest["counts"]["passes"],
            "time_s": est["time_s"], "bounds_mm": manifest["mark_bounds_mm"],
            "body_lines": manifest["counts"]["body_lines"]}
