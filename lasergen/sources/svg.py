"""SVG source: paths, basic shapes, transforms, units and viewBox.

Two readers hand the same `Drawn` (every subpath in document px, CSS px at 96 per inch, with
its element's paint, fill rule and layer): the lean one (`svg_tree`), which takes what drawing
programs write and flattens all curves of the document at once, and, for every file it does
not model (CSS, `<use>`, symbols, ...), svgelements, which resolves all of SVG and hands each
shape as a Path, cut here into chords one segment at a time. Both flatten within
`tolerance_um` (Bezier curves by Wang's bound n = ceil(sqrt(d(d-1)/8 * M / tol)), M the
largest second difference of the control points; arcs by the sagitta bound), then scale to
millimetres. Filled elements become regions under their fill rule (holes included), stroked
ones centre-line polylines (the beam draws the line, so stroke-width is ignored).
Physical size: the document's width/height (or its viewBox, or the drawing's own bounds when
it has neither); `width_mm` scales the document to that width.
Groups (for per-group recipes): `group_by = "layer"` (Inkscape layer label, else the id of
the top-level group), `"colour"` (the stroke or fill colour, `#rrggbb`) or `"none"`.
Text is not converted (fonts are not the file's geometry): it is refused with a hint, as are
embedded raster images. SVG coordinates already grow downwards, as image rows do.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import svgelements as se

from lasergen import LasergenError
from lasergen.shapes import Shapes, union_of
from lasergen.sources import Artwork, take
from lasergen.sources.svg_path import flatten
from lasergen.sources.svg_tree import LABEL, Drawn, NotLean, read_lean
from lasergen.sources.vector_common import (
    DEFAULT_TOLERANCE_UM,
    FILL_RULES,
    MAX_POINTS,
    checked_count,
    fill_regions,
    flatten_count,
    resolve,
    vector_artwork,
)

# svgelements turns mm into px with 96 x 0.0393701 (not 96 / 25.4); inverting its own factor keeps
# millimetre documents exact (a px or inch document is then off by 5e-7, far below any chord)
MM_PER_PX = 1.0 / (se.DEFAULT_PPI * 0.0393701)
MAX_COORD_MM = 1e6  # a kilometre: past it a drawing is a mistake, and geometry in floats degrades
GROUP_BY = ("layer", "colour", "none")
FILLS = ("hatch", "none")
WANG = {se.QuadraticBezier: 0.25, se.CubicBezier: 0.75}  # d(d-1)/8


def _segment_points(seg, tol_px: float) -> np.ndarray:
    """Points after the segment's start, up to and including its end (user units)."""
    if isinstance(seg, (se.Line, se.Close)):
        return np.array([[seg.end.x, seg.end.y]])
    if type(seg) in WANG:
        handles = (seg.control1, seg.control2) if isinstance(seg, se.CubicBezier) else (seg.control,)
        ctrl = np.array([[p.x, p.y] for p in (seg.start, *handles, seg.end)])
        second = np.abs(np.diff(ctrl, 2, axis=0))
        m = float(np.hypot(second[:, 0], second[:, 1]).max()) if len(second) else 0.0
        with np.errstate(over="ignore", invalid="ignore"):
            n = checked_count(np.ceil(np.sqrt(WANG[type(seg)] * m / tol_px)))
    elif isinstance(seg, se.Arc):  # from its conjugate diameters (exact under any affine map)
        return _arc_points(seg, tol_px)
    else:
        raise LasergenError(f"svg: unsupported path segment {type(seg).__name__}")
    pts = seg.npoint(np.linspace(0.0, 1.0, n + 1)[1:])
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def _arc_points(seg: se.Arc, tol_px: float) -> np.ndarray:
    """An arc as P(t) = C + U cos t + V sin t, U and V the images of its radii (svgelements keeps
    them as prx, pry through every transform; its own point() and start angle are not right
    under a skew), t from the start to the end point in that frame, turning as `sweep` does
    (whose sign svgelements flips with a reflection, where the frame's turn flips too)."""
    c = np.array([seg.center.x, seg.center.y], dtype=float)
    u, v = np.array([seg.prx.x, seg.prx.y]) - c, np.array([seg.pry.x, seg.pry.y]) - c
    frame = np.column_stack([u, v])
    if abs(np.linalg.det(frame)) < 1e-300:
        return np.array([[seg.end.x, seg.end.y]])
    (cs0, sn0), (cs1, sn1) = np.linalg.solve(frame, np.array([[seg.start.x, seg.start.y], [seg.end.x, seg.end.y]]).T - c[:, None]).T
    t0 = np.arctan2(sn0, cs0)
    span = (np.arctan2(sn1, cs1) - t0) % (2 * np.pi)
    if seg.sweep * np.linalg.det(frame) < 0 and span > 0:  # svgelements turns its sweep with a reflection
        span -= 2 * np.pi
    radius = max(np.hypot(*u), np.hypot(*v))
    n = flatten_count(span, radius, tol_px)
    t = t0 + span * np.linspace(0.0, 1.0, n + 1)[1:]
    pts = c + np.outer(np.cos(t), u) + np.outer(np.sin(t), v)
    pts[-1] = (seg.end.x, seg.end.y)
    return pts


