"""The lean SVG reader: the documents drawing programs write, walked with ElementTree.

It takes what Inkscape and most exporters write (groups, paths, rect, circle, ellipse, line,
polyline, polygon, presentation attributes and `style`, transforms, `inkscape:label`) and
reads it the way svgelements does (attributes inherited, id/class/viewBox not; display:none
and visibility:hidden skip a subtree; `currentColor`; fill black and stroke none by default;
a transform composed onto its parent's), but parses path data itself and flattens every curve
of the document at once (`svg_path`): 10,000 paths take a fraction of a second instead of
seconds. Where the document is its own size and viewport is asked of svgelements, on the root
element alone (where the unit square lands), so units, viewBox and preserveAspectRatio follow
it exactly. Anything this reader does not model raises `NotLean` and the whole file goes to
svgelements: CSS style sheets, `<use>`, symbols, clip paths, masks, nested `<svg>`, links,
switches, gradients or other paint servers, lengths with units or percentages on shapes,
`inherit`, and path data outside the grammar.
"""

from __future__ import annotations

import io
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from functools import lru_cache
from xml.sax.saxutils import quoteattr

import numpy as np
import svgelements as se

from lasergen import LasergenError
from lasergen.sources.svg_path import PathSyntax, Segments, parse_path

SVG_NS = "{http://www.w3.org/2000/svg}"
SHAPES = ("path", "rect", "circle", "ellipse", "line", "polyline", "polygon")
SKIPPED = ("defs", "title", "desc", "metadata")  # never drawn (a `<use>` of defs is not lean)
NOT_INHERITED = ("id", "class", "viewBox", "preserveAspectRatio", "clip-path")
LABEL = "{http://www.inkscape.org/namespaces/inkscape}label"
ROOT_GEOMETRY = ("width", "height", "viewBox", "preserveAspectRatio", "transform", "x", "y")


class NotLean(Exception):
    """The document uses something only svgelements reads."""


@dataclass
class Drawn:
    """What an SVG reader hands on: every subpath in document px (after all transforms) and,
    per element, its paint (colour `#rrggbb` or None), fill rule and layer name."""
    points: np.ndarray
    starts: np.ndarray  # first point of each subpath
    closed: np.ndarray
    element: np.ndarray  # element of each subpath
    fill: list = field(default_factory=list)
    stroke: list = field(default_factory=list)
    rule: list = field(default_factory=list)
    layer: list = field(default_factory=list)
    seen: dict = field(default_factory=dict)  # tag -> how many the document has
    box_px: tuple | None = None


@lru_cache(maxsize=4096)
def paint(value: str, opacity: str | None) -> str | None:
    """A fill or stroke value as `#rrggbb`, None when it paints nothing (none, alpha 0)."""
    if value.startswith("url(") or value.strip() == "inherit":
        raise NotLean("paint server")
    colour = se.Color(value)
    if colour.value is not None and opacity is not None:
        try:
            colour.opacity = float(opacity)
        except ValueError:
            pass
    return None if colour.value is None or colour.alpha == 0 else colour.hexrgb


@lru_cache(maxsize=4096)
def transform(text: str) -> np.ndarray:
    """An SVG transform list as a 3x3 matrix (svgelements' parser: parts it cannot read are
    skipped, as svgelements itself skips them); a non-finite one is refused."""
    try:
        m = se.Matrix(text)
        out = np.array([[m.a, m.c, m.e], [m.b, m.d, m.f], [0.0, 0.0, 1.0]], dtype=np.float64)
    except (ValueError, IndexError, TypeError, OverflowError, ZeroDivisionError):
        out = np.full((3, 3), np.nan)
    if not np.isfinite(out).all():
        raise LasergenError(f"svg: transform {text[:40]!r} is not a finite transform")
    return out


def _number(text: str | None, default: float | None = None) -> float:
    if text is None:
        if default is None:
            raise NotLean("missing shape attribute")
        return default
    text = text.strip()
    text = text[:-2] if text.endswith("px") else text
    try:
        value = float(text)
    except ValueError:
        raise NotLean(f"length {text!r}") from None
    if not np.isfinite(value):
        raise NotLean("length not finite")
    return value


