"""Planner: Pattern -> Toolpath, layer by layer, pass by pass, then checked against the machine.

raster  Each scan line's runs of exposed pixels become LINE marks (vectorised with np.diff over
        the whole mask). Lines alternate direction (serpentine) and every line is entered
        through a blank lead-in and left through a lead-out (overscan), so marks are written
        at the programmed speed, not while accelerating. Gaps inside a line are blank LINE
        moves at writing speed, unless a lead-out, a rapid jump and a lead-in are quicker (decided
        per gap with the motion model), so marks are always written at constant speed.
        Between lines: one RAPID.
        Even passes run the lines in reverse order so a pass starts where the last one ended.
dots    One DWELL at every exposed pixel centre, ordered by `ordering.order_points`.
vector  A layer of Shapes (strokes, fills, points) is planned by `lasergen.vector_plan`.
A rewrite is a later layer whose mask overlaps an earlier one; layers run in pattern order.
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError
from lasergen.backends import language_for
from lasergen.kinematics import trapezoid_times
from lasergen.machine import MachineProfile
from lasergen.ordering import order_points
from lasergen.pattern import Pattern
from lasergen.recipe import Recipe
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath
from lasergen.vector_plan import plan_vector


def overscan_for(recipe: Recipe, machine: MachineProfile) -> float:
    """Run-up distance to reach writing speed: v^2 / 2a, doubled for margin, at least 10 um."""
    if recipe.overscan_mm is not None:
        return recipe.overscan_mm
    accel = min(machine.accel_mm_s2)
    return max(0.01, recipe.speed_mm_s ** 2 / accel)


def scan_line_runs(mask: np.ndarray, line_rows: np.ndarray):
    """Runs of True in each sampled row: (line index, first col, last col + 1), row-major."""
    sampled = mask if np.array_equal(line_rows, np.arange(mask.shape[0])) else mask[line_rows]
    padded = np.zeros((sampled.shape[0], sampled.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = sampled
    edges = np.diff(padded, axis=1)
    flat = np.flatnonzero(edges)  # run edges alternate: start, end, start, end ... in row order
    line_s, start = np.divmod(flat[0::2], edges.shape[1])
    end = flat[1::2] % edges.shape[1]
    return line_s, start, end


def jump_threshold_mm(recipe: Recipe, machine: MachineProfile, overscan: float) -> float:
    """The gap length above which lead-out + rapid + lead-in beats crossing at writing speed.

    Crossing takes d / v; jumping takes 2 overscan / v plus a rapid of d + 2 overscan from and
    back to v, which is concave in d and dearer at d = 0, so the two cross exactly once:
    bisect for that length (60 halvings: below a nanometre)."""
    v, v_max, a = recipe.speed_mm_s, max(machine.max_rate_mm_s), min(machine.accel_mm_s2)

    def jump_faster(d: float) -> bool:
        t_rapid, _ = trapezoid_times(np.float64(d + 2 * overscan), v, v, v_max, a)
        return bool(t_rapid + 2 * overscan / v < d / v)

    lo, hi = 0.0, 1.0
    while not jump_faster(hi):
        lo, hi = hi, hi * 2
        if hi > 1e6:
            return np.inf  # writing speed at the rapid rate: never worth a jump
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if jump_faster(mid) else (mid, hi)
    return hi


def plan_raster(pattern: Pattern, mask: np.ndarray, recipe: Recipe, machine: MachineProfile,
                reverse: bool = False) -> Toolpath:
    rows = mask.shape[0]
    pitch_mm = pattern.pitch_um / 1000.0
    line_pitch_mm = (recipe.line_pitch_um or pattern.pitch_um) / 1000.0
    n_lines = max(1, int(round(rows * pitch_mm / line_pitch_mm)))
    # scan line k sits at the centre of its band; it samples the pixel row under it
    line_top_offset = (np.arange(n_lines) + 0.5) * line_pitch_mm
    line_rows = np.minimum((line_top_offset / pitch_mm).astype(np.int64), rows - 1)
    line_y = pattern.origin_mm[1] + rows * pitch_mm - line_top_offset
    line_k, start_col, end_col = scan_line_runs(mask, line_rows)
    if line_k.size == 0:
        return Toolpath.empty()

    if reverse:  # later passes run the lines bottom-up
        line_k, start_col, end_col = line_k[::-1], start_col[::-1], end_col[::-1]
    # runs arrive grouped by line in execution order; flip the lines that travel the other way
    first = np.r_[True, line_k[1:] != line_k[:-1]]
    group_start = np.flatnonzero(first)
    group_size = np.diff(np.r_[group_start, line_k.size])
    # a reversed pass starts on the line the previous pass ended on, travelling back along it
    forward_line = (np.arange(group_start.size) + (group_start.size if reverse else 0)) % 2 == 0
    arrived_ascending = not reverse
    flip = np.repeat(forward_line != arrived_ascending, group_size)
    pos = np.arange(line_k.size)
    g0 = np.repeat(group_start, group_size)
    order = np.where(flip, 2 * g0 + np.repeat(group_size, group_size) - 1 - pos, pos)
    line_k, start_col, end_col = line_k[order], start_col[order], end_col[order]
    forward = np.repeat(forward_line, group_size)
    x_left = pattern.origin_mm[0] + start_col * pitch_mm
    x_right = pattern.origin_mm[0] + end_col * pitch_mm
    entry = np.where(forward, x_left, x_right)
    exit_ = np.where(forward, x_right, x_left)
    del x_left, x_right, start_col, end_col, order, flip, pos, g0
    y = line_y[line_k]
    direction = np.where(forward, 1.0, -1.0)
    overscan = overscan_for(recipe, machine)

    last = np.r_[first[1:], True]
    next_entry = np.r_[entry[1:], 0.0]
    jump = ~last & (np.abs(next_entry - exit_) > jump_threshold_mm(recipe, machine, overscan))
    # rows per run: [rapid, lead-in] if first; mark; then lead-out | gap | lead-out, rapid, lead-in
    counts = 2 * first + 1 + np.where(jump, 3, 1)
    base = np.cumsum(counts) - counts
    mark_at = base + 2 * first
    n_rows = int(counts.sum())
    kind = np.full(n_rows, LINE, dtype=np.uint8)
    x1 = np.empty(n_rows)
    energy = np.zeros(n_rows, dtype=np.float32)
    x1[mark_at] = exit_
    energy[mark_at] = recipe.energy_uJ
    tail = mark_at + 1
    lead_out = exit_ + direction * overscan
    x1[tail] = np.where(last | jump, lead_out, next_entry)
    j = tail[jump]
    kind[j + 1] = RAPID
    x1[j + 1] = next_entry[jump] - direction[jump] * overscan
    x1[j + 2] = next_entry[jump]
    s = base[first]
    kind[s] = RAPID
    x1[s] = entry[first] - direction[first] * overscan
    x1[s + 1] = entry[first]
    del entry, exit_, next_entry, lead_out, direction, jump, base, mark_at, tail, j, s, first, last
    y1 = np.repeat(y, counts)
    speed = np.where(kind == RAPID, np.float32(0.0), np.float32(recipe.speed_mm_s))
    return Toolpath.from_columns(kind=kind, x1=x1, y1=y1, speed_mm_s=speed, energy_uJ=energy)


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


def plan(pattern: Pattern, machine: MachineProfile, start_mm=(0.0, 0.0)) -> Toolpath:
    """All layers in order, each recipe's passes in turn; raises LasergenError on limits."""
    used = {layer.recipe: pattern.recipes[layer.recipe] for layer in pattern.layers}
    check_limits(pattern, machine, used)
    parts, position, pass_id = [], start_mm, 0
    for layer_index, layer in enumerate(pattern.layers):
        recipe = pattern.recipes[layer.recipe]
        # strokes, hatch and points: lasergen/vector_plan.py (forward and backward passes)
        vector = plan_vector(pattern, layer, recipe, machine, position) if layer.is_vector else None
        for pass_no in range(int(recipe.passes)):
            if vector:
                pieces = [part.take(np.arange(len(part))) for part in vector[pass_no % 2]]  # fresh copies
            elif recipe.mode == "raster":
                pieces = [plan_raster(pattern, layer.mask, recipe, machine, reverse=pass_no % 2 == 1)]
            else:
                pieces = [plan_dots(pattern, layer.mask, recipe, position)]
            for part in (p for p in pieces if len(p)):
                part.pass_id[:] = pass_id
                part.layer[:] = layer_index
                pass_id += 1
                parts.append(part)
                position = (part.x1[-1], part.y1[-1])
    path = Toolpath.concat(parts).chain(start_mm).without_null_moves()
    check_limits(path, machine, {})
    return path
