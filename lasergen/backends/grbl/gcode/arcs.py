"""G2/G3 arcs as GRBL 1.1 checks and cuts them (gcode.c's arc checks, motion_control.c's mc_arc).

Planes: G17 works in X/Y, G18 in Z/X, G19 in Y/Z (axis_0, axis_1), the third axis moves
linearly (a helix). The centre comes from R (the chord's perpendicular bisector; a negative R
takes the long way round) or from the I/J/K offsets, whose end radius may differ from the
start radius by at most 0.005 mm, or by at most 0.5 mm and 0.1 % of the radius (error:33).
The arc is cut into chords whose sagitta stays within the arc tolerance ($12).
"""

from __future__ import annotations

import math

from lasergen.backends.grbl.gcode.commands import fail

PLANE_AXES = {"G17": (0, 1, 2), "G18": (2, 0, 1), "G19": (1, 2, 0)}  # axis_0, axis_1, linear axis
ANGULAR_EPSILON = 5e-7  # rad, mc_arc's ARC_ANGULAR_TRAVEL_EPSILON


def center_from_radius(start, target, r_mm: float, clockwise: bool, plane: str) -> tuple[float, float]:
    """Arc centre (in plane coordinates) through start and target with radius R (gcode.c's h_x2_div_d)."""
    a0, a1, _ = PLANE_AXES[plane]
    dx, dy = target[a0] - start[a0], target[a1] - start[a1]
    h2 = 4.0 * r_mm * r_mm - dx * dx - dy * dy
    if dx == 0 and dy == 0:  # a pure helix: GRBL divides by zero here and plans garbage; refuse it
        fail("invalid_target", "an R arc needs an end point that differs in the plane")
    if h2 < 0:
        fail("arc_radius_error", f"R{r_mm:g} is shorter than half the chord")
    h = -math.sqrt(h2) / math.hypot(dx, dy)
    if not clockwise:
        h = -h
    if r_mm < 0:
        h = -h
    return start[a0] + 0.5 * (dx - h * dy), start[a1] + 0.5 * (dy + h * dx)


def center_from_offsets(start, target, offsets_mm: dict, plane: str) -> tuple[float, float]:
    """Arc centre from I/J/K offsets (mm, relative to the start), checked like gcode.c."""
    a0, a1, _ = PLANE_AXES[plane]
    i0, i1 = offsets_mm.get(a0, 0.0), offsets_mm.get(a1, 0.0)
    r_start = math.hypot(i0, i1)
    r_end = math.hypot(target[a0] - start[a0] - i0, target[a1] - start[a1] - i1)
    delta = abs(r_end - r_start)
    if delta > 0.005 and (delta > 0.5 or delta > 0.001 * r_start):
        fail("invalid_target", f"arc end radius differs from its start radius by {delta:.4f} mm")
    return start[a0] + i0, start[a1] + i1


def chord_points(start, target, center, clockwise: bool, plane: str, tolerance_mm: float) -> list[list[float]]:
    """The chord end points of mc_arc, the last one exactly the target."""
    a0, a1, linear = PLANE_AXES[plane]
    c0, c1 = center
    r0, r1 = start[a0] - c0, start[a1] - c1
    t0, t1 = target[a0] - c0, target[a1] - c1
    sweep = math.atan2(r0 * t1 - r1 * t0, r0 * t0 + r1 * t1)
    if clockwise and sweep >= -ANGULAR_EPSILON:
        sweep -= 2 * math.pi
    elif not clockwise and sweep <= ANGULAR_EPSILON:
        sweep += 2 * math.pi
    radius = math.hypot(r0, r1)
    chord_limit = math.sqrt(max(tolerance_mm * (2 * radius - tolerance_mm), 1e-12))
    segments = max(1, int(abs(0.5 * sweep * radius) / chord_limit))
    angle0 = math.atan2(r1, r0)
    points = []
    for k in range(1, segments):
        f = k / segments
        p = list(start)
        p[a0] = c0 + radius * math.cos(angle0 + sweep * f)
        p[a1] = c1 + radius * math.sin(angle0 + sweep * f)
        p[linear] = start[linear] + (target[linear] - start[linear]) * f
        points.append(p)
    return points + [list(target)]