def subpaths(path: se.Path, tol_px: float) -> list[tuple[np.ndarray, bool]]:
    """Each subpath as (points in user units, closed?). A drawing command right after a close
    starts a new subpath at the closed one's start (SVG 1.1 §8.3.3)."""
    out, current, closed = [], [], False
    for seg in path:
        if seg.end is None or (seg.start is None and not isinstance(seg, se.Move)):
            continue  # a command with no point to draw from or to (e.g. a path that opens with Z): draws nothing
        if isinstance(seg, se.Move) or (closed and not isinstance(seg, se.Close)):
            if len(current) > 1:
                out.append((np.array(current), closed))
            start = seg.end if isinstance(seg, se.Move) else seg.start
            current, closed = [[start.x, start.y]], False
            if isinstance(seg, se.Move):
                continue
        if closed:  # a second close in a row draws nothing
            continue
        if not current:
            current = [[seg.start.x, seg.start.y]]
        current.extend(_segment_points(seg, tol_px).tolist())
        if isinstance(seg, se.Close):
            closed = True
    if len(current) > 1:
        out.append((np.array(current), closed))
    return out


def _colour(c) -> str | None:
    return None if c is None or c.value is None or c.alpha == 0 else c.hexrgb


def _describe(element) -> str:
    name = type(element).__name__.lower()
    ident = getattr(element, "id", None)
    return f"<{name}{f' id={ident!r}' if ident else ''}>"


def read_with_svgelements(path: Path, tol_of) -> Drawn:
    """The whole file through svgelements (CSS, `<use>`, symbols, ...), subpaths flattened one
    segment at a time; `tol_of(box_px, drawn_bbox_px)` gives the chord tolerance in px."""
    try:
        svg = se.SVG.parse(str(path))
    except Exception as exc:  # svgelements raises assorted XML and value errors
        raise LasergenError(f"cannot read SVG {path.name}: {exc}".splitlines()[0]) from None
    box_px = _document_box(svg)
    tol_px = tol_of(box_px, svg.bbox() if box_px is None else None)
    points, starts, closed, owner, total = [], [], [], [], 0
    drawn = Drawn(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64), box_px=box_px)
    stack = [(element, None) for element in reversed(list(svg))]  # iterative: any nesting depth
    while stack:
        element, top_id = stack.pop()
        values = getattr(element, "values", {})
        tag = values.get("tag", type(element).__name__.lower())
        drawn.seen[tag] = drawn.seen.get(tag, 0) + 1
        if values.get("display") == "none" or values.get("visibility") == "hidden":
            continue
        if isinstance(element, se.Group):
            top = top_id or getattr(element, "id", None) or ""
            stack.extend((child, top) for child in reversed(list(element)))
        elif isinstance(element, se.Text):
            text = (getattr(element, "text", "") or "").strip()
            raise LasergenError(f"svg {path.name}: {_describe(element)} {text!r} is text, not geometry; "
                                f"convert text to paths first (Inkscape: Path > Object to Path)")
        elif isinstance(element, se.Image):
            raise LasergenError(f"svg {path.name}: {_describe(element)} is an embedded raster image; "
                                f"write it with `lasergen bitmap`")
        elif isinstance(element, se.Shape):
            shape = se.Path(element)
            shape.reify()  # a rotated or skewed circle keeps its transform until it is applied
            fill, stroke = _colour(shape.fill), _colour(shape.stroke)
            if fill is None and stroke is None:
                continue
            for pts, is_closed in subpaths(shape, tol_px):
                starts.append(total)
                points.append(pts)
                total += len(pts)
                if total > MAX_POINTS:
                    checked_count(total)
                closed.append(is_closed)
                owner.append(len(drawn.fill))
            drawn.fill.append(fill)
            drawn.stroke.append(stroke)
            drawn.rule.append(str(values.get("fill-rule", "nonzero")).strip())
            drawn.layer.append(values.get(LABEL) or top_id or "")
    drawn.points = np.concatenate(points) if points else np.zeros((0, 2))
    drawn.starts, drawn.closed = np.array(starts, np.int64), np.array(closed, bool)
    drawn.element = np.array(owner, np.int64)
    return drawn