def shape_data(tag: str, a: dict) -> str | None:
    """A basic shape as path data (None when it draws nothing: a zero size or radius)."""
    if tag == "path":
        return a.get("d", "")
    if tag == "rect":
        x, y, w, h = (_number(a.get(k), 0.0) for k in ("x", "y", "width", "height"))
        if w <= 0 or h <= 0:
            return None
        rx, ry = a.get("rx"), a.get("ry")
        rx, ry = _number(rx if rx is not None else ry, 0.0), _number(ry if ry is not None else rx, 0.0)
        rx, ry = min(abs(rx), w / 2), min(abs(ry), h / 2)
        if rx == 0 or ry == 0:
            return f"M{x},{y}H{x + w}V{y + h}H{x}Z"
        return (f"M{x + rx},{y}H{x + w - rx}A{rx},{ry} 0 0 1 {x + w},{y + ry}V{y + h - ry}"
                f"A{rx},{ry} 0 0 1 {x + w - rx},{y + h}H{x + rx}A{rx},{ry} 0 0 1 {x},{y + h - ry}"
                f"V{y + ry}A{rx},{ry} 0 0 1 {x + rx},{y}Z")
    if tag in ("circle", "ellipse"):
        cx, cy = _number(a.get("cx"), 0.0), _number(a.get("cy"), 0.0)
        if tag == "circle":
            rx = ry = _number(a.get("r"), 0.0)
        else:
            rx, ry = _number(a.get("rx"), 0.0), _number(a.get("ry"), 0.0)
        if rx <= 0 or ry <= 0:
            return None
        return (f"M{cx + rx},{cy}A{rx},{ry} 0 0 1 {cx},{cy + ry}A{rx},{ry} 0 0 1 {cx - rx},{cy}"
                f"A{rx},{ry} 0 0 1 {cx},{cy - ry}A{rx},{ry} 0 0 1 {cx + rx},{cy}Z")
    if tag == "line":
        return "M{},{}L{},{}".format(*(_number(a.get(k), 0.0) for k in ("x1", "y1", "x2", "y2")))
    values = a.get("points", "").replace(",", " ").split()
    try:
        xy = [float(v) for v in values[:len(values) // 2 * 2]]
    except ValueError:
        raise NotLean("points") from None
    if len(xy) < 4:
        return None
    body = "M" + " ".join(map(repr, xy))
    return body + ("Z" if tag == "polygon" else "")


def _tag(elem) -> str:
    tag = elem.tag if isinstance(elem.tag, str) else ""
    return tag[len(SVG_NS):] if tag.startswith(SVG_NS) else tag


def _root_geometry(root) -> tuple[np.ndarray, tuple | None]:
    """(matrix from root user units to document px, document (width, height) px or None),
    as svgelements computes them: where it maps a probe triangle in an empty copy of the root."""
    attrs = " ".join(f"{k}={quoteattr(v)}" for k, v in root.attrib.items() if k in ROOT_GEOMETRY)
    probe = se.SVG.parse(io.StringIO(f'<svg xmlns="http://www.w3.org/2000/svg" {attrs}>'
                                     f'<path d="M0,0 L1,0 L0,1" stroke="black"/></svg>'))
    paths = [e for e in probe.elements() if isinstance(e, se.Path)]
    if not paths:
        raise NotLean("root viewport draws nothing")
    segments = list(paths[0])  # Move, Line, Line: the images of (0,0), (1,0), (0,1)
    o, ex, ey = (np.array([seg.end.x, seg.end.y], dtype=float) for seg in segments[:3])
    matrix = np.vstack([np.column_stack([ex - o, ey - o, o]), [0.0, 0.0, 1.0]])
    has_size = root.get("width") is not None or root.get("height") is not None
    box = (float(probe.width), float(probe.height)) if root.get("viewBox") is not None or has_size else None
    return matrix, box


def read_lean(path) -> tuple[Drawn, Segments, np.ndarray]:
    """(Drawn without its points yet, the document's segments, per-element 2x3 matrices), or
    NotLean. Text and embedded images are refused here as svgelements' reader refuses them."""
    try:
        root = ET.parse(str(path)).getroot()
    except ET.ParseError as exc:
        raise LasergenError(f"cannot read SVG {path.name}: {exc}".splitlines()[0]) from None
    if _tag(root) != "svg":
        raise NotLean("root is not <svg>")
    if any(_tag(e) in ("style", "use") for e in root.iter()):
        raise NotLean("style sheet or use")
    root_matrix, box_px = _root_geometry(root)
    drawn = Drawn(np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, bool), np.zeros(0, np.int64), box_px=box_px)
    seg, matrices = Segments(), []
    root_values = _values(root, {"color": "black", "fill": "black", "stroke": "none"}, own_transform=False)
    stack = [(child, root_values, root_matrix, None) for child in reversed(root)]  # iterative: any depth
    while stack:
        elem, parent, matrix, top = stack.pop()
        tag = _tag(elem)
        if tag in SKIPPED or not tag:
            continue
        values = _values(elem, parent)
        if values.get("display", "").lower() == "none" or values.get("visibility") == "hidden":
            continue
        drawn.seen[tag] = drawn.seen.get(tag, 0) + 1
        if "transform" in elem.attrib:
            matrix = matrix @ transform(elem.attrib["transform"])
        if tag == "g" or tag.startswith("{"):  # groups, and foreign elements (as svgelements: see-through)
            top = (top or elem.get("id") or "") if tag == "g" else top
            stack.extend((child, values, matrix, top) for child in reversed(elem))
        elif tag in SHAPES:
            _add_shape(tag, elem, values, matrix, top, drawn, seg, matrices)
        elif tag == "text":
            text = "".join(elem.itertext()).strip()
            raise LasergenError(f"svg {path.name}: {_describe(elem, tag)} {text!r} is text, not geometry; "
                                f"convert text to paths first (Inkscape: Path > Object to Path)")
        elif tag == "image":
            raise LasergenError(f"svg {path.name}: {_describe(elem, tag)} is an embedded raster image; "
                                f"write it with `lasergen bitmap`")
        else:
            raise NotLean(f"<{tag}>")
    return drawn, seg, np.array(matrices).reshape(-1, 2, 3)


def _describe(elem, tag: str) -> str:
    ident = elem.get("id")
    return f"<{tag}{f' id={ident!r}' if ident else ''}>"


def _add_shape(tag, elem, values, matrix, top, drawn: Drawn, seg: Segments, matrices: list):
    fill = paint(values.get("fill", "black"), values.get("fill-opacity"))
    stroke = paint(values.get("stroke", "none"), values.get("stroke-opacity"))
    if fill is None and stroke is None:
        return
    data = shape_data(tag, elem.attrib)
    if not data:
        return
    index = len(matrices)
    try:
        parse_path(data, seg, index)
    except PathSyntax as exc:
        raise NotLean(str(exc)) from None
    matrices.append(matrix[:2])
    drawn.fill.append(fill)
    drawn.stroke.append(stroke)
    drawn.rule.append(str(values.get("fill-rule", "nonzero")).strip())
    drawn.layer.append(values.get(LABEL) or top or "")


def _values(elem, parent: dict, own_transform: bool = True) -> dict:
    values = {k: v for k, v in parent.items() if k not in NOT_INHERITED}
    attrs = dict(elem.attrib)
    style = attrs.get("style")
    if style:
        for item in style.split(";"):
            pair = item.split(":")
            if len(pair) == 2:
                attrs[pair[0].strip()] = pair[1].strip()
    for key in ("fill", "stroke"):
        if attrs.get(key) == "currentColor":
            attrs[key] = attrs.get("color", values.get("color", "black"))
    if not own_transform:
        attrs.pop("transform", None)
    values.update(attrs)
    return values
