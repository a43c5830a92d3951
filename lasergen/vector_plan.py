"""Vector planning: a layer's Shapes -> Toolpath of line marks (strokes, hatch) and dots.

1. Geometry to machine coordinates (`Pattern.to_machine`, the one y flip).
2. Fills become hatch lines clipped to the shape with shapely: scan lines `hatch_um` apart at
   band centres, in a frame turned by `hatch_angle_deg`, intersected with each polygon
   (holes included) in one vectorised call; each polygon's lines run as a serpentine. Cross-
   hatch adds the same at +90 degrees (the crossings are written twice: that is what a cross-
   hatch is), `outline` traces every boundary ring.
3. Units (a stroke, a polygon's hatch, a ring) are ordered by `order_strokes`, greedy nearest
   end with reversal: a unit may be run backwards when that is nearer. (The project's ordering
   module offers no stroke ordering yet; this small one is meant to be replaced by it.)
4. Corners: each unit is cut into runs at every vertex whose junction speed (the junction-
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
from scipy.spatial import cKDTree
from shapely import affinity

from lasergen import LasergenError
from lasergen.backends import language_for
from lasergen.machine import MachineProfile
from lasergen.ordering import order_points
from lasergen.pattern import Layer, Pattern
from lasergen.recipe import Recipe
from lasergen.shapes import Shapes
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

MIN_SEGMENT_MM = 1e-7


def hatch_units(fills, pitch_mm: float, angle_deg: float) -> list[np.ndarray]:
    """One (n, 2, 2) array of hatch segments per polygon, in serpentine order."""
    polys = [p for p in shapely.get_parts(fills) if p.area > 0]
    if not polys:
        return []
    turned = [affinity.rotate(p, -angle_deg, origin=(0, 0)) for p in polys]
    bounds = np.array([p.bounds for p in turned])
    n_lines = np.maximum(1, np.ceil((bounds[:, 3] - bounds[:, 1]) / pitch_mm - 1e-9).astype(np.int64))
    owner = np.repeat(np.arange(len(polys)), n_lines)
    k = np.arange(owner.size) - np.repeat(np.cumsum(n_lines) - n_lines, n_lines)
    y = bounds[owner, 1] + (k + 0.5) * pitch_mm
    x0, x1 = bounds[owner, 0] - 1.0, bounds[owner, 2] + 1.0
    lines = shapely.linestrings(np.stack([np.column_stack([x0, y]), np.column_stack([x1, y])], axis=1))
    targets = np.array(turned, dtype=object)
    shapely.prepare(targets)
    clipped = shapely.intersection(lines, targets[owner])
    parts, line_of = shapely.get_parts(clipped, return_index=True)
    count = shapely.get_num_coordinates(parts)
    is_line = (shapely.get_type_id(parts) == 1) & (count >= 2)
    parts, line_of, count = parts[is_line], line_of[is_line], count[is_line]
    coords = shapely.get_coordinates(parts)
    first = np.cumsum(count) - count
    xa, xb = coords[first, 0], coords[first + count - 1, 0]
    lo, hi = np.minimum(xa, xb), np.maximum(xa, xb)
    yy = y[line_of]
    keep = hi - lo > MIN_SEGMENT_MM
    lo, hi, yy, line_of = lo[keep], hi[keep], yy[keep], line_of[keep]
    order = np.lexsort((lo, line_of))
    lo, hi, yy, line_of = lo[order], hi[order], yy[order], line_of[order]
    backwards = k[line_of] % 2 == 1  # odd lines of each polygon run right to left
    key = np.where(backwards, -lo, lo)
    order = np.lexsort((key, line_of))
    lo, hi, yy, line_of, backwards = lo[order], hi[order], yy[order], line_of[order], backwards[order]
    start = np.column_stack([np.where(backwards, hi, lo), yy])
    end = np.column_stack([np.where(backwards, lo, hi), yy])
    c, s = np.cos(np.radians(angle_deg)), np.sin(np.radians(angle_deg))
    rot = np.array([[c, -s], [s, c]])
    segs = np.stack([start @ rot.T, end @ rot.T], axis=1)
    poly_of = owner[line_of]
    cuts = np.flatnonzero(np.diff(poly_of)) + 1
    return np.split(segs, cuts)


def clean(polyline: np.ndarray) -> np.ndarray:
    """Drop repeated points (zero-length segments have no direction)."""
    step = np.hypot(*np.diff(polyline, axis=0).T)
    return polyline[np.r_[True, step > MIN_SEGMENT_MM]]


def junction_ok(polyline: np.ndarray, speed_mm_s: float, machine: MachineProfile) -> np.ndarray:
    """Per interior vertex: can the machine pass it at `speed_mm_s` (junction-deviation model)?"""
    d = np.diff(polyline, axis=0)
    u = d / np.hypot(d[:, 0], d[:, 1])[:, None]
    cos_theta = -(u[1:] * u[:-1]).sum(axis=1)
    j = u[1:] - u[:-1]
    ax, ay = machine.accel_mm_s2
    with np.errstate(divide="ignore", invalid="ignore"):
        a_j = np.hypot(j[:, 0], j[:, 1]) / np.maximum(np.abs(j[:, 0]) / ax, np.abs(j[:, 1]) / ay)
        s = np.sqrt(0.5 * (1.0 - np.maximum(cos_theta, -0.999999)))
        v_sqr = a_j * machine.junction_deviation_mm * s / (1.0 - s)
    v_sqr = np.where(cos_theta < -0.999999, np.inf, np.where(cos_theta > 0.999999, 0.0, v_sqr))
    return v_sqr >= speed_mm_s ** 2


def split_runs(polyline: np.ndarray, speed_mm_s: float, machine: MachineProfile) -> list[np.ndarray]:
    """Cut a polyline at the vertices the machine cannot pass at writing speed. A closed one
    starts at such a corner when it has one, so its start and end are a corner too."""
    p = clean(polyline)
    if len(p) < 2:
        return []
    closed = len(p) > 3 and np.allclose(p[0], p[-1], atol=MIN_SEGMENT_MM)
    if closed:
        ring = np.vstack([p[-2:-1], p])  # the vertex at p[0] seen from the segment before it
        sharp = np.flatnonzero(~junction_ok(ring, speed_mm_s, machine))
        if sharp.size:
            at = int(sharp[0])
            p = np.vstack([p[at:-1], p[:at + 1]])
    cut = np.flatnonzero(~junction_ok(p, speed_mm_s, machine)) + 1 if len(p) > 2 else np.zeros(0, int)
    bounds = np.r_[0, cut, len(p) - 1]
    return [p[a:b + 1] for a, b in zip(bounds[:-1], bounds[1:])]


def order_strokes(starts: np.ndarray, ends: np.ndarray, start_mm) -> tuple[np.ndarray, np.ndarray]:
    """Greedy nearest end with reversal: (order, reversed?) of units given by their end points."""
    n = len(starts)
    order, flipped = np.empty(n, dtype=np.int64), np.zeros(n, dtype=bool)
    if n == 0:
        return order, flipped
    ends_all = np.vstack([starts, ends])  # index i < n: enter unit i at its start; i >= n: at its end
    done = np.zeros(n, dtype=bool)
    live = np.arange(2 * n)
    tree = cKDTree(ends_all)
    here = np.asarray(start_mm, dtype=float)
    for step in range(n):
        if (n - step) * 4 < len(live) and n - step > 64:
            live = np.flatnonzero(~np.tile(done, 2))
            tree = cKDTree(ends_all[live])
        k = min(8, len(live))
        while True:
            _, idx = tree.query(here, k=k)
            cand = live[np.atleast_1d(idx)[np.atleast_1d(idx) < len(live)]]
            free = cand[~done[cand % n]]
            if free.size or k >= len(live):
                break
            k = min(4 * k, len(live))
        chosen = int(free[0])
        unit = chosen % n
        order[step], flipped[step] = unit, chosen >= n
        done[unit] = True
        here = starts[unit] if chosen >= n else ends[unit]
    return order, flipped


HATCH, PATH = 0, 1  # a hatch block: consecutive point pairs are separate runs; a path: one polyline


def line_units(shapes: Shapes, recipe: Recipe, pitch_mm: float) -> list[tuple[int, np.ndarray]]:
    """Every (kind, polyline) the layer writes, before ordering: strokes, hatch blocks, outlines."""
    units = [(PATH, s) for s in shapes.strokes if len(s) >= 2]
    if not shapes.fills.is_empty:
        angle = recipe.hatch_angle_deg or 0.0
        for a in ([angle, angle + 90.0] if recipe.cross_hatch else [angle]):
            units += [(HATCH, block.reshape(-1, 2)) for block in hatch_units(shapes.fills, pitch_mm, a)]
        if recipe.outline:
            for poly in shapely.get_parts(shapes.fills):
                units += [(PATH, np.asarray(r.coords)) for r in (poly.exterior, *poly.interiors)]
    return units


def ordered_runs(shapes: Shapes, recipe: Recipe, pitch_mm: float, machine: MachineProfile,
                 start_mm) -> list[np.ndarray]:
    """Runs (polylines written at constant speed) in execution order."""
    units = line_units(shapes, recipe, pitch_mm)
    if not units:
        return []
    starts = np.array([u[0] for _, u in units])
    ends = np.array([u[-1] for _, u in units])
    order, flipped = order_strokes(starts, ends, start_mm)
    runs = []
    for index, flip in zip(order.tolist(), flipped.tolist()):
        kind, unit = units[index]
        unit = unit[::-1] if flip else unit
        if kind == HATCH:
            runs.extend(unit.reshape(-1, 2, 2))
        else:
            runs.extend(split_runs(unit, recipe.speed_mm_s, machine))
    return runs


def runs_to_toolpath(runs: list[np.ndarray], recipe: Recipe, overscan_mm: float, join_below_mm: float) -> Toolpath:
    """Rows per run: RAPID to the lead-in start, blank lead-in, the marks, blank lead-out; a run
    that continues the previous one on its line within `join_below_mm` is reached by one blank
    move at writing speed instead of lead-out + rapid + lead-in. Vectorised over all runs."""
    if not runs:
        return Toolpath.empty()
    m = np.array([len(r) for r in runs])
    pts = np.concatenate(runs)
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
    run_of_point = np.repeat(np.arange(len(runs)), m)
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


def hatch_pitch_mm(pattern: Pattern, recipe: Recipe) -> float:
    return (recipe.hatch_um or recipe.line_pitch_um or pattern.pitch_um) / 1000.0


def plan_vector(pattern: Pattern, layer: Layer, recipe: Recipe, machine: MachineProfile,
                start_mm) -> tuple[list[Toolpath], list[Toolpath]]:
    """The layer's passes: (forward, backward), each a list of parts that become passes of their
    own: line work, then dots; the backward one retraces the forward one from its end."""
    from lasergen.planner import jump_threshold_mm, overscan_for  # planner dispatches here

    shapes = pattern.to_machine(layer.shapes)
    runs = ordered_runs(shapes, recipe, hatch_pitch_mm(pattern, recipe), machine, start_mm)
    overscan = overscan_for(recipe, machine)
    join_below = jump_threshold_mm(recipe, machine, overscan)
    lines = runs_to_toolpath(runs, recipe, overscan, join_below)
    if len(lines):
        check_horizon(lines, recipe, machine)
        start_mm = (lines.x1[-1], lines.y1[-1])
    dots = plan_points(shapes, recipe, machine, start_mm)
    forward = [part for part in (lines, dots) if len(part)]
    if recipe.passes < 2:
        return forward, []
    back_lines = runs_to_toolpath([r[::-1] for r in runs[::-1]], recipe, overscan, join_below)
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
    pieces = []
    for layer in pattern.layers:
        if not layer.is_vector:
            continue
        shapes = pattern.to_machine(layer.shapes)
        width = hatch_pitch_mm(pattern, pattern.recipes[layer.recipe])
        pieces.extend(shapely.get_parts(shapes.fills))
        if shapes.strokes:
            pieces.extend(shapely.buffer(shapely.linestrings(shapes.strokes), width / 2, quad_segs=4))
    if not pieces:
        return None
    # parts are kept apart (a union of thousands of shapes costs seconds and adds nothing to a
    # pixel test) and simplified one by one (vectorised) to what a render can resolve
    parts = np.array(pieces, dtype=object)
    x0, y0 = np.min(shapely.bounds(parts)[:, :2], axis=0)
    x1, y1 = np.max(shapely.bounds(parts)[:, 2:], axis=0)
    tolerance = max(1e-3, max(x1 - x0, y1 - y0) / PROMISE_PX)
    parts = shapely.simplify(parts, tolerance)
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
