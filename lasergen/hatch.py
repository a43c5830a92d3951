"""Hatch: the lines that fill polygons, as segments, computed for all polygons at once.

Scan lines `pitch_mm` apart at band centres (the first half a pitch inside the polygon's
extent), in a frame turned by -angle; where each lies inside its polygon is found by the
even-odd scanline fill (`scan_crossings`), numpy over every edge of every ring; each polygon's
lines then run as a serpentine (odd lines right to left) and are turned back by +angle.
"""

from __future__ import annotations

import numpy as np
import shapely

MIN_SEGMENT_MM = 1e-7


def scan_crossings(polys: np.ndarray, pitch_mm: float, angle_deg: float):
    """Where the scan lines of every polygon (turned by -angle) lie inside it, numpy over all
    edges of all rings at once (the even-odd scanline fill of a valid polygon, holes being rings
    too): an edge crosses the lines whose y lies in [y_low, y_high) of its end points, so each
    vertex is counted once and horizontal edges never; along a line the crossings, sorted,
    pair up into inside spans. Returns per span (x from, x to, y, its line), the line's index
    within its polygon and the polygon of each line."""
    rings, ring_poly = shapely.get_rings(polys, return_index=True)
    xy, ring_of = shapely.get_coordinates(rings, return_index=True)
    c, s = np.cos(np.radians(-angle_deg)), np.sin(np.radians(-angle_deg))
    xy = xy @ np.array([[c, -s], [s, c]]).T
    poly_of_pt = ring_poly[ring_of]
    y_lo = np.full(len(polys), np.inf)
    y_hi = np.full(len(polys), -np.inf)
    np.minimum.at(y_lo, poly_of_pt, xy[:, 1])
    np.maximum.at(y_hi, poly_of_pt, xy[:, 1])
    n_lines = np.maximum(1, np.ceil((y_hi - y_lo) / pitch_mm - 1e-9).astype(np.int64))
    line_base = np.cumsum(n_lines) - n_lines  # global index of each polygon's first line
    owner = np.repeat(np.arange(len(polys)), n_lines)
    k = np.arange(owner.size) - line_base[owner]
    y = y_lo[owner] + (k + 0.5) * pitch_mm
    # edges: consecutive points of one ring
    same = ring_of[1:] == ring_of[:-1]
    a, b = xy[:-1][same], xy[1:][same]
    poly = poly_of_pt[:-1][same]
    e_lo, e_hi = np.minimum(a[:, 1], b[:, 1]), np.maximum(a[:, 1], b[:, 1])
    # candidate lines, one more each side than the arithmetic says; the exact test decides below
    first = np.ceil((e_lo - y_lo[poly]) / pitch_mm - 0.5).astype(np.int64) - 1
    last = np.ceil((e_hi - y_lo[poly]) / pitch_mm - 0.5).astype(np.int64) + 1
    first, last = np.clip(first, 0, n_lines[poly]), np.clip(last, 0, n_lines[poly])
    hits = last - first
    edge = np.repeat(np.arange(len(a)), hits)
    line = line_base[poly][edge] + first[edge] + (np.arange(edge.size) - np.repeat(np.cumsum(hits) - hits, hits))
    yl = y[line]
    keep = (yl >= e_lo[edge]) & (yl < e_hi[edge])  # the half-open rule, the same test for both edges of a vertex
    edge, line, yl = edge[keep], line[keep], yl[keep]
    pa, pb = a[edge], b[edge]
    x = pa[:, 0] + (yl - pa[:, 1]) * (pb[:, 0] - pa[:, 0]) / (pb[:, 1] - pa[:, 1])
    order = np.lexsort((x, line))
    x, line = x[order], line[order]
    count = np.bincount(line, minlength=owner.size)
    start = np.cumsum(count) - count
    rank = np.arange(line.size) - start[line]
    odd_lines = (count % 2 == 1)[line]  # only by a degenerate ring (a spike): its crossings are dropped
    left = (rank % 2 == 0) & ~odd_lines
    lo, hi = x[left], x[np.flatnonzero(left) + 1]
    line_of = line[left]
    keep = hi - lo > MIN_SEGMENT_MM
    return lo[keep], hi[keep], y[line_of[keep]], line_of[keep], k, owner


def hatch_units(fills, pitch_mm: float, angle_deg: float) -> list[np.ndarray]:
    """One (n, 2, 2) array of hatch segments per polygon, in serpentine order."""
    polys = np.array([p for p in shapely.get_parts(fills) if p.area > 0], dtype=object)
    if not len(polys):
        return []
    lo, hi, yy, line_of, k, owner = scan_crossings(polys, pitch_mm, angle_deg)
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
