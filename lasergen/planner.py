"""Planner: Pattern -> Toolpath, layer by layer, pass by pass, then checked against the machine.

raster  Scan lines of LINE marks, serpentine, each entered through a lead-in and left through
        a lead-out; gaps inside a line crossed blank at writing speed or by a collinear rapid,
        chosen with the motion model; every mark at its programmed speed (`raster.py`).
        Even passes run the lines in reverse order so a pass starts where the last one ended.
dots    One DWELL at every exposed pixel centre, ordered by `ordering.order_points`.
vector  A layer of Shapes (strokes, fills, points) is planned by `lasergen.vector_plan`.
A rewrite is a later layer whose mask overlaps an earlier one; layers run in pattern order,
except that a pattern in depth runs its planes deepest first (`Pattern.write_order`): the beam
reaches its focus through glass that is not yet written. Each row's Z comes from the focus
model (`lasergen.focus`: the plane's depth below the surface at the row's X, Y, so a tilted
sample is written at a constant depth); between planes a RAPID moves Z alone, where the beam
stopped, before the travel to the next plane's first mark. A flat pattern keeps Z at 0.
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError
from lasergen.backends import language_for
from lasergen.focus import Focus, focus_of
from lasergen.machine import MachineProfile
from lasergen.ordering import order_points
from lasergen.pattern import Pattern
from lasergen.raster import jump_threshold_mm, overscan_for, plan_raster, scan_line_runs  # noqa: F401 (API)
from lasergen.recipe import Recipe
from lasergen.toolpath import DWELL, RAPID, Toolpath
from lasergen.vector_plan import plan_vector


def plan_dots(pattern: Pattern, mask: np.ndarray, recipe: Recipe, start_mm) -> Toolpath:
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        return Toolpath.empty()
    points = np.column_stack([pattern.column_x_mm(cols), pattern.row_y_mm(rows)])
    order = order_points(points, start_mm, grid_pitch=pattern.pitch_um / 1000.0)
    xy = np.repeat(points[order], 2, axis=0)
    n = len(order)
    kind = np.tile(np.array([RAPID, DWELL], dtype=np.uint8), n)
    dwell = np.tile([0.0, recipe.dwell_s], n)
    energy = np.tile([0.0, recipe.energy_uJ], n)
    return Toolpath.from_columns(kind=kind, x1=xy[:, 0], y1=xy[:, 1], dwell_s=dwell, energy_uJ=energy)


def check_limits(path: Pattern | Toolpath, machine: MachineProfile, recipes: dict[str, Recipe]) -> None:
    """Refuse what the machine cannot do, naming the offending numbers."""
    for name, r in recipes.items():
        if r.energy_uJ > machine.max_energy_uJ:
            raise LasergenError(f"recipe {name!r}: {r.energy_uJ} uJ exceeds the machine's {machine.max_energy_uJ} uJ")
        if machine.energy_mode == "attenuator":  # the calibrated range (lasergen calibrate attenuator)
            low, high = machine.energy_range_uJ
            if not low - 1e-9 <= r.energy_uJ <= high + 1e-9:
                raise LasergenError(f"recipe {name!r}: {r.energy_uJ:g} uJ is outside the attenuator's {low:g}..{high:g} "
                                    f"uJ ({machine.energy_range_source})")
        for problem in language_for(machine).recipe_problems(name, r, machine):
            raise LasergenError(problem)
        if abs(r.rep_rate_kHz - machine.rep_rate_kHz) > 1e-6:
            raise LasergenError(f"recipe {name!r}: {r.rep_rate_kHz} kHz but the laser runs at {machine.rep_rate_kHz} kHz")
        if r.speed_mm_s > min(machine.max_rate_mm_s):
            raise LasergenError(f"recipe {name!r}: {r.speed_mm_s} mm/s exceeds the max rate {min(machine.max_rate_mm_s)} mm/s")
    if isinstance(path, Toolpath) and len(path):
        x_min, y_min, x_max, y_max = path.bounds_mm()
        (xl, xh), (yl, yh) = machine.x_range_mm, machine.y_range_mm
        if x_min < xl or x_max > xh or y_min < yl or y_max > yh:
            raise LasergenError(
                f"job spans X {x_min:.3f}..{x_max:.3f} mm, Y {y_min:.3f}..{y_max:.3f} mm, outside the travel "
                f"X {xl:g}..{xh:g}, Y {yl:g}..{yh:g} of machine {machine.name!r}")
        if path.has_z:
            z_min, z_max = path.z_range_mm()
            zl, zh = machine.z_range_mm
            if z_min < zl - 1e-6 or z_max > zh + 1e-6:
                raise LasergenError(f"job moves Z over {z_min:.4f}..{z_max:.4f} mm, outside the Z travel {zl:g}..{zh:g} "
                                    f"mm of machine {machine.name!r} (check [focus] z_surface_mm and z_axis)")


def depth_focus(pattern: Pattern, machine: MachineProfile) -> Focus | None:
    """The machine's focus model for a pattern in depth (None for a flat one), every depth checked
    against the glass thickness and the objective's working distance."""
    if not pattern.depths_um:
        return None
    focus = focus_of(machine)
    for layer in pattern.layers:
        focus.check_depth(layer.depth_um, f"layer {layer.name!r}: depth")
    return focus


