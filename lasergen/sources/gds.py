"""GDSII source (optional extra `lasergen[cad]`): layout polygons read with gdstk.

A layout's polygons (paths included, as gdstk outlines them) of one cell, references and
repetitions flattened, are filled regions; each layer/datatype pair ("1/0") is a group, so
recipes can be chosen per layer, and `layer` keeps only the given pair(s). Overlapping
polygons of one layer are unioned, so an overlap is hatched once. Labels are annotations and
are not written. Size from the library's user unit (`unit`, metres per unit). The cell is the
given one, else the only top-level cell. The layout's extents are placed with their
lower-left corner at the job origin; GDSII y grows upwards (`shapes.from_y_up`).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import Polygon

from lasergen import LasergenError
from lasergen.shapes import Shapes
from lasergen.sources import Artwork, take
from lasergen.sources.dxf import place_extents
from lasergen.sources.vector_common import resolve, vector_artwork

MISSING_EXTRA = 'GDSII support is an optional extra: pip install "lasergen[cad]"'


def parse_layer(text) -> tuple[int, int]:
    try:
        layer, _, datatype = str(text).partition("/")
        return int(layer), int(datatype or 0)
    except ValueError:
        raise LasergenError(f"gds: layer must be 'LAYER/DATATYPE' such as '1/0', got {text!r}") from None


def read_gds(path: Path, cell_name: str | None, wanted: set[tuple[int, int]] | None):
    try:
        import gdstk
    except ImportError:
        raise LasergenError(MISSING_EXTRA) from None
    try:
        lib = gdstk.read_gds(str(path))
    except (OSError, RuntimeError, ValueError) as exc:
        raise LasergenError(f"cannot read GDSII {path.name}: {exc}".splitlines()[0]) from None
    if cell_name is not None:
        cells = [c for c in lib.cells if c.name == cell_name]
        if not cells:
            raise LasergenError(f"gds {path.name}: no cell {cell_name!r}; cells: {', '.join(c.name for c in lib.cells)}")
    else:
        cells = lib.top_level()
        if len(cells) != 1:
            names = ", ".join(c.name for c in cells) or "none"
            raise LasergenError(f"gds {path.name}: {len(cells)} top-level cells ({names}); choose one with cell")
    mm = lib.unit * 1000.0
    by_layer: dict[tuple[int, int], list[Polygon]] = {}
    for poly in cells[0].get_polygons(apply_repetitions=True, include_paths=True):
        spec = (int(poly.layer), int(poly.datatype))
        if wanted is None or spec in wanted:
            by_layer.setdefault(spec, []).append(Polygon(np.asarray(poly.points) * mm))
    if wanted:
        absent = sorted(wanted - set(by_layer))
        if absent:
            found = ", ".join(f"{a}/{b}" for a, b in sorted(by_layer)) or "none"
            raise LasergenError(f"gds {path.name}: no polygons on layer {absent[0][0]}/{absent[0][1]} "
                                f"(layers with polygons: {found})")
    groups = {f"{a}/{b}": Shapes((0, 0), fills=shapely.union_all(shapely.make_valid(np.array(polys, dtype=object))))
              for (a, b), polys in sorted(by_layer.items())}
    return groups, cells[0].name, lib.unit


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"path": None, "width_mm": None, "layer": None, "cell": None, "pitch_um": None}, "gds source")
    path = resolve(s["path"], base_dir, "gds")
    layer = s["layer"]
    wanted = None if layer is None else {parse_layer(v) for v in (layer if isinstance(layer, list) else [layer])}
    groups, cell, unit = read_gds(path, s["cell"], wanted)
    groups, box = place_extents(groups)
    meta = {"source": "gds", "path": str(s["path"]), "cell": cell, "unit_m": unit}
    return vector_artwork(groups, box, f"gds {path.name}", meta, s["width_mm"], s["pitch_um"])
