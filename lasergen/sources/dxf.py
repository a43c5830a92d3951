"""DXF source (optional extra `lasergen[cad]`): model-space geometry read with ezdxf.

Entities: LINE, LWPOLYLINE, POLYLINE (2-D), ARC, CIRCLE, ELLIPSE, SPLINE become strokes
(ezdxf's `path.make_path`, flattened to `tolerance_um`); HATCH and SOLID become filled
regions (even-odd, as CAD fills nest); POINT becomes a dot; INSERT (block references) is
expanded with its transform. Any other entity (TEXT, MTEXT, DIMENSION, IMAGE, 3-D ...) is
refused, naming its type, handle and layer, so nothing in the drawing is silently dropped;
leave such a layer out with `layers`. `fill_closed = true` also fills closed contours.
Units from $INSUNITS (unitless drawings are taken as millimetres, recorded in the promises).
The drawing's extents are placed with their lower-left corner at the job origin; CAD y grows
upwards, so the geometry is read into image orientation (`shapes.from_y_up`).
Groups: one per DXF layer, for per-layer recipes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from lasergen import LasergenError
from lasergen.shapes import Shapes, from_y_up, merge
from lasergen.sources import Artwork, take
from lasergen.sources.vector_common import DEFAULT_TOLERANCE_UM, fill_from_rings, resolve, vector_artwork

# $INSUNITS code -> millimetres per drawing unit (0 = unitless: taken as mm)
INSUNITS_MM = {0: 1.0, 1: 25.4, 2: 304.8, 4: 1.0, 5: 10.0, 6: 1000.0, 8: 25.4e-6, 9: 0.0254, 10: 914.4,
               13: 0.001, 14: 100.0}
STROKES = {"LINE", "LWPOLYLINE", "POLYLINE", "ARC", "CIRCLE", "ELLIPSE", "SPLINE"}
FILLS = {"HATCH", "SOLID"}
MISSING_EXTRA = 'DXF support is an optional extra: pip install "lasergen[cad]"'


def _ezdxf():
    try:
        import ezdxf
        from ezdxf import path as ezpath
    except ImportError:
        raise LasergenError(MISSING_EXTRA) from None
    return ezdxf, ezpath


def _rings(paths, tol: float) -> list[tuple[np.ndarray, bool]]:
    out = []
    for p in paths:
        for sub in (p.sub_paths() if p.has_sub_paths else [p]):
            pts = np.array([(v.x, v.y) for v in sub.flattening(tol, segments=4)], dtype=np.float64)
            if len(pts) >= 2:
                out.append((pts, bool(sub.is_closed)))
    return out


def _entities(layout, depth: int = 0):
    """Model-space entities with block references expanded (their transforms applied)."""
    for e in layout:
        if e.dxftype() == "INSERT":
            if depth > 16:
                raise LasergenError(f"dxf: block references nested deeper than 16 (INSERT {e.dxf.handle})")
            yield from _entities(e.virtual_entities(), depth + 1)
        else:
            yield e


def read_dxf(path: Path, tol_mm: float, layers: list[str] | None, fill_closed: bool):
    ezdxf, ezpath = _ezdxf()
    try:
        doc = ezdxf.readfile(str(path))
    except (OSError, ezdxf.DXFError, UnicodeDecodeError) as exc:
        raise LasergenError(f"cannot read DXF {path.name}: {exc}".splitlines()[0]) from None
    code = int(doc.header.get("$INSUNITS", 0))
    if code not in INSUNITS_MM:
        raise LasergenError(f"dxf {path.name}: drawing units $INSUNITS={code} are not supported")
    mm = INSUNITS_MM[code]
    tol = tol_mm / mm
    parts: dict[str, list[Shapes]] = {}
    for e in _entities(doc.modelspace()):
        kind, layer = e.dxftype(), str(e.dxf.get("layer", "0"))
        if layers is not None and layer not in layers:
            continue
        where = f"dxf {path.name}: entity {kind} (handle {e.dxf.handle}, layer {layer!r})"
        if kind == "POINT":
            loc = e.dxf.location
            parts.setdefault(layer, []).append(Shapes((0, 0), points=[[loc.x * mm, loc.y * mm]]))
        elif kind in FILLS:
            paths = list(ezpath.from_hatch(e)) if kind == "HATCH" else [ezpath.make_path(e)]
            rings = [pts * mm for pts, _ in _rings(paths, tol)]
            parts.setdefault(layer, []).append(Shapes((0, 0), fills=fill_from_rings(rings, "evenodd")))
        elif kind in STROKES:
            if kind == "POLYLINE" and not e.is_2d_polyline:
                raise LasergenError(f"{where} is a 3-D polyline or mesh; only 2-D geometry is supported")
            for pts, closed in _rings([ezpath.make_path(e)], tol):
                pts = pts * mm
                if closed and not np.array_equal(pts[0], pts[-1]):
                    pts = np.vstack([pts, pts[:1]])
                shape = Shapes((0, 0), fills=fill_from_rings([pts])) if closed and fill_closed else \
                    Shapes((0, 0), strokes=[pts])
                parts.setdefault(layer, []).append(shape)
        else:
            raise LasergenError(f"{where} is not supported; explode it into lines/polylines or leave "
                                f"its layer out (layers = [...])")
    return {name: merge(items, (0, 0)) for name, items in parts.items()}, code


def place_extents(groups: dict[str, Shapes]) -> tuple[dict[str, Shapes], tuple[float, float]]:
    """Lower-left corner of the drawing's extents to (0, 0), then into image orientation."""
    bounds = [b for b in (g.bounds_mm() for g in groups.values()) if b is not None]
    if not bounds:
        return groups, (0.0, 0.0)
    x0, y0 = min(b[0] for b in bounds), min(b[1] for b in bounds)
    box = (max(b[2] for b in bounds) - x0, max(b[3] for b in bounds) - y0)
    return {k: from_y_up(g.translated(-x0, -y0, box), box[1]) for k, g in groups.items()}, box


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"path": None, "width_mm": None, "tolerance_um": DEFAULT_TOLERANCE_UM, "layers": None,
                    "fill_closed": False, "pitch_um": None}, "dxf source")
    path = resolve(s["path"], base_dir, "dxf")
    if not (isinstance(s["tolerance_um"], (int, float)) and s["tolerance_um"] > 0):
        raise LasergenError(f"dxf source: tolerance_um must be a positive number, got {s['tolerance_um']!r}")
    layers = None if s["layers"] is None else [str(v) for v in s["layers"]]
    tol_mm = s["tolerance_um"] / 1000.0
    groups, code = read_dxf(path, tol_mm, layers, bool(s["fill_closed"]))
    groups, box = place_extents(groups)
    if isinstance(s["width_mm"], (int, float)) and box[0] > 0 and s["width_mm"] > box[0]:
        # scaled up: flatten again, finer, so the chord tolerance holds at the final size
        groups, code = read_dxf(path, tol_mm * box[0] / s["width_mm"], layers, bool(s["fill_closed"]))
        groups, box = place_extents(groups)
    for g in groups.values():
        g.tolerance_mm = s["tolerance_um"] / 1000.0
    meta = {"source": "dxf", "path": str(s["path"]), "tolerance_um": float(s["tolerance_um"]),
            "insunits": code, "units_assumed_mm": code == 0}
    return vector_artwork(groups, box, f"dxf {path.name}", meta, s["width_mm"], s["pitch_um"])