def z_move(x: float, y: float, z_mm: float) -> Toolpath:
    """A RAPID that moves Z alone (the beam off), at rest in X and Y."""
    return Toolpath.from_columns(kind=np.array([RAPID], dtype=np.uint8), x1=[x], y1=[y], z1=[z_mm])


def _fill(column: np.ndarray, value: int) -> None:
    """column[:] = value, without writing (and so touching the fresh zero pages of) a column of
    a new toolpath that holds it already."""
    if value != 0 or column.any():
        column[:] = value


def plan(pattern: Pattern, machine: MachineProfile, start_mm=(0.0, 0.0)) -> Toolpath:
    """All layers in writing order (deepest plane first), each recipe's passes in turn; raises
    LasergenError on limits."""
    used = {layer.recipe: pattern.recipes[layer.recipe] for layer in pattern.layers}
    check_limits(pattern, machine, used)
    focus = depth_focus(pattern, machine)
    parts, position, pass_id, depth_here = [], start_mm, 0, None
    for layer_index in pattern.write_order():
        layer = pattern.layers[layer_index]
        recipe = pattern.recipes[layer.recipe]
        # strokes, hatch and points: lasergen/vector_plan.py (forward and backward passes)
        vector = plan_vector(pattern, layer, recipe, machine, position) if layer.is_vector else None
        for pass_no in range(int(recipe.passes)):
            if vector:
                pieces = [part.take(np.arange(len(part))) for part in vector[pass_no % 2]]  # fresh copies
            elif recipe.mode == "raster":
                pieces = [plan_raster(pattern, layer.mask, recipe, machine, reverse=pass_no % 2 == 1,
                                      recipe_name=layer.recipe)]
            else:
                pieces = [plan_dots(pattern, layer.mask, recipe, position)]
            for part in (p for p in pieces if len(p)):
                if focus is not None:
                    part.z1[:] = focus.z_mm(part.x1, part.y1, layer.depth_um)
                    if layer.depth_um != depth_here:  # a new plane: Z alone first, where the beam is
                        part = Toolpath.concat([z_move(*position[:2], focus.z_mm(*position[:2], layer.depth_um)), part])
                        depth_here = layer.depth_um
                _fill(part.pass_id, pass_id)
                _fill(part.layer, layer_index)
                pass_id += 1
                parts.append(part)
                position = (part.x1[-1], part.y1[-1])
    path = Toolpath.concat(parts).chain(start_mm).without_null_moves()
    if not path.is_mark.any():  # e.g. a drawing whose shapes all vanish below the resolution
        raise LasergenError("nothing to write: the plan has no mark (every shape is smaller than "
                            "the machine's resolution, or the layers are empty)")
    check_limits(path, machine, {})
    return path
