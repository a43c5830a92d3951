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


def single_layer_pattern(art: Artwork, recipe: Recipe, origin_mm, name: str, depth_um: float | None = None) -> Pattern:
    """One layer written with `recipe` at `depth_um` (None: flat); a vector source makes one layer
    per group, a group with a depth of its own (points' z_um) at that depth; a stack of pages
    mapped to depths one layer per page."""
    recipes = {**PRESETS, "write": recipe}
    if art.is_vector:
        own = art.group_depth_um or {}
        layers = [Layer(None, "write", f"{name}:{group}" if group else name, shapes, own.get(group, depth_um))
                  for group, shapes in art.groups.items()]
    else:
        stack = art.depth_layers(depth_um, name)
        layers = [Layer(mask, "write", f"{name}@{depth:g}um" if len(stack) > 1 else name, depth_um=depth)
                  for depth, mask in stack]
    return Pattern(art.pitch_um, layers, tuple(origin_mm), recipes, dict(art.meta))


def at_depth(pattern: Pattern, depth_um: float | None) -> Pattern:
    """The pattern with every layer at `depth_um` (unchanged for None): a whole job in one plane."""
    if depth_um is None:
        return pattern
    for layer in pattern.layers:
        layer.depth_um = depth_um
    return Pattern(pattern.pitch_um, pattern.layers, pattern.origin_mm, pattern.recipes, pattern.meta)


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
