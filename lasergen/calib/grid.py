"""Calibration grids: a sweep of one or two recipe parameters, one cell per recipe, with
fiducials and engraved labels so a microscope or phone photo can be read cell by cell.

Layout (as seen from the laser side, image orientation: u to the right, v downwards, in um from
the canvas's top-left corner; `Layout` is the one place that computes it):

    [TL ring ] [ 1 ][ 2 ][ 3 ] ...      [TR sq ]        rows: first swept parameter (A, B, ...)
    [ A ]      cell cell cell                           cols: second one (1, 2, ...)
    [ B ]      cell cell cell                           cells: a dot at the centre (dots) or a
     ...                                                       line of line_um across (lines)
    [BL small]                          [BR sq ]

Bands of `band_um` = 2 cells run round the cells; the four fiducials sit in the band's corners:
a ring (hollow square, 1.5 cells) at the top left, filled squares of 1.5 cells at the top and
bottom right, a smaller one (1 cell) at the bottom left. The hole names the origin corner and
the small square tells a photo from its mirror image (a photo through the back of the glass).
Row letters and column numbers are engraved in the bands, the cell's name is row letter +
column number ("B7"). Fiducials and labels use one safe recipe (`MARK_RECIPE`, the paper's
optimum, a raster at 20 um line pitch) and keep clear of the cells, so nothing is written twice.

Parameters: energy (uJ), rep_rate (kHz), passes, dwell (s, dots) and speed (mm/s, lines). Rows
take the first swept one in that order, columns the second. The amplifier's repetition rate is
not set by the controller, so a rep-rate sweep becomes one job per rate (`GridPart`), the
fiducials and labels in the first only.

Every cell's recipe, name, design position (um) and machine position (mm) travel in the
pattern's meta (the job manifest's `promises`), which `measure` reads: see `describe`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from lasergen import LasergenError
from lasergen.pattern import Layer, Pattern
from lasergen.recipe import Recipe
from lasergen.sources.text import render_text

FORMAT = "lasergen-calibration-grid"
VERSION = 1
# sweepable parameter -> (recipe field, unit); the order decides which one runs down the rows
PARAMETERS = {
    "energy": ("energy_uJ", "uJ"),
    "rep_rate": ("rep_rate_kHz", "kHz"),
    "passes": ("passes", ""),
    "dwell": ("dwell_s", "s"),
    "speed": ("speed_mm_s", "mm/s"),
}
FIELDS = {f: name for name, (f, _) in PARAMETERS.items()}
MODES = {"dots": ("dots", "dwell_s"), "lines": ("raster", "speed_mm_s")}  # grid mode -> recipe mode, its exposure
MARK_RECIPE = Recipe(energy_uJ=200.0, rep_rate_kHz=10.0, mode="raster", speed_mm_s=0.4, line_pitch_um=20.0)
FIDUCIAL_SIDE_CELLS = {"TL": 1.5, "TR": 1.5, "BR": 1.5, "BL": 1.0}
RING_HOLE_CELLS = 0.75  # the TL ring's hole
BAND_CELLS = 2.0
LABEL_HEIGHT_CELLS = 0.6


@dataclass(frozen=True)
class GridSpec:
    mode: str = "dots"
    values: dict = field(default_factory=dict)  # recipe field -> values (one value: fixed)
    cell_um: float = 250.0
    line_um: float | None = None  # lines: default 0.6 cell
    pitch_um: float = 10.0
    origin_mm: tuple[float, float] = (10.0, 10.0)
    fiducials: bool = True
    labels: bool = True
    mark: Recipe = MARK_RECIPE
    material: str | None = None

    def __post_init__(self):
        if self.mode not in MODES:
            raise LasergenError(f"calibration grid: mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        exposure = MODES[self.mode][1]
        other = "speed_mm_s" if exposure == "dwell_s" else "dwell_s"
        if len(self.values.get(other, ())) > 1:
            raise LasergenError(f"calibration grid: a {self.mode} grid cannot sweep {FIELDS[other]} "
                                f"(dots sweep dwell, lines sweep speed)")
        unknown = sorted(set(self.values) - set(FIELDS))
        if unknown:
            raise LasergenError(f"calibration grid: unknown parameter(s) {', '.join(unknown)}")
        for f, values in self.values.items():
            if not values:
                raise LasergenError(f"calibration grid: empty sweep of {FIELDS[f]}")
            if f == "passes" and any(v != int(v) or v < 1 for v in values):
                raise LasergenError(f"calibration grid: passes must be whole numbers >= 1, got {values}")
            if any(v <= 0 for v in values):
                raise LasergenError(f"calibration grid: {FIELDS[f]} must be > 0, got {min(values):g}")
        if len(self.swept) > 2:
            raise LasergenError(f"calibration grid: at most two parameters can be swept, got "
                                f"{', '.join(FIELDS[f] for f in self.swept)}")
        if not self.pitch_um > 0 or not self.cell_um > 0:
            raise LasergenError("calibration grid: cell_um and pitch_um must be > 0")
        cell_px, line_px = self.cell_um / self.pitch_um, self.line_length_um / self.pitch_um
        if cell_px < 2 or abs(cell_px - round(cell_px)) > 1e-6 or abs(line_px - round(line_px)) > 1e-6 \
                or round(line_px) >= round(cell_px) or round(line_px) < 1:
            raise LasergenError(f"calibration: cell_um ({self.cell_um:g}) and line_um ({self.line_length_um:g}) must "
                                f"be whole multiples of pitch_um ({self.pitch_um:g}) with line_um < cell_um")
        if self.labels and LABEL_HEIGHT_CELLS * self.cell_um / self.pitch_um < 5:
            raise LasergenError(f"calibration grid: labels {LABEL_HEIGHT_CELLS * self.cell_um:g} um tall are "
                                f"under 5 pixels of {self.pitch_um:g} um; use a finer pitch or larger cells")

    @property
    def swept(self) -> list[str]:
        order = [f for f, _ in PARAMETERS.values()]
        return [f for f in order if len(self.values.get(f, ())) > 1]

    @property
    def line_length_um(self) -> float:
        if self.line_um is not None:
            return float(self.line_um)
        return round(0.6 * self.cell_um / self.pitch_um) * self.pitch_um

    @property
    def axes(self) -> tuple[tuple[str, list], tuple[str | None, list]]:
        """(row field, values), (column field or None, values)."""
        swept = self.swept
        row = swept[0] if swept else "energy_uJ"
        col = swept[1] if len(swept) > 1 else None
        return (row, list(self.value(row))), (col, list(self.value(col)) if col else [None])

    def value(self, f: str) -> list:
        defaults = {"energy_uJ": [200.0], "rep_rate_kHz": [10.0], "passes": [1], "dwell_s": [1.5],
                    "speed_mm_s": [0.4]}
        return list(self.values.get(f, defaults[f]))


@dataclass(frozen=True)
class Layout:
    """Where everything sits, in um from the canvas's top-left (u right, v down)."""
    rows: int
    cols: int
    cell_um: float
    band_um: float

    @property
    def width_um(self) -> float:
        return self.cols * self.cell_um + 2 * self.band_um

    @property
    def height_um(self) -> float:
        return self.rows * self.cell_um + 2 * self.band_um

    def cell_centre_um(self, row, col):
        return (self.band_um + (np.asarray(col) + 0.5) * self.cell_um,
                self.band_um + (np.asarray(row) + 0.5) * self.cell_um)

    def fiducials(self) -> list[dict]:
        half = self.band_um / 2
        centres = {"TL": (half, half), "TR": (self.width_um - half, half),
                   "BR": (self.width_um - half, self.height_um - half), "BL": (half, self.height_um - half)}
        return [{"name": name, "centre_um": list(centres[name]), "side_um": FIDUCIAL_SIDE_CELLS[name] * self.cell_um,
                 "hole_um": RING_HOLE_CELLS * self.cell_um if name == "TL" else 0.0} for name in centres]


