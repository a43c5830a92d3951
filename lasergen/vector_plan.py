"""Vector planning: a layer's Shapes -> Toolpath of line marks (strokes, hatch) and dots.

1. Geometry to machine coordinates (`Pattern.to_machine`, the one y flip).
2. Fills become hatch lines clipped to the shape (`lasergen.hatch`: scan lines `hatch_um`
   apart at band centres, in a frame turned by `hatch_angle_deg`, a scanline fill of every
   polygon at once, holes included); each polygon's lines run as a serpentine. Cross-hatch
   adds the same at +90 degrees (the crossings are written twice: that is what a cross-hatch
   is), `outline` traces every boundary ring.
3. Units (a stroke, a polygon's hatch, a ring) are ordered by the project's stroke ordering
   (`lasergen.ordering.order_strokes`: greedy nearest end, then 2-opt), which may run a unit
   backwards when that is nearer.
4. Corners (vectorised over all units at once): each unit is cut into runs at every vertex whose junction speed (the junction-
   deviation model controllers such as GRBL use, v^2 = a delta s / (1 - s), s = sin(theta/2))
   is below the writing speed; inside a run the machine keeps the programmed speed through
   every vertex (a flattened curve), and a run is entered through a blank lead-in and left
   through a blank lead-out of `overscan` along its end segments, as raster lines are. So the
   beam is on only at the programmed speed: at a sharp corner it stops with the beam gated.
   Runs that continue each other on one line (a hatch line crossing a hole) are joined by a
   blank move at writing speed when that beats a jump (the raster planner's break-even).
5. Points become dots (RAPID + DWELL) in the project's dot order, with per-point energy and
   dwell where the source gave them. A later pass runs the line work backwards.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import shapely

from lasergen import LasergenError
from lasergen.backends import language_for
from lasergen.machine import MachineProfile
from lasergen.hatch import MIN_SEGMENT_MM, hatch_units
from lasergen.ordering import order_points, order_strokes
from lasergen.pattern import Layer, Pattern
from lasergen.recipe import Recipe
from lasergen.shapes import Shapes
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath



def junction_ok(prev: np.ndarray, at: np.ndarray, nxt: np.ndarray, speed_mm_s: float,
                machine: MachineProfile) -> np.ndarray:
    """Per vertex `at` (between `prev` and `nxt`, arrays of points): can the machine pass it at
    `speed_mm_s` (junction-deviation model)?"""
    d_in, d_out = at - prev, nxt - at
    u_in = d_in / np.hypot(d_in[:, 0], d_in[:, 1])[:, None]
    u_out = d_out / np.hypot(d_out[:, 0], d_out[:, 1])[:, None]
    cos_theta = -(u_out * u_in).sum(axis=1)
    j = u_out - u_in
    ax, ay = machine.accel_mm_s2
    with np.errstate(divide="ignore", invalid="ignore"):
        a_j = np.hypot(j[:, 0], j[:, 1]) / np.maximum(np.abs(j[:, 0]) / ax, np.abs(j[:, 1]) / ay)
        s = np.sqrt(0.5 * (1.0 - np.maximum(cos_theta, -0.999999)))
        v_sqr = a_j * machine.junction_deviation_mm * s / (1.0 - s)
    v_sqr = np.where(cos_theta < -0.999999, np.inf, np.where(cos_theta > 0.999999, 0.0, v_sqr))
    return v_sqr >= speed_mm_s ** 2


def _sizes(unit: np.ndarray, n_units: int) -> tuple[np.ndarray, np.ndarray]:
    m = np.bincount(unit, minlength=n_units)
    return m, np.cumsum(m) - m


def split_runs(pts: np.ndarray, unit: np.ndarray, is_path: np.ndarray, speed_mm_s: float,
               machine: MachineProfile) -> tuple[np.ndarray, np.ndarray]:
    """Units (points in execution order, `unit` numbering them 0, 1, ...) -> runs as (points,
    points per run). A hatch unit's point pairs are runs. A path is cut at the vertices the
    machine cannot pass at writing speed, after repeated points are dropped (a zero-length
    segment has no direction); a closed one starts at such a corner when it has one, so its
    start and end are a corner too. Vectorised over all units."""
    n_units = int(unit[-1]) + 1 if len(unit) else 0
    step = np.r_[np.inf, np.hypot(*np.diff(pts, axis=0).T)]
    first = np.r_[True, unit[1:] != unit[:-1]]
    keep = ~is_path | first | (step > MIN_SEGMENT_MM)
    pts, unit, is_path = pts[keep], unit[keep], is_path[keep]
    m, base = _sizes(unit, n_units)
    path_unit = np.zeros(n_units, dtype=bool)
    path_unit[unit[is_path]] = True
    live = ~path_unit | (m >= 2)
    if not live.all():
        keep = live[unit]
        pts, unit, is_path = pts[keep], np.cumsum(live)[unit[keep]] - 1, is_path[keep]
        path_unit, n_units = path_unit[live], int(live.sum())
        m, base = _sizes(unit, n_units)
    last = base + m - 1
    closed = path_unit & (m > 3) & np.isclose(pts[base], pts[last], atol=MIN_SEGMENT_MM).all(axis=1)
    j = np.arange(len(pts)) - base[unit]
    if closed.any():  # turn each closed path to start at its first sharp corner
        ring_pt = closed[unit] & (j < m[unit] - 1)  # ring vertices 0 .. m-2 (the last repeats the first)
        idx = np.flatnonzero(ring_pt)
        prev = np.where(j[idx] == 0, last[unit[idx]] - 1, idx - 1)
        sharp = ~junction_ok(pts[prev], pts[idx], pts[idx + 1], speed_mm_s, machine)
        none = np.iinfo(np.int64).max
        at = np.full(n_units, none)
        np.minimum.at(at, unit[idx[sharp]], j[idx[sharp]])
        at = np.where(at < none, at, 0)
        turn = at[unit] > 0
        src = np.where(turn, base[unit] + (at[unit] + j) % np.maximum(m[unit] - 1, 1), np.arange(len(pts)))
        pts = pts[src]
    interior = is_path & (j > 0) & (j < m[unit] - 1)
    idx = np.flatnonzero(interior)
    cut = np.zeros(len(pts), dtype=bool)
    cut[idx] = ~junction_ok(pts[idx - 1], pts[idx], pts[idx + 1], speed_mm_s, machine)
    copies = 1 + cut  # a corner ends one run and starts the next
    out = np.repeat(pts, copies, axis=0)
    starts_run = np.repeat(np.where(is_path, j == 0, j % 2 == 0), copies)
    starts_run[np.cumsum(copies)[cut] - 1] = True  # the second copy of each corner
    run = np.cumsum(starts_run) - 1
    return out, np.bincount(run) if len(run) else np.zeros(0, dtype=np.int64)


# 2-opt sweeps of the stroke order: on 10^4 units (benchmarks/vector_bench.py) 10 sweeps take
# 0.6 s and cut 0.7 % of the greedy travel, 50 take 1.9 s for 1.9 %; blank travel is a small
# part of a vector job's time, planning time is the user's
STROKE_SWEEPS = 10
HATCH, PATH = 0, 1  # a hatch block: consecutive point pairs are separate runs; a path: one polyline


def line_units(shapes: Shapes, recipe: Recipe, pitch_mm: float) -> list[tuple[int, np.ndarray]]:
    """Every (kind, polyline) the layer writes, before ordering: strokes, hatch blocks, outlines."""
    units = [(PATH, s) for s in shapes.strokes if len(s) >= 2]
    if not shapes.fills.is_empty:
        angle = recipe.hatch_angle_deg or 0.0
        for a in ([angle, angle + 90.0] if recipe.cross_hatch else [angle]):
            units += [(HATCH, block.reshape(-1, 2)) for block in hatch_units(shapes.fills, pitch_mm, a) if len(block)]
        if recipe.outline:
            for poly in shapely.get_parts(shapes.fills):
                units += [(PATH, np.asarray(r.coords)) for r in (poly.exterior, *poly.interiors)]
    return units


def ordered_runs(shapes: Shapes, recipe: Recipe, pitch_mm: float, machine: MachineProfile,
                 start_mm) -> tuple[np.ndarray, np.ndarray]:
    """Runs (polylines written at constant speed) in execution order: (points, points per run)."""
    units = line_units(shapes, recipe, pitch_mm)
    if not units:
        return np.zeros((0, 2)), np.zeros(0, dtype=np.int64)
    kind = np.array([k for k, _ in units])
    size = np.array([len(u) for _, u in units])
    flat = np.concatenate([u for _, u in units])
    offset = np.cumsum(size) - size
    order, flipped = order_strokes(flat[offset], flat[offset + size - 1], start_mm, max_sweeps=STROKE_SWEEPS)
    m, base = size[order], offset[order]
    unit = np.repeat(np.arange(len(order)), m)
    j = np.arange(unit.size) - np.repeat(np.cumsum(m) - m, m)
    src = base[unit] + np.where(flipped[unit], m[unit] - 1 - j, j)
    return split_runs(flat[src], unit, kind[order][unit] == PATH, recipe.speed_mm_s, machine)


def runs_to_toolpath(pts: np.ndarray, m: np.ndarray, recipe: Recipe, overscan_mm: float,
                     join_below_mm: float) -> Toolpath:
    """Rows per run: RAPID to the lead-in start, blank lead-in, the marks, blank lead-out; a run
    that continues the previous one on its line within `join_below_mm` is reached by one blank
    move at writing speed instead of lead-out + rapid + lead-in. Vectorised over all runs."""
    if not len(m):
        return Toolpath.empty()
    first = np.cumsum(m) - m
    last = first + m - 1
    d_in = pts[first + 1] - pts[first]
    d_in /= np.hypot(d_in[:, 0], d_in[:, 1])[:, None]
    d_out = pts[last] - pts[last - 1]
    d_out /= np.hypot(d_out[:, 0], d_out[:, 1])[:, None]
    gap = pts[first[1:]] - pts[last[:-1]]
    along = (gap * d_out[:-1]).sum(axis=1)
    across = np.abs(gap[:, 0] * d_out[:-1, 1] - gap[:, 1] * d_out[:-1, 0])
    same_way = (d_in[1:] * d_out[:-1]).sum(axis=1) > 1 - 1e-9
    join = np.r_[False, same_way & (across < 1e-9) & (along > 0) & (along < join_below_mm)]
    tail = np.r_[~join[1:], True]  # a run keeps its lead-out unless the next one joins it
    counts = (~join) + m + tail  # [rapid] + blank-in + (m - 1) marks + [lead-out]
    base = np.cumsum(counts) - counts
    n = int(counts.sum())
    kind = np.full(n, LINE, dtype=np.uint8)
    xy = np.empty((n, 2))
    energy = np.zeros(n, dtype=np.float32)
    rapid_at = base[~join]
    kind[rapid_at] = RAPID
    xy[rapid_at] = pts[first[~join]] - d_in[~join] * overscan_mm
    blank_in = base + ~join
    xy[blank_in] = pts[first]
    run_of_point = np.repeat(np.arange(len(m)), m)
    mark_pts = np.ones(len(pts), dtype=bool)
    mark_pts[first] = False
    mark_rows = (blank_in[run_of_point] + np.arange(len(pts)) - first[run_of_point])[mark_pts]
    xy[mark_rows] = pts[mark_pts]
    energy[mark_rows] = recipe.energy_uJ
    out_at = (blank_in + m)[tail]
    xy[out_at] = pts[last[tail]] + d_out[tail] * overscan_mm
    speed = np.where(kind == RAPID, np.float32(0.0), np.float32(recipe.speed_mm_s))
    return Toolpath.from_columns(kind=kind, x1=xy[:, 0], y1=xy[:, 1], speed_mm_s=speed, energy_uJ=energy)


def check_horizon(path: Toolpath, recipe: Recipe, machine: MachineProfile) -> None:
    """A run of many short blocks can be too short for the controller's look-ahead to hold the
    speed (it plans its newest buffered block to a stop): refuse rather than write slower."""
    length = path.length_mm
    window = max(1, machine.planner_blocks - 1)
    ahead = np.convolve(length[::-1], np.ones(window), mode="full")[:len(length)][::-1]
    need = recipe.speed_mm_s ** 2 / (2 * min(machine.accel_mm_s2))
    short = path.is_mark & (ahead < need)
    if short.any():
        raise LasergenError(f"vector marks at {recipe.speed_mm_s} mm/s need {need:.4f} mm of look-ahead, but "
                            f"{int(short.sum())} segments are followed by less within {window} blocks; lower "
                            f"the speed or flatten curves more coarsely (tolerance_um)")


def plan_points(shapes: Shapes, recipe: Recipe, machine: MachineProfile, start_mm) -> Toolpath:
    pts = shapes.points
    if not len(pts):
        return Toolpath.empty()
    energy = np.full(len(pts), recipe.energy_uJ) if shapes.point_energy_uJ is None else \
        np.where(np.isnan(shapes.point_energy_uJ), recipe.energy_uJ, shapes.point_energy_uJ)
    dwell = np.full(len(pts), recipe.dwell_s) if shapes.point_dwell_s is None else \
        np.where(np.isnan(shapes.point_dwell_s), recipe.dwell_s, shapes.point_dwell_s)
    worst = float(energy.max())
    if worst > machine.max_energy_uJ:
        raise LasergenError(f"point energy {worst:g} uJ exceeds the machine's {machine.max_energy_uJ:g} uJ")
    for problem in language_for(machine).recipe_problems("points", replace(recipe, energy_uJ=worst), machine):
        raise LasergenError(problem)
    order = order_points(pts, start_mm)
    n = len(order)
    xy = np.repeat(pts[order], 2, axis=0)
    zeros = np.zeros(n)
    return Toolpath.from_columns(kind=np.tile(np.array([RAPID, DWELL], dtype=np.uint8), n), x1=xy[:, 0], y1=xy[:, 1],
                                 dwell_s=np.column_stack([zeros, dwell[order]]).ravel(),
                                 energy_uJ=np.column_stack([zeros, energy[order]]).ravel())


def check_travel(shapes: Shapes, machine: MachineProfile) -> None:
    """Refuse a drawing outside the machine's travel before it is hatched (a fill metres tall would
    otherwise be cut into millions of lines first)."""
    bounds = shapes.bounds_mm()
    if bounds is None:
        return
    x_min, y_min, x_max, y_max = bounds
    (xl, xh), (yl, yh) = machine.x_range_mm, machine.y_range_mm
    if not (x_min >= xl and x_max <= xh and y_min >= yl and y_max <= yh):
        raise LasergenError(f"the drawing spans X {x_min:.3f}..{x_max:.3f} mm, Y {y_min:.3f}..{y_max:.3f} mm, outside "
                            f"the travel X {xl:g}..{xh:g}, Y {yl:g}..{yh:g} of machine {machine.name!r}")


def hatch_pitch_mm(pattern: Pattern, recipe: Recipe) -> float:
    return (recipe.hatch_um or recipe.line_pitch_um or pattern.pitch_um) / 1000.0


def plan_vector(pattern: Pattern, layer: Layer, recipe: Recipe, machine: MachineProfile,
                start_mm) -> tuple[list[Toolpath], list[Toolpath]]:
    """The layer's passes: (forward, backward), each a list of parts that become passes of their
    own: line work, then dots; the backward one retraces the forward one from its end."""
    from lasergen.planner import jump_threshold_mm, overscan_for  # planner dispatches here

    shapes = pattern.to_machine(layer.shapes)
    check_travel(shapes, machine)
    pts, m = ordered_runs(shapes, recipe, hatch_pitch_mm(pattern, recipe), machine, start_mm)
    overscan = overscan_for(recipe, machine)
    join_below = jump_threshold_mm(recipe, machine, overscan)
    lines = runs_to_toolpath(pts, m, recipe, overscan, join_below)
    if len(lines):
        check_horizon(lines, recipe, machine)
        start_mm = (lines.x1[-1], lines.y1[-1])
    dots = plan_points(shapes, recipe, machine, start_mm)
    forward = [part for part in (lines, dots) if len(part)]
    if recipe.passes < 2:
        return forward, []
    back_lines = runs_to_toolpath(pts[::-1], m[::-1], recipe, overscan, join_below)  # every run, backwards
    back_dots = dots.take(np.arange(len(dots)).reshape(-1, 2)[::-1].ravel()) if len(dots) else dots
    return forward, [part for part in (back_dots, back_lines) if len(part)]


PROMISE_MIN_IOU = 0.9
PROMISE_MAX_WKT = 2_000_000  # characters of header; a drawing finer than that promises no shape
PROMISE_PX = 4096  # the promise is simplified to 1/4096 of the drawing's extent (at least 1 um)


def shape_promise(pattern: Pattern) -> dict | None:
    """What a vector job promises `verify`: the region it writes, in machine mm (fills, and
    strokes widened to the hatch pitch, the line width the recipe implies), as a collection of
    polygons whose union is the region, to be compared with the rendered glass by IoU. None when
    the pattern has no vector line work or its region is too intricate for the job header."""
    fills, lines, widths = [], [], []
    for layer in pattern.layers:
        if not layer.is_vector:
            continue
        shapes = pattern.to_machine(layer.shapes)
        fills.extend(shapely.get_parts(shapes.fills))
        lines.extend(shapes.strokes)
        widths.extend([hatch_pitch_mm(pattern, pattern.recipes[layer.recipe])] * len(shapes.strokes))
    if not fills and not lines:
        return None
    # parts are kept apart (a union of thousands of shapes costs seconds and adds nothing to a
    # pixel test) and simplified one by one (vectorised) to what a render can resolve; strokes
    # are simplified before they are widened, which is the same region within the tolerance
    fills = np.array(fills, dtype=object)
    lines = shapely.linestrings(np.concatenate(lines), indices=np.repeat(np.arange(len(lines)), [len(s) for s in lines])) \
        if lines else np.zeros(0, dtype=object)
    boxes = shapely.bounds(np.concatenate([fills, lines]))
    x0, y0 = np.min(boxes[:, :2], axis=0)
    x1, y1 = np.max(boxes[:, 2:], axis=0)
    tolerance = max(1e-3, max(x1 - x0, y1 - y0) / PROMISE_PX)
    strokes = shapely.buffer(shapely.simplify(lines, tolerance, preserve_topology=False), np.array(widths) / 2,
                             quad_segs=2)
    parts = np.concatenate([shapely.simplify(fills, tolerance), strokes])
    wkt = shapely.to_wkt(shapely.geometrycollections(list(parts)), rounding_precision=5)
    if len(wkt) > PROMISE_MAX_WKT:
        return None
    return {"source": "shape", "geometry_wkt": wkt, "min_iou": PROMISE_MIN_IOU, "simplified_mm": tolerance}


def with_shape_promise(pattern: Pattern) -> Pattern:
    """The pattern with its shape promise among `meta["layers"]` (verify reads them there)."""
    promise = shape_promise(pattern) if pattern.has_vector else None
    if promise is not None:
        items = [m for m in pattern.meta.get("layers", []) if m.get("source") != "shape"]
        pattern.meta = {**pattern.meta, "layers": [*items, promise]}
    return pattern
