"""SVG source: paths, basic shapes, transforms, units and viewBox, read with svgelements.

svgelements resolves CSS units, the viewBox, nested transforms, `<use>` and inheritance and
hands every shape as a Path in user units (CSS px, 96 per inch); here each segment is cut into
chords within `tolerance_um` (Bezier curves by Wang's bound n = ceil(sqrt(d(d-1)/8 * M / tol)),
M the largest second difference of the control points; arcs by the sagitta bound), then
scaled to millimetres. Filled elements become regions under their fill rule (holes included),
stroked ones centre-line polylines (the beam draws the line, so stroke-width is ignored).
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
from lasergen.shapes import Shapes, merge
from lasergen.sources import Artwork, take
from lasergen.sources.vector_common import (
    DEFAULT_TOLERANCE_UM,
    fill_from_rings,
    flatten_count,
    resolve,
    vector_artwork,
)

# svgelements turns mm into px with 96 x 0.0393701 (not 96 / 25.4); inverting its own factor keeps
# millimetre documents exact (a px or inch document is then off by 5e-7, far below any chord)
MM_PER_PX = 1.0 / (se.DEFAULT_PPI * 0.0393701)
GROUP_BY = ("layer", "colour", "none")
FILLS = ("hatch", "none")
LABEL = "{http://www.inkscape.org/namespaces/inkscape}label"
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
        n = max(1, int(np.ceil(np.sqrt(WANG[type(seg)] * m / tol_px))))
    elif isinstance(seg, se.Arc):  # evaluated here from its centre form: npoint is slow per call
        n = flatten_count(seg.sweep, max(seg.rx, seg.ry), tol_px)
        theta = seg.get_start_t() + seg.sweep * np.linspace(0.0, 1.0, n + 1)[1:]
        c, s = np.cos(seg.get_rotation().as_radians), np.sin(seg.get_rotation().as_radians)
        ex, ey = seg.rx * np.cos(theta), seg.ry * np.sin(theta)
        pts = np.column_stack([seg.center.x + c * ex - s * ey, seg.center.y + s * ex + c * ey])
        pts[-1] = (seg.end.x, seg.end.y)
        return pts
    else:
        raise LasergenError(f"svg: unsupported path segment {type(seg).__name__}")
    pts = seg.npoint(np.linspace(0.0, 1.0, n + 1)[1:])
    return np.asarray(pts, dtype=np.float64).reshape(-1, 2)


def subpaths(path: se.Path, tol_px: float) -> list[tuple[np.ndarray, bool]]:
    """Each subpath as (points in user units, closed?)."""
    out, current, closed = [], [], False
    for seg in path:
        if isinstance(seg, se.Move):
            if len(current) > 1:
                out.append((np.array(current), closed))
            current, closed = [[seg.end.x, seg.end.y]], False
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


def read_svg(path: Path, tolerance_mm: float, fill: str, strokes: bool, group_by: str,
             width_mm: float | None = None):
    """Groups of Shapes in mm at the file's size, the document box (mm) and the element counts.
    With `width_mm` curves are flattened finely enough that the tolerance holds after scaling."""
    try:
        svg = se.SVG.parse(str(path))
    except Exception as exc:  # svgelements raises assorted XML and value errors
        raise LasergenError(f"cannot read SVG {path.name}: {exc}".splitlines()[0]) from None
    box_px = _document_box(svg)
    drawn = svg.bbox() if box_px is None else None
    span_px = box_px[0] if box_px is not None else (drawn[2] - drawn[0]) if drawn is not None else 0.0
    scale = width_mm / (span_px * MM_PER_PX) if width_mm and span_px > 0 else 1.0
    tol_px = tolerance_mm / MM_PER_PX / scale
    parts: dict[str, list[Shapes]] = {}
    seen: dict[str, int] = {}

    def visit(group, top_id):
        for element in group:
            kind = type(element).__name__
            seen[kind] = seen.get(kind, 0) + 1
            values = getattr(element, "values", {})
            if values.get("display") == "none" or values.get("visibility") == "hidden":
                continue
            if isinstance(element, se.Group):
                visit(element, top_id or getattr(element, "id", None) or "")
            elif isinstance(element, se.Text):
                text = (getattr(element, "text", "") or "").strip()
                raise LasergenError(f"svg {path.name}: {_describe(element)} {text!r} is text, not geometry; "
                                    f"convert text to paths first (Inkscape: Path > Object to Path)")
            elif isinstance(element, se.Image):
                raise LasergenError(f"svg {path.name}: {_describe(element)} is an embedded raster image; "
                                    f"write it with `lasergen bitmap`")
            elif isinstance(element, se.Shape):
                add_shape(se.Path(element), values, top_id)

    def add_shape(shape: se.Path, values: dict, top_id):
        fill_colour = _colour(shape.fill) if fill == "hatch" else None
        stroke_colour = _colour(shape.stroke) if strokes else None
        if fill_colour is None and stroke_colour is None:
            return
        pieces = [(pts * MM_PER_PX, closed) for pts, closed in subpaths(shape, tol_px)]
        rule = str(values.get("fill-rule", "nonzero")).strip()
        layer = values.get(LABEL) or top_id or ""
        if fill_colour is not None:
            region = fill_from_rings([p for p, _ in pieces], rule if rule in ("nonzero", "evenodd") else "nonzero")
            key = {"layer": layer, "colour": fill_colour, "none": ""}[group_by]
            parts.setdefault(key, []).append(Shapes((0, 0), fills=region))
        if stroke_colour is not None:
            key = {"layer": layer, "colour": stroke_colour, "none": ""}[group_by]
            lines = [p if not closed or np.array_equal(p[0], p[-1]) else np.vstack([p, p[:1]]) for p, closed in pieces]
            parts.setdefault(key, []).append(Shapes((0, 0), strokes=lines))

    visit(svg, None)
    groups = {key: merge(items, (0, 0)) for key, items in parts.items()}
    if box_px is None:  # no width/height/viewBox: the drawing's own bounds, moved to the origin
        bounds = [b for b in (g.bounds_mm() for g in groups.values()) if b is not None]
        if not bounds:
            found = ", ".join(f"{n} {k.lower()}" for k, n in sorted(seen.items())) or "nothing"
            raise LasergenError(f"svg {path.name}: no drawable elements (found {found})")
        x0, y0 = min(b[0] for b in bounds), min(b[1] for b in bounds)
        box = (max(b[2] for b in bounds) - x0, max(b[3] for b in bounds) - y0)
        groups = {k: g.translated(-x0, -y0, box) for k, g in groups.items()}
    else:
        box = (box_px[0] * MM_PER_PX, box_px[1] * MM_PER_PX)
    for g in groups.values():
        g.tolerance_mm = tolerance_mm
    return groups, box, seen


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
        found = ", ".join(f"{n} {k.lower()}" for k, n in sorted(seen.items())) or "nothing"
        raise LasergenError(f"svg {path.name}: no drawable elements (found {found})")
    meta = {"source": "svg", "path": str(s["path"]), "tolerance_um": float(s["tolerance_um"])}
    return vector_artwork(groups, box, f"svg {path.name}", meta, s["width_mm"], s["pitch_um"])
