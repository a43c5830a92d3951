"""Raster planning: a layer's mask -> scan lines of marks, and the motions between the marks.

Each sampled pixel row's runs of exposed pixels become LINE marks (np.diff over the whole
mask). Lines alternate direction (serpentine); a reversed pass runs them bottom-up, starting
on the line the previous pass ended on. What lies between two marks is chosen with the motion
model of a look-ahead controller (GRBL's planner.c): the junction of two collinear blocks runs
at the lower of their programmed rates, so a G0 between two marks leaves and enters them at
writing speed v and accelerates in between.
  line start  G0 to the run-up point, a blank lead-in (the run-up), the first mark
  in a line   cross: a blank G1 at v, d / v; or rapid: a collinear G0 straight to the next
              mark, the bang-bang time from v back to v (no lead-out, no lead-in)
  line change the quickest on the motion model of: a lead turn (blank lead-out, G0, lead-in),
              a G0 corner, or a G0 diagonal, each into a collinear run-up (turns.py)
  pass end    a blank lead-out (the run-out) after the last mark
On the motion model the rapid is never slower than crossing (it may exceed v, never drop
below it; they tie only where v is the rapid rate, and the blank G1 is kept), and inside a
line it never loses to a full jump either: a lead-out and a lead-in cost exactly 1/v per mm,
the rapid at most that. It is also the shorter line (`G0X..` against `G1X..S0`, emit.py), so
the serial link does not argue against it. Every line change ends in a run-up whose G0 (it
states Y) is a self-contained restart point at speed for a resume.
The run-up is twice the distance to reach v from rest (v^2 / a), and at least one motor step
plus the G-code's 0.1 um resolution on a controller that counts steps: GRBL rounds every
target to steps and drops a move of no step, and in laser mode under M3 that dropped move
synchronises (the machine stops and holds its $1 idle lock), so a sub-step run-up would start
every scan line from rest (measured on GRBL 1.1h's code: +28 ms per dropped run-up at
0.4 mm/s, 6 % on a QR code). A recipe's `overscan_mm` overrides it.
Look-ahead: GRBL plans at most `planner_blocks - 1` blocks ahead and plans the newest to stop,
so a mark keeps its speed only if it and the blocks after it within that window can stop from
v: sum 2 a L >= v^2 (motion.py models the same bound). Short runs at high speed cannot; such
a plan is refused with the speed the pattern allows, since a slower mark is an overexposed one.
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError, kernels
from lasergen.kinematics import trapezoid_times
from lasergen.machine import MachineProfile
from lasergen.pattern import Pattern
from lasergen.recipe import Recipe
from lasergen.toolpath import LINE, RAPID, Toolpath, chained_columns
from lasergen.turns import plan_turns

MIN_RUN_UP_MM = 0.001
GCODE_RESOLUTION_MM = 0.0001  # coordinates are written with 4 decimals (emit.py)


def min_run_up_mm(machine: MachineProfile) -> float:
    """The shortest run-up the controller executes as a move: one motor step on the coarsest
    axis plus the G-code's resolution (each written end moves by up to half of it), so its ends
    always round to different steps; 1 um where the profile counts no steps."""
    steps = getattr(machine, "steps_per_mm", None)
    if steps is None:
        return MIN_RUN_UP_MM
    return max(MIN_RUN_UP_MM, 1.0 / min(steps) + GCODE_RESOLUTION_MM)


def overscan_for(recipe: Recipe, machine: MachineProfile) -> float:
    """Lead-in and lead-out length: v^2 / a (twice the run-up to v), at least `min_run_up_mm`."""
    if recipe.overscan_mm is not None:
        return recipe.overscan_mm
    return max(min_run_up_mm(machine), recipe.speed_mm_s ** 2 / min(machine.accel_mm_s2))


def jump_threshold_mm(recipe: Recipe, machine: MachineProfile, overscan: float) -> float:
    """The gap length above which lead-out + rapid + lead-in beats crossing at writing speed
    (for planners that keep a run-up on both sides of a jump, as vector_plan's does).

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


def rapid_gaps(gap_cols: np.ndarray, pitch_mm: float, recipe: Recipe, machine: MachineProfile) -> np.ndarray:
    """Which gaps inside a scan line (widths in pixel columns) to cross with a collinear G0 rather
    than a blank G1 at writing speed: where the motion model's rapid, from v back to v, is
    quicker. Widths repeat, so the model runs once per width, not once per gap."""
    v = recipe.speed_mm_s
    width_mm = np.arange(int(gap_cols.max(initial=0)) + 1) * pitch_mm
    t_rapid, _ = trapezoid_times(width_mm, v, v, machine.max_rate_mm_s[0], machine.accel_mm_s2[0])
    return (t_rapid < width_mm / v)[gap_cols]


def serpentine_runs(sampled: np.ndarray, reverse: bool = False):
    """Runs of True of each row of `sampled` (the scan lines' pixel rows) in execution order:
    lines top-down (bottom-up for a reversed pass), each non-empty line the other way from the
    one before; a reversed pass starts on the line the previous pass ended on, travelling back
    along it. (line, entry col, exit col: int32; forward) per run, cols as pixel edges: the compiled
    kernel when built (`lasergen.kernels`), else `serpentine_runs_numpy`; identical."""
    kernel = kernels.get()
    if kernel is None:
        return serpentine_runs_numpy(sampled, reverse)
    sampled = np.ascontiguousarray(sampled, dtype=bool)
    n_runs, n_lines = kernel.count_runs(sampled)
    line, entry, exit_ = (np.empty(n_runs, np.int32) for _ in range(3))
    forward = np.empty(n_runs, bool)
    kernel.serpentine_runs(sampled, bool(reverse) * n_lines, line, entry, exit_, forward)
    return line, entry, exit_, forward


def serpentine_runs_numpy(sampled: np.ndarray, reverse: bool = False):
    """The reference of `serpentine_runs`: np.diff over the whole mask, then the lines that
    travel the other way flipped."""
    line_k, start_col, end_col = scan_line_runs(sampled, np.arange(sampled.shape[0]))
    if reverse:  # later passes run the lines bottom-up
        line_k, start_col, end_col = line_k[::-1], start_col[::-1], end_col[::-1]
    # runs arrive grouped by line in execution order; flip the lines that travel the other way
    first = np.r_[True, line_k[1:] != line_k[:-1]] if line_k.size else np.zeros(0, bool)
    group_start = np.flatnonzero(first)
    group_size = np.diff(np.r_[group_start, line_k.size])
    forward_line = (np.arange(group_start.size) + (group_start.size if reverse else 0)) % 2 == 0
    flip = np.repeat(forward_line != (not reverse), group_size)
    pos = np.arange(line_k.size)
    g0 = np.repeat(group_start, group_size)
    order = np.where(flip, 2 * g0 + np.repeat(group_size, group_size) - 1 - pos, pos)
    line_k, start_col, end_col = line_k[order], start_col[order], end_col[order]
    forward = np.repeat(forward_line, group_size)
    entry_col, exit_col = np.where(forward, start_col, end_col), np.where(forward, end_col, start_col)
    return line_k.astype(np.int32), entry_col.astype(np.int32), exit_col.astype(np.int32), forward


def plan_raster(pattern: Pattern, mask: np.ndarray, recipe: Recipe, machine: MachineProfile,
                reverse: bool = False, recipe_name: str = "") -> Toolpath:
    rows = mask.shape[0]
    pitch_mm = pattern.pitch_um / 1000.0
    line_pitch_mm = (recipe.line_pitch_um or pattern.pitch_um) / 1000.0
    n_lines = max(1, int(round(rows * pitch_mm / line_pitch_mm)))
    # scan line k sits at the centre of its band; it samples the pixel row under it
    line_top_offset = (np.arange(n_lines) + 0.5) * line_pitch_mm
    line_rows = np.minimum((line_top_offset / pitch_mm).astype(np.int64), rows - 1)
    line_y = pattern.origin_mm[1] + rows * pitch_mm - line_top_offset
    sampled = mask if np.array_equal(line_rows, np.arange(rows)) else mask[line_rows]
    line_k, entry_col, exit_col, forward = serpentine_runs(sampled, reverse)
    if line_k.size == 0:
        return Toolpath.empty()
    x0 = pattern.origin_mm[0]
    run_up = overscan_for(recipe, machine)
    v = recipe.speed_mm_s
    turn_at = np.flatnonzero(line_k[1:] != line_k[:-1])  # runs that end a line another line follows
    line_a, line_b = line_k[turn_at], line_k[turn_at + 1]
    turns = plan_turns(x0 + exit_col[turn_at] * pitch_mm, x0 + entry_col[turn_at + 1] * pitch_mm, line_y[line_a],
                       line_y[line_b], np.where(forward[turn_at], 1.0, -1.0), run_up, v, machine)
    # which gap widths (pixel columns) a collinear G0 crosses quicker than a blank G1 at v
    rapid_by_width = rapid_gaps(np.arange(sampled.shape[1] + 1), pitch_mm, recipe, machine)
    runs = (line_k, entry_col, exit_col, forward)
    shortest_mm = min(pitch_mm, line_pitch_mm)
    holds = look_ahead_holds(recipe, machine, shortest_mm, run_up)  # then the marks' rows are not needed
    kind, (x_start, x1), (y_start, y1), speed, energy, mark_at = raster_rows(
        runs, line_y, x0, pitch_mm, rapid_by_width, turns, run_up, v, recipe.energy_uJ, marks=not holds)
    del runs, line_k, entry_col, exit_col, forward
    if not holds:
        check_look_ahead(kind, x1, y1, mark_at, recipe, machine, recipe_name, shortest_mm, run_up)
    return Toolpath.from_columns(kind=kind, x0=x_start, x1=x1, y0=y_start, y1=y1, speed_mm_s=speed, energy_uJ=energy)


def raster_rows(runs, line_y, x0: float, pitch_mm: float, rapid_by_width, turns, run_up: float, v: float,
                energy_uJ: float, marks: bool = True):
    """The toolpath rows of a pass's runs (`serpentine_runs`: line, entry col, exit col, forward)
    in execution order: (kind, (x0, x1), (y0, y1), speed, energy, mark_at), the starts and ends
    as `chained_columns`. Per run: [G0 to the run-up point,
    lead-in] before the pass's first; the mark; then the gap (a blank G1 at v, or a G0 where
    `rapid_by_width` of its width says so), the line change (`turns`: plan_turns' rows, 2 or 3
    used) or, after the pass's last run, a lead-out. X = x0 + col * pitch_mm, Y = line_y[line].
    `marks` False: mark_at is None (the compiled kernel then skips it). The compiled kernel when
    built, else `raster_rows_numpy`; bit-identical."""
    kernel = kernels.get()
    if kernel is None:
        return raster_rows_numpy(runs, line_y, x0, pitch_mm, rapid_by_width, turns, run_up, v, energy_uJ)
    t_kind, t_x1, t_y1, t_speed, t_used = (np.ascontiguousarray(t) for t in turns)
    n_runs = runs[0].size
    n_rows = 2 + 2 * n_runs - t_kind.shape[0] + int(np.count_nonzero(t_used))
    kind, speed, energy = np.empty(n_rows, np.uint8), np.empty(n_rows, np.float32), np.empty(n_rows, np.float32)
    (x_start, x1), (y_start, y1) = chained_columns(n_rows), chained_columns(n_rows)
    mark_at = np.empty(n_runs, np.int64) if marks else None
    kernel.raster_rows(*map(np.ascontiguousarray, runs), np.ascontiguousarray(line_y, dtype=np.float64),
                       np.ascontiguousarray(rapid_by_width, dtype=bool), float(x0), float(pitch_mm),
                       t_kind, t_x1, t_y1, t_speed, t_used, float(run_up), float(np.float32(v)),
                       float(np.float32(energy_uJ)), kind, x1, y1, speed, energy, mark_at)
    return kind, (x_start, x1), (y_start, y1), speed, energy, mark_at


def raster_rows_numpy(runs, line_y, x0: float, pitch_mm: float, rapid_by_width, turns, run_up: float, v: float,
                      energy_uJ: float):
    """The reference of `raster_rows`: per-run columns, then rows counted per run and laid out
    by scatters."""
    line_k, entry_col, exit_col, forward = runs
    t_kind, t_x1, t_y1, t_speed, t_used = turns
    last = np.r_[line_k[1:] != line_k[:-1], True]
    # pixel columns between each run and the next on its line (0 where the line ends)
    gap_cols = np.where(forward[:-1], entry_col[1:] - exit_col[:-1], exit_col[:-1] - entry_col[1:])
    gap_cols[last[:-1]] = 0
    rapid = ~last & np.r_[rapid_by_width[gap_cols], False]
    entry = x0 + entry_col * pitch_mm
    exit_ = x0 + exit_col * pitch_mm
    y = line_y[line_k]
    direction = np.where(forward, 1.0, -1.0)
    turn_at = np.flatnonzero(last[:-1])
    tail_n = np.ones(entry.size, np.int64)
    tail_n[turn_at] = t_used.sum(axis=1)
    counts = 1 + tail_n
    counts[0] += 2
    base = np.cumsum(counts) - counts
    mark_at = base.copy()
    mark_at[0] += 2
    n_rows = int(base[-1] + counts[-1])
    kind = np.full(n_rows, LINE, dtype=np.uint8)
    (x_start, x1), (y_start, y1) = chained_columns(n_rows), chained_columns(n_rows)
    energy = np.zeros(n_rows, dtype=np.float32)
    x1[mark_at] = exit_
    energy[mark_at] = energy_uJ
    tail = mark_at + 1
    # after each mark: the lead-out at the pass's end, else the next entry; a line change's rows
    # (below) overwrite this from the same row on
    x1[tail] = np.where(last, exit_ + direction * run_up, np.r_[entry[1:], 0.0])
    kind[tail[rapid]] = RAPID
    kind[0] = RAPID
    x1[0] = entry[0] - direction[0] * run_up
    x1[1] = entry[0]
    y1[:] = np.repeat(y, counts)
    speed = np.full(n_rows, np.float32(v))
    turn_rows = (tail[turn_at][:, None] + np.cumsum(t_used, axis=1) - 1)[t_used]
    kind[turn_rows], x1[turn_rows], y1[turn_rows], speed[turn_rows] = \
        t_kind[t_used], t_x1[t_used], t_y1[t_used], t_speed[t_used]
    speed[kind == RAPID] = 0.0
    return kind, (x_start, x1), (y_start, y1), speed, energy, mark_at


def look_ahead_holds(recipe: Recipe, machine: MachineProfile, pattern_pitch_mm: float, overscan_mm: float) -> bool:
    """Can every mark keep its speed whatever the pattern: a controller without look-ahead (PI:
    every move from rest to rest), or every window of blocks no shorter than the pattern's pitch
    and the run-up can stop from v."""
    blocks = getattr(machine, "planner_blocks", None)
    if blocks is None:
        return True
    shortest_mm = min(pattern_pitch_mm, overscan_mm)  # no block is shorter: runs, gaps, run-ups, line steps
    v = recipe.speed_mm_s
    return bool(shortest_mm > 0 and 2 * min(machine.accel_mm_s2) * shortest_mm * max(1, blocks - 1) >= v * v)


def check_look_ahead(kind, x1, y1, mark_at, recipe: Recipe, machine: MachineProfile, recipe_name: str = "",
                     pattern_pitch_mm: float = 0.0, overscan_mm: float = 0.0) -> None:
    """Refuse a pass whose marks the controller's look-ahead cannot keep at speed: every mark's
    entry and exit must be stoppable within the `planner_blocks - 1` blocks from there on
    (GRBL plans the newest block to stop)."""
    if look_ahead_holds(recipe, machine, pattern_pitch_mm, overscan_mm):
        return
    blocks = machine.planner_blocks
    v = recipe.speed_mm_s
    window = max(1, blocks - 1)
    n = x1.size
    dx = np.diff(x1)
    dy = np.diff(y1)
    accel = np.where(dy == 0, machine.accel_mm_s2[0], min(machine.accel_mm_s2))
    length = np.where(dy == 0, np.abs(dx), np.sqrt(dx * dx + dy * dy))
    reach = np.zeros(n + 1)  # reach[i]: sum of 2 a L over rows < i (row 0's approach does not count)
    np.cumsum(2 * accel * length, out=reach[2:])
    ahead = np.arange(n + 1) + window
    # squared speed row i can enter with and still stop within the window; a window reaching the
    # pass's end is bounded by the lead-out instead (the run-up, or the recipe's own overscan)
    stop_sqr = np.where(ahead <= n, reach[np.minimum(ahead, n)] - reach, np.inf)
    limit_sqr = np.minimum(stop_sqr[mark_at], stop_sqr[mark_at + 1])
    short = limit_sqr < v * v * (1 - 1e-9)
    if short.any():
        allowed = float(np.sqrt(limit_sqr[short].min()))
        allowed = np.floor(allowed * 1000) / 1000  # shown rounded down, so the figure given plans
        name = f"recipe {recipe_name!r}" if recipe_name else "raster recipe"
        raise LasergenError(
            f"{name}: at {v:g} mm/s the controller's {blocks}-block look-ahead cannot keep "
            f"{int(short.sum())} of {mark_at.size} marks at speed over this pattern's short runs (they would be "
            f"written slower, i.e. overexposed); at most {allowed:g} mm/s here, or a higher acceleration")
