"""Point-list source: a CSV of dots, one per row, with optional per-point energy and dwell.

Header row required: `x_mm,y_mm` and optionally `z_um,energy_uJ,dwell_s` (any order). The
coordinates are relative to the job origin, like every other source (x right, y up, as the
machine sees them); an empty optional cell means "the layer's recipe". Every cell is checked
and a bad one is named by row and column; two rows on the same spot are refused, since a
second dwell there would change its colour. Depth: `z_um` is the dot's depth below the glass
surface (um in the glass, positive downwards, as every depth in lasergen); the points of each
depth become a layer of their own (`group_depth_um`), written deepest first by the planner. An
empty `z_um` cell takes the layer's depth (`--depth-um`, a spec's `depth_um`); two rows at one
spot are refused only at one depth (the same X, Y at two depths is two spots).
"""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np

from lasergen import LasergenError
from lasergen.shapes import Shapes, from_y_up
from lasergen.sources import Artwork, take
from lasergen.sources.vector_common import resolve, vector_artwork

REQUIRED = ("x_mm", "y_mm")
OPTIONAL = ("z_um", "energy_uJ", "dwell_s")
SAME_SPOT_MM = 1e-4  # 0.1 um: two dots closer than this are one spot written twice
MAX_ROWS = 10_000_000


def _number(text: str, where: str, column: str, required: bool) -> float:
    text = text.strip()
    if not text:
        if required:
            raise LasergenError(f"{where}: column {column!r} is empty")
        return math.nan
    try:
        value = float(text)
    except ValueError:
        raise LasergenError(f"{where}: column {column!r} is {text!r}, not a number") from None
    if not math.isfinite(value):
        raise LasergenError(f"{where}: column {column!r} is {text!r}, not a finite number")
    return value


def read_points(path: Path) -> dict[str, np.ndarray]:
    name = path.name
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.reader(f)
            header = next(reader, None)
            if header is None:
                raise LasergenError(f"points {name}: empty file (expected a header row x_mm,y_mm,...)")
            header = [h.strip() for h in header]
            unknown = [h for h in header if h not in REQUIRED + OPTIONAL]
            if unknown:
                raise LasergenError(f"points {name}: unknown column {unknown[0]!r} in the header; "
                                    f"known: {', '.join(REQUIRED + OPTIONAL)}")
            repeated = [h for i, h in enumerate(header) if h in header[:i]]
            if repeated:
                raise LasergenError(f"points {name}: column {repeated[0]!r} appears twice in the header")
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise LasergenError(f"points {name}: the header lacks column {missing[0]!r} "
                                    f"(found: {', '.join(header) or 'nothing'})")
            columns = {c: [] for c in header}
            for row_no, row in enumerate(reader, start=2):
                if not any(cell.strip() for cell in row):
                    continue
                where = f"points {name} row {row_no}"
                if len(row) != len(header):
                    raise LasergenError(f"{where}: {len(row)} cells, the header has {len(header)}")
                if row_no > MAX_ROWS:
                    raise LasergenError(f"points {name}: more than {MAX_ROWS} rows")
                for column, cell in zip(header, row):
                    columns[column].append(_number(cell, where, column, column in REQUIRED))
    except (UnicodeDecodeError, csv.Error) as exc:
        raise LasergenError(f"points {name}: not a readable CSV file ({exc})") from None
    out = {c: np.array(v, dtype=np.float64) for c, v in columns.items()}
    if not len(out["x_mm"]):
        raise LasergenError(f"points {name}: no drawable elements (a header but no rows)")
    return out


def _check(cols: dict[str, np.ndarray], name: str) -> None:
    rows = lambda bad: ", ".join(str(i + 2) for i in np.flatnonzero(bad)[:5])  # noqa: E731
    for column, what in (("energy_uJ", "> 0 uJ"), ("dwell_s", "> 0 s")):
        if column in cols and (bad := cols[column] <= 0).any():
            raise LasergenError(f"points {name} row {rows(bad)}: {column} must be {what}")
    if "z_um" in cols and (bad := cols["z_um"] < 0).any():
        raise LasergenError(f"points {name} row {rows(bad)}: z_um must be >= 0 um (a depth below the glass surface, "
                            f"positive downwards)")
    xy = np.column_stack([cols["x_mm"], cols["y_mm"]])
    key = np.round(xy / SAME_SPOT_MM).astype(np.int64)
    if "z_um" in cols:
        depth = np.where(np.isnan(cols["z_um"]), -1.0, cols["z_um"])
        key = np.column_stack([key, np.round(depth / (SAME_SPOT_MM * 1000)).astype(np.int64)])
    _, first, counts = np.unique(key, axis=0, return_index=True, return_counts=True)
    if (counts > 1).any():
        dup = first[counts > 1][0]
        twin = np.flatnonzero((key == key[dup]).all(axis=1))[1]
        raise LasergenError(f"points {name} rows {dup + 2} and {twin + 2}: the same spot "
                            f"({xy[dup, 0]:g}, {xy[dup, 1]:g}) mm would be written twice")


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"path": None, "pitch_um": None}, "points source")
    path = resolve(s["path"], base_dir, "points")
    cols = read_points(path)
    _check(cols, path.name)
    xy = np.column_stack([cols["x_mm"], cols["y_mm"]])
    box = (max(0.0, float(xy[:, 0].max())), max(0.0, float(xy[:, 1].max())))
    z = cols.get("z_um", np.full(len(xy), np.nan))
    depths = np.unique(z[~np.isnan(z)])
    groups, group_depth = {}, {}
    for depth in [None, *depths.tolist()]:
        rows = np.isnan(z) if depth is None else z == depth
        if not rows.any():
            continue
        pick = lambda c: None if c not in cols else cols[c][rows]  # noqa: E731
        group = "" if depth is None else f"z{depth:g}um"
        shapes = Shapes(box, points=xy[rows], point_energy_uJ=pick("energy_uJ"), point_dwell_s=pick("dwell_s"))
        groups[group] = from_y_up(shapes, box[1])
        if depth is not None:
            group_depth[group] = float(depth)
    meta = {"source": "points", "path": str(s["path"]), "points": int(len(xy))}
    if group_depth:
        meta["depths_um"] = sorted(group_depth.values(), reverse=True)
    art = vector_artwork(groups, box, f"points {path.name}", meta, None, s["pitch_um"])
    art.group_depth_um = group_depth or None
    return art
