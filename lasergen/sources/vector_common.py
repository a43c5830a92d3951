"""What the vector sources (svg, dxf, gds, points) share: filled regions from closed rings
under a fill rule, the physical size (`width_mm` scaling), and the Artwork they return.

Fill rules (SVG's `nonzero` and `evenodd`): a single simple ring is its polygon. Otherwise
the rings are noded (shapely `union_all` of their outlines), the plane is cut into faces
(`polygonize`), and each face is kept when the winding number of an interior point of it
(summed over all rings, vectorised in numpy: the crossing rule with signed edges) passes the
rule: != 0 for nonzero, odd for evenodd. That is exact for any self-intersecting or nested
set of rings, and it is how a hole becomes a hole. Rings that neither cross nor touch (an
outline and its holes, the common case) are polygonized without the noding step.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import LineString, Polygon

from lasergen import LasergenError
from lasergen.shapes import EMPTY, Shapes
from lasergen.sources import Artwork

FILL_RULES = ("nonzero", "evenodd")
DEFAULT_TOLERANCE_UM = 0.5
DEFAULT_PITCH_UM = 10.0
SNAP_DECIMALS = 9  # rings are snapped to 1e-9 mm first: float noise off a line makes slivers, not faces
MIN_FACE_MM2 = 1e-9  # faces smaller than this (slivers of a fold, ~30 nm across) enclose nothing writable
MAX_POINTS = 20_000_000  # flattened points of one drawing: beyond this a tolerance is absurd for it


def resolve(path, base_dir: Path, what: str) -> Path:
    if not path:
        raise LasergenError(f"{what} source: 'path' is required")
    path = Path(path)
    path = path if path.is_absolute() else base_dir / path
    if not path.is_file():
        raise LasergenError(f"{what} file not found: {path}")
    return path


def winding_numbers(points: np.ndarray, rings: list[np.ndarray]) -> np.ndarray:
    """Winding number of each point around the closed rings (summed)."""
    edges = np.concatenate([np.stack([r[:-1], r[1:]], axis=1) for r in rings])  # (E, 2, 2)
    a, b = edges[None, :, 0], edges[None, :, 1]
    p = points[:, None, :]
    cross = (b[..., 0] - a[..., 0]) * (p[..., 1] - a[..., 1]) - (p[..., 0] - a[..., 0]) * (b[..., 1] - a[..., 1])
    up = (a[..., 1] <= p[..., 1]) & (b[..., 1] > p[..., 1]) & (cross > 0)
    down = (b[..., 1] <= p[..., 1]) & (a[..., 1] > p[..., 1]) & (cross < 0)
    return up.sum(axis=1) - down.sum(axis=1)


def fill_from_rings(rings: list[np.ndarray], rule: str = "nonzero"):
    """The region closed rings enclose under the fill rule, as a (Multi)Polygon."""
    if rule not in FILL_RULES:
        raise LasergenError(f"fill rule must be one of {FILL_RULES}, got {rule!r}")
    rings = [np.round(r, SNAP_DECIMALS) for r in rings]
    rings = [r if np.array_equal(r[0], r[-1]) else np.vstack([r, r[:1]]) for r in rings if len(r) >= 3]
    rings = [r for r in rings if len(r) >= 4]  # closed rings of 3 points enclose nothing
    if not rings:
        return EMPTY
    if len(rings) == 1:
        poly = Polygon(rings[0])
        if poly.is_valid:
            return poly
    lines = np.array([LineString(r) for r in rings], dtype=object)
    i, j = np.triu_indices(len(lines), 1)
    crossing = len(lines) > 64 or shapely.intersects(lines[i], lines[j]).any() or not shapely.is_simple(lines).all()
    # rings that neither cross nor touch are already noded (the usual outline + holes): skip noding
    noded = shapely.union_all(lines) if crossing else shapely.multilinestrings(list(lines))
    faces = list(shapely.get_parts(shapely.polygonize([noded])))
    faces = [f for f in faces if f.area > MIN_FACE_MM2]
    if not faces:
        return EMPTY
    inner = np.array([f.representative_point().coords[0] for f in faces])
    w = winding_numbers(inner, rings)
    keep = w != 0 if rule == "nonzero" else (w % 2) == 1
    return shapely.union_all([f for f, k in zip(faces, keep) if k])


def fill_regions(rings: list[np.ndarray], owner: np.ndarray, rules: list[str]) -> dict[int, list]:
    """Per owner (element), the polygons its closed rings enclose under its fill rule: one
    simple ring, or two rings one strictly inside the other (an outline and its hole) or apart,
    decided for all owners at once with shapely's vectorised predicates; anything else (rings
    that cross or touch, three or more) through `fill_from_rings`."""
    out: dict[int, list] = {}
    rings = [np.round(r, SNAP_DECIMALS) for r in rings]
    closed = [r if np.array_equal(r[0], r[-1]) else np.vstack([r, r[:1]]) for r in rings]
    has_area = np.array([len(r) >= 4 for r in closed], dtype=bool)  # a closed ring of 3 points is a line
    rings = [r for r, k in zip(rings, has_area) if k]
    closed = [r for r, k in zip(closed, has_area) if k]
    owner = np.asarray(owner, dtype=np.int64)[has_area] if len(has_area) else np.zeros(0, np.int64)
    if not rings:
        return out
    sizes = np.array([len(r) for r in closed])
    polys = shapely.polygons(shapely.linearrings(np.concatenate(closed), indices=np.repeat(np.arange(len(closed)),
                                                                                           sizes)))
    valid = shapely.is_valid(polys)
    ids, count = np.unique(owner, return_counts=True)
    order = np.argsort(owner, kind="stable")  # the rings of owner ids[k]: order[first[k]:first[k] + count[k]]
    first = np.searchsorted(owner[order], ids)
    general = []
    one = count == 1
    for e, i in zip(ids[one].tolist(), order[first[one]].tolist()):
        if valid[i]:
            out[e] = [polys[i]]
        else:
            general.append(e)
    two = count == 2
    a, b = order[first[two]], order[first[two] + 1]
    ok = valid[a] & valid[b]
    a_in_b = shapely.contains_properly(polys[b], shapely.get_exterior_ring(polys[a])) & ok
    b_in_a = shapely.contains_properly(polys[a], shapely.get_exterior_ring(polys[b])) & ok
    apart = shapely.disjoint(polys[a], polys[b]) & ok
    ccw = shapely.is_ccw(shapely.get_exterior_ring(polys))
    nested = a_in_b | b_in_a
    outer, inner = np.where(a_in_b, b, a), np.where(a_in_b, a, b)
    same_turn = ccw[outer] == ccw[inner]  # nonzero: the inside of two rings turning alike winds twice
    nonzero = np.array([rules[e] == "nonzero" for e in ids[two].tolist()], dtype=bool)
    holed = nested & ~(nonzero & same_turn)
    with_hole = iter(shapely.polygons(shapely.get_exterior_ring(polys[outer[holed]]),
                                      holes=shapely.get_exterior_ring(polys[inner[holed]])[:, None]))
    for e, i, j, is_nested, has_hole, sep in zip(ids[two].tolist(), outer.tolist(), inner.tolist(),
                                                 nested.tolist(), holed.tolist(), apart.tolist()):
        if has_hole:
            out[e] = [next(with_hole)]
        elif is_nested:
            out[e] = [polys[i]]
        elif sep:
            out[e] = [polys[i], polys[j]]
        else:
            general.append(e)
    general += ids[count > 2].tolist()
    span = {e: order[f:f + c] for e, f, c in zip(ids.tolist(), first.tolist(), count.tolist())}
    for e in general:
        region = fill_from_rings([rings[i] for i in span[e]], rules[e])
        out[e] = list(shapely.get_parts(region)) if not region.is_empty else []
    return out


def fit_width(groups: dict[str, Shapes], box_mm: tuple[float, float], width_mm: float | None):
    """Scale every group so the document box is `width_mm` wide (None: keep the file's size)."""
    if width_mm is None:
        return groups, box_mm
    if not width_mm > 0 or not np.isfinite(width_mm):
        raise LasergenError(f"width_mm must be a positive number, got {width_mm}")
    if box_mm[0] <= 0:
        raise LasergenError("cannot scale to a width: the document has no width")
    k = width_mm / box_mm[0]
    return {name: s.scaled(k) for name, s in groups.items()}, (box_mm[0] * k, box_mm[1] * k)


def vector_artwork(groups: dict[str, Shapes], box_mm, what: str, meta: dict, width_mm=None,
                   pitch_um: float | None = None) -> Artwork:
    """The Artwork of a vector source: empty groups dropped, an empty drawing refused."""
    groups = {name: s for name, s in groups.items() if not s.is_empty}
    if not groups:
        raise LasergenError(f"{what}: no drawable elements (no filled shape, stroke or point)")
    groups, box_mm = fit_width(groups, box_mm, width_mm)
    groups = {name: Shapes(box_mm, s.fills, s.strokes, s.points, s.point_energy_uJ, s.point_dwell_s, s.tolerance_mm)
              for name, s in groups.items()}
    meta = {**meta, "size_mm": [round(box_mm[0], 6), round(box_mm[1], 6)], "groups": sorted(groups)}
    return Artwork(None, float(pitch_um or DEFAULT_PITCH_UM), meta, groups)


def flatten_count(span: float, radius: float, tolerance: float) -> int:
    """Chords for an arc of `span` radians and `radius` within `tolerance` (sagitta r(1-cos(a/2)));
    refused when that is more points than any drawing needs (an absurd size or tolerance)."""
    if not radius > tolerance:
        return 1
    ratio = tolerance / radius
    step = 2 * np.arccos(1 - ratio) if ratio > 1e-8 else 2 * np.sqrt(2 * ratio)  # the same, for tiny ratios
    return checked_count(np.ceil(abs(span) / step) if step > 0 else np.inf)


def checked_count(n: float) -> int:
    """A number of chords, at least 1, refused beyond MAX_POINTS (nan counts as 1: a degenerate curve)."""
    if n != n:
        return 1
    if not n <= MAX_POINTS:
        raise LasergenError(f"curves would flatten into more than {MAX_POINTS:,} points at this tolerance "
                            f"(an absurd size or transform?); raise tolerance_um")
    return max(1, int(n))