@dataclass
class GridPart:
    pattern: Pattern
    rep_rate_kHz: float
    index: int
    count: int


def row_label(row: int) -> str:
    """A, B, ..., Z, AA, AB, ... (spreadsheet style)."""
    out, n = "", row + 1
    while n:
        n, r = divmod(n - 1, 26)
        out = chr(65 + r) + out
    return out


def cell_name(row: int, col: int) -> str:
    return f"{row_label(row)}{col + 1}"


def _fmt(f: str, v) -> str:
    unit = PARAMETERS[FIELDS[f]][1]
    return f"{FIELDS[f]}{float(v):g}{unit.replace('/', '')}"


def _square_mask(shape, pitch_um, centre_um, side_um, hole_um=0.0) -> np.ndarray:
    u = (np.arange(shape[1]) + 0.5) * pitch_um - centre_um[0]
    v = (np.arange(shape[0]) + 0.5) * pitch_um - centre_um[1]
    du, dv = np.abs(u)[None, :], np.abs(v)[:, None]
    inside = (du < side_um / 2) & (dv < side_um / 2)
    return inside & ~((du < hole_um / 2) & (dv < hole_um / 2)) if hole_um else inside


def _place(mask: np.ndarray, glyphs: np.ndarray, centre_um, pitch_um) -> None:
    """OR `glyphs` into `mask` centred on `centre_um` (clipped to the canvas)."""
    h, w = glyphs.shape
    r0 = int(round(centre_um[1] / pitch_um - h / 2))
    c0 = int(round(centre_um[0] / pitch_um - w / 2))
    rr0, cc0 = max(r0, 0), max(c0, 0)
    rr1, cc1 = min(r0 + h, mask.shape[0]), min(c0 + w, mask.shape[1])
    mask[rr0:rr1, cc0:cc1] |= glyphs[rr0 - r0:rr1 - r0, cc0 - c0:cc1 - c0]