def read_fast(path: Path, tol_of) -> Drawn:
    """The lean reader (svg_tree): raises NotLean where svgelements must read the file."""
    drawn, seg, matrices = read_lean(path)
    box_px = drawn.box_px
    bbox = None
    if box_px is None and seg.rows:  # the drawing's own extent decides the scale: flatten coarsely first
        pts, _, _ = flatten(seg, matrices, 1.0)
        bbox = (*pts.min(axis=0), *pts.max(axis=0))
    drawn.points, drawn.starts, drawn.closed = flatten(seg, matrices, tol_of(box_px, bbox))
    drawn.element = np.asarray(seg.element, dtype=np.int64)
    return drawn


def read_drawn(path: Path, tol_of) -> Drawn:
    """The lean reader where it can, svgelements for everything else."""
    try:
        return read_fast(path, tol_of)
    except NotLean:
        try:
            return read_with_svgelements(path, tol_of)
        except ArithmeticError as exc:  # svgelements' geometry on degenerate input (an arc of
            # zero radius after a scale that underflows, an infinite size): no drawing to make
            raise LasergenError(f"svg {path.name}: its geometry cannot be computed ({exc}); "
                                f"look for zero-size arcs, infinite sizes or extreme transforms") from None


def groups_from(drawn: Drawn, fill: str, strokes: bool, group_by: str) -> dict[str, Shapes]:
    """Shapes per group (layer, colour or one), fills hatched once where elements overlap."""
    pts = drawn.points * MM_PER_PX
    if not (np.abs(pts) <= MAX_COORD_MM).all():  # nan and inf included
        raise LasergenError(f"svg: a coordinate is not finite or beyond {MAX_COORD_MM:g} mm after its transforms")
    pieces = np.split(pts, drawn.starts[1:]) if len(drawn.starts) else []
    polys: dict[str, list] = {}
    lines: dict[str, list] = {}
    rings, ring_owner = [], []
    for piece, closed, element in zip(pieces, drawn.closed.tolist(), drawn.element.tolist()):
        if len(piece) < 2 or (piece == piece[0]).all():
            continue  # a subpath that never leaves its start draws nothing
        if strokes and drawn.stroke[element] is not None:
            key = {"layer": drawn.layer[element], "colour": drawn.stroke[element], "none": ""}[group_by]
            line = piece if not closed or np.array_equal(piece[0], piece[-1]) else np.vstack([piece, piece[:1]])
            lines.setdefault(key, []).append(line)
        if fill == "hatch" and drawn.fill[element] is not None and len(piece) >= 3:
            rings.append(piece)
            ring_owner.append(element)
    rules = [r if r in FILL_RULES else "nonzero" for r in drawn.rule]
    for element, region in fill_regions(rings, np.array(ring_owner, np.int64), rules).items():
        key = {"layer": drawn.layer[element], "colour": drawn.fill[element], "none": ""}[group_by]
        polys.setdefault(key, []).extend(region)
    order = {}  # groups in the order the document first draws them (fill before stroke)
    for e in range(len(drawn.fill)):
        for paint, used in ((drawn.fill[e], fill == "hatch"), (drawn.stroke[e], strokes)):
            if paint is not None and used:
                order.setdefault({"layer": drawn.layer[e], "colour": paint, "none": ""}[group_by], None)
    return {key: Shapes((0, 0), fills=union_of(polys.get(key, [])), strokes=lines.get(key, []))
            for key in order if key in polys or key in lines}


