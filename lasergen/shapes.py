"""Vector geometry of one exposure layer: filled regions, stroked polylines and points.

A `Shapes` is what a vector source (SVG, DXF, GDSII, point lists) hands the planner, the
vector counterpart of a layer's mask. Coordinates are millimetres in image orientation, like
a mask: x grows to the right and y grows *downwards* from the top-left corner of the layer's
box, so row 0 of a mask and y = 0 of a Shapes are both the top edge of the mark. Sources whose
own y axis grows upwards (CAD drawings, GDSII, point lists) read their file into this
convention with `from_y_up`, as an image reader reads a bottom-up file; `Pattern.to_machine`
(lasergen/pattern.py) is then the one place where it becomes machine Y.

    fills    a shapely (Multi)Polygon: the union of every filled element (hatched)
    strokes  polylines, each an (n, 2) float array; a closed one repeats its first point
    points   an (n, 2) array of dots, with optional per-point energy (uJ) and dwell (s);
             NaN means "the layer's recipe"
    box_mm   (width, height) of the layer's document box
Curves are already flattened: `tolerance_mm` records the chord tolerance the source used.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np
import shapely
from shapely import affinity
from shapely.geometry import MultiPolygon, Polygon

EMPTY = MultiPolygon()


def as_multipolygon(geometry) -> MultiPolygon:
    """Any areal shapely geometry (or collection) as a valid MultiPolygon; lines and points drop out."""
    if geometry is None or geometry.is_empty:
        return EMPTY
    if isinstance(geometry, MultiPolygon) and geometry.is_valid:
        return geometry  # valid: every part has an area
    if not geometry.is_valid:
        geometry = shapely.make_valid(geometry)
    polys = [g for g in shapely.get_parts(geometry) if isinstance(g, (Polygon, MultiPolygon)) and g.area > 0]
    parts = [p for g in polys for p in shapely.get_parts(g)]
    return MultiPolygon(parts) if parts else EMPTY


@dataclass
class Shapes:
    box_mm: tuple[float, float]
    fills: MultiPolygon = EMPTY
    strokes: list[np.ndarray] = field(default_factory=list)
    points: np.ndarray = field(default_factory=lambda: np.zeros((0, 2)))
    point_energy_uJ: np.ndarray | None = None
    point_dwell_s: np.ndarray | None = None
    tolerance_mm: float = 0.0

    def __post_init__(self):
        self.fills = as_multipolygon(self.fills)
        self.points = np.asarray(self.points, dtype=np.float64).reshape(-1, 2)

    @property
    def is_empty(self) -> bool:
        return self.fills.is_empty and not self.strokes and not len(self.points)

    @property
    def stroke_length_mm(self) -> float:
        return float(sum(np.hypot(*np.diff(s, axis=0).T).sum() for s in self.strokes))

    def bounds_mm(self) -> tuple[float, float, float, float] | None:
        """Bounds of the geometry itself (not of the box), or None when empty."""
        boxes = [self.fills.bounds] if not self.fills.is_empty else []
        arrays = self.strokes + ([self.points] if len(self.points) else [])
        if arrays:
            xy = np.concatenate(arrays)
            boxes.append((*xy.min(axis=0), *xy.max(axis=0)))
        if not boxes:
            return None
        b = np.array(boxes)
        return float(b[:, 0].min()), float(b[:, 1].min()), float(b[:, 2].max()), float(b[:, 3].max())

    def affine(self, a: float, b: float, d: float, e: float, xoff: float, yoff: float,
               box_mm: tuple[float, float] | None = None) -> "Shapes":
        """x' = a x + b y + xoff, y' = d x + e y + yoff applied to every coordinate."""
        m = np.array([[a, b], [d, e]])
        off = np.array([xoff, yoff])
        move = lambda xy: xy @ m.T + off  # noqa: E731
        fills = affinity.affine_transform(self.fills, [a, b, d, e, xoff, yoff]) if not self.fills.is_empty else EMPTY
        scale = float(np.sqrt(abs(np.linalg.det(m))))
        return replace(self, box_mm=box_mm or self.box_mm, fills=fills, strokes=[move(s) for s in self.strokes],
                       points=move(self.points), tolerance_mm=self.tolerance_mm * scale)

    def scaled(self, factor: float) -> "Shapes":
        w, h = self.box_mm
        return self.affine(factor, 0, 0, factor, 0, 0, (w * factor, h * factor))

    def translated(self, dx_mm: float, dy_mm: float, box_mm: tuple[float, float]) -> "Shapes":
        return self.affine(1, 0, 0, 1, dx_mm, dy_mm, box_mm)

    def summary(self) -> dict:
        return {"fill_area_mm2": round(float(self.fills.area), 6), "stroke_length_mm": round(self.stroke_length_mm, 6),
                "strokes": len(self.strokes), "points": int(len(self.points))}


def from_y_up(shapes: Shapes, top_mm: float) -> Shapes:
    """Read geometry drawn with y growing upwards into image orientation: y' = top - y."""
    return shapes.affine(1, 0, 0, -1, 0, top_mm)


def union_of(polygons: list) -> MultiPolygon:
    """Union of polygons, in a way that scales to 10^4 of them: only those that touch another
    (found with an STR-tree) go through the overlay; disjoint ones are kept as they are."""
    if not polygons:
        return EMPTY
    polys = np.array(polygons, dtype=object)
    a, b = shapely.STRtree(polys).query(polys, predicate="intersects")
    touching = np.zeros(len(polys), dtype=bool)
    touching[a[a != b]] = True
    alone = list(polys[~touching])
    joined = list(shapely.get_parts(shapely.union_all(polys[touching]))) if touching.any() else []
    return as_multipolygon(MultiPolygon(alone + joined))


def merge(parts: list[Shapes], box_mm: tuple[float, float]) -> Shapes:
    """One Shapes holding all parts (fills unioned, so an overlap is hatched once)."""
    fills = union_of([g for p in parts for g in shapely.get_parts(p.fills)])
    strokes = [s for p in parts for s in p.strokes]
    points = np.concatenate([p.points for p in parts]) if parts else np.zeros((0, 2))

    def column(name):
        if all(getattr(p, name) is None for p in parts):
            return None
        return np.concatenate([getattr(p, name) if getattr(p, name) is not None else np.full(len(p.points), np.nan)
                               for p in parts])

    tol = max((p.tolerance_mm for p in parts), default=0.0)
    return Shapes(box_mm, fills, strokes, points, column("point_energy_uJ"), column("point_dwell_s"), tol)