def grid_parts(spec: GridSpec) -> list[GridPart]:
    """The grid as one pattern, or one per repetition rate when the rep rate is swept."""
    (row_f, row_v), (col_f, col_v) = spec.axes
    band = BAND_CELLS * spec.cell_um if (spec.fiducials or spec.labels) else 0.0
    layout = Layout(len(row_v), len(col_v), spec.cell_um, band)
    p = spec.pitch_um
    shape = (int(round(layout.height_um / p)), int(round(layout.width_um / p)))
    recipe_mode, _ = MODES[spec.mode]
    fixed = {f: spec.value(f)[0] for f in FIELDS if f not in (row_f, col_f)}
    cells = []
    for row, rv in enumerate(row_v):
        for col, cv in enumerate(col_v):
            params = {**fixed, row_f: rv, **({col_f: cv} if col_f else {})}
            params["passes"] = int(params["passes"])
            name = cell_name(row, col)
            recipe = Recipe(mode=recipe_mode, **params)
            u, v = layout.cell_centre_um(row, col)
            cells.append({"cell": name, "row": row, "col": col, "recipe_name": f"{name}_" + "_".join(
                _fmt(f, params[f]) for f in (row_f, col_f) if f), "recipe": recipe,
                "centre_um": [float(u), float(v)], **{f: params[f] for f in (row_f, col_f) if f}})
    rates = sorted({c["recipe"].rep_rate_kHz for c in cells}) if row_f == "rep_rate_kHz" or col_f == "rep_rate_kHz" \
        else [cells[0]["recipe"].rep_rate_kHz]
    top_mm = spec.origin_mm[1] + layout.height_um / 1000.0
    for c in cells:
        c["centre_mm"] = [round(spec.origin_mm[0] + c["centre_um"][0] / 1000.0, 6),
                          round(top_mm - c["centre_um"][1] / 1000.0, 6)]
    parts = []
    for index, rate in enumerate(rates):
        mark = replace(spec.mark, rep_rate_kHz=rate)
        layers, recipes = [], {}
        if index == 0 and spec.fiducials:
            fid = np.zeros(shape, bool)
            for f in layout.fiducials():
                fid |= _square_mask(shape, p, f["centre_um"], f["side_um"], f["hole_um"])
            layers.append(Layer(fid, "mark", "fiducials"))
        if index == 0 and spec.labels:
            layers.append(Layer(_label_mask(shape, layout, p), "mark", "labels"))
        if layers:
            recipes["mark"] = mark
        for c in cells:
            if c["recipe"].rep_rate_kHz != rate:
                continue
            mask = np.zeros(shape, bool)
            r0 = int(round(c["centre_um"][1] / p - 0.5))
            if spec.mode == "dots":
                mask[r0, int(round(c["centre_um"][0] / p - 0.5))] = True
            else:
                n = int(round(spec.line_length_um / p))
                c0 = int(round(c["centre_um"][0] / p - n / 2))
                mask[r0, c0:c0 + n] = True
            recipes[c["recipe_name"]] = c["recipe"]
            layers.append(Layer(mask, c["recipe_name"], c["recipe_name"]))
        meta = describe(spec, layout, cells, (row_f, row_v), (col_f, col_v), mark, index, rates)
        parts.append(GridPart(Pattern(p, layers, tuple(spec.origin_mm), recipes, meta), rate, index, len(rates)))
    return parts