def read_svg(path: Path, tolerance_mm: float, fill: str, strokes: bool, group_by: str,
             width_mm: float | None = None):
    """Groups of Shapes in mm at the file's size, the document box (mm) and the element counts.
    With `width_mm` curves are flattened finely enough that the tolerance holds after scaling."""

    def tol_of(box_px, drawn_px):
        span_px = box_px[0] if box_px is not None else (drawn_px[2] - drawn_px[0]) if drawn_px is not None else 0.0
        scale = width_mm / (span_px * MM_PER_PX) if width_mm and span_px > 0 else 1.0
        return tolerance_mm / MM_PER_PX / scale

    drawn = read_drawn(path, tol_of)
    groups = groups_from(drawn, fill, strokes, group_by)
    seen, box_px = drawn.seen, drawn.box_px
    if box_px is None:  # no width/height/viewBox: the drawing's own bounds, moved to the origin
        bounds = [b for b in (g.bounds_mm() for g in groups.values()) if b is not None]
        if not bounds:
            raise LasergenError(f"svg {path.name}: no drawable elements (found {_found(seen)})")
        x0, y0 = min(b[0] for b in bounds), min(b[1] for b in bounds)
        box = (max(b[2] for b in bounds) - x0, max(b[3] for b in bounds) - y0)
        groups = {k: g.translated(-x0, -y0, box) for k, g in groups.items()}
    else:
        box = (box_px[0] * MM_PER_PX, box_px[1] * MM_PER_PX)
    for g in groups.values():
        g.tolerance_mm = tolerance_mm
    return groups, box, seen


def _found(seen: dict) -> str:
    return ", ".join(f"{n} {k.lower()}" for k, n in sorted(seen.items())) or "nothing"
def _document_box(svg: se.SVG):
    """(width, height) in px of the document, or None when the file states neither size nor viewBox."""
    has_size = svg.values.get("width") is not None or svg.values.get("height") is not None
    if svg.viewbox is None and not has_size:
        return None
    return float(svg.width), float(svg.height)


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"path": None, "width_mm": None, "tolerance_um": DEFAULT_TOLERANCE_UM, "fill": "hatch",
                    "strokes": True, "group_by": "layer", "pitch_um": None}, "svg source")
    path = resolve(s["path"], base_dir, "svg")
    if s["fill"] not in FILLS:
        raise LasergenError(f"svg source: fill must be one of {FILLS}, got {s['fill']!r}")
    if s["group_by"] not in GROUP_BY:
        raise LasergenError(f"svg source: group_by must be one of {GROUP_BY}, got {s['group_by']!r}")
    if not (isinstance(s["tolerance_um"], (int, float)) and 0 < s["tolerance_um"] < 1e4):
        raise LasergenError(f"svg source: tolerance_um must be a positive number, got {s['tolerance_um']!r}")
    groups, box, seen = read_svg(path, s["tolerance_um"] / 1000.0, s["fill"], bool(s["strokes"]), s["group_by"],
                                 s["width_mm"] if isinstance(s["width_mm"], (int, float)) else None)
    if all(g.is_empty for g in groups.values()):
        raise LasergenError(f"svg {path.name}: no drawable elements (found {_found(seen)})")
    meta = {"source": "svg", "path": str(s["path"]), "tolerance_um": float(s["tolerance_um"])}
    return vector_artwork(groups, box, f"svg {path.name}", meta, s["width_mm"], s["pitch_um"])