def _label_mask(shape, layout: Layout, pitch_um: float) -> np.ndarray:
    mask = np.zeros(shape, bool)
    height_px = int(round(LABEL_HEIGHT_CELLS * layout.cell_um / pitch_um))
    band = layout.band_um
    for row in range(layout.rows):
        _place(mask, render_text(row_label(row), height_px), (band / 2, layout.cell_centre_um(row, 0)[1]), pitch_um)
    for col in range(layout.cols):
        glyphs = render_text(str(col + 1), height_px)
        if glyphs.shape[1] * pitch_um > 0.9 * layout.cell_um:  # wide numbers: two lines of digits would clash
            glyphs = render_text(str(col + 1), max(5, int(height_px * 0.9 * layout.cell_um
                                                          / (glyphs.shape[1] * pitch_um))))
        _place(mask, glyphs, (layout.cell_centre_um(0, col)[0], band / 2), pitch_um)
    return mask


def describe(spec: GridSpec, layout: Layout, cells, rows, cols, mark: Recipe, index: int, rates) -> dict:
    """The grid as the job manifest's `promises` carry it (what `measure` and `fit` read)."""
    axis = lambda f, v: {"parameter": f, "values": [float(x) for x in v]} if f else None
    return {
        "source": "calibration", "format": FORMAT, "version": VERSION, "mode": spec.mode,
        "material": spec.material,
        "rows": axis(*rows), "cols": axis(*cols),
        "cell_um": spec.cell_um, "line_um": spec.line_length_um if spec.mode == "lines" else None,
        "pitch_um": spec.pitch_um, "size_um": [layout.width_um, layout.height_um], "band_um": layout.band_um,
        "origin_mm": list(spec.origin_mm), "axes": "u right, v down from the top-left, as seen from the laser side",
        "fiducials": layout.fiducials() if spec.fiducials else [],
        "labels": {"rows": [row_label(r) for r in range(layout.rows)],
                   "cols": [str(c + 1) for c in range(layout.cols)]} if spec.labels else None,
        "mark_recipe": mark.to_dict() if (spec.fiducials or spec.labels) else None,
        "part": {"index": index, "count": len(rates), "rep_rate_kHz": rates[index],
                 "marks_written": index == 0 and (spec.fiducials or spec.labels)},
        "cells": [{**{k: v for k, v in c.items() if k not in ("recipe", "recipe_name")}, "layer": c["recipe_name"],
                   "recipe": c["recipe"].to_dict(), "written": c["recipe"].rep_rate_kHz == rates[index]}
                  for c in cells],
    }


def check_energies(spec: GridSpec, machine) -> None:
    """Refuse a grid whose energies the machine cannot set (one line naming the value)."""
    low, high = machine.energy_range_uJ
    energies = spec.value("energy_uJ")
    marks = [spec.mark.energy_uJ] if (spec.fiducials or spec.labels) else []
    for energy in energies + marks:
        if not low - 1e-9 <= energy <= high + 1e-9:
            what = "the fiducial/label recipe's energy" if energy not in energies else "grid energy"
            raise LasergenError(f"calibrate grid: {what} {energy:g} uJ is outside the {low:g}..{high:g} uJ "
                                f"machine {machine.name!r} can set ({machine.energy_range_source})")
