"""Measuring a calibration grid's UV photo, cell by cell (one CSV row per cell).

1. The photo is decoded to linear light (`image`); glow = R + G + B.
2. The four fiducials give the homography H from the grid's design coordinates (um, from the
   job manifest) to the photo (`fiducials`): rotation, perspective, a mirrored photo and any
   scale are absorbed by it, so no um-per-pixel is needed (one given is cross-checked).
3. Every cell is resampled through H onto a square of cell_um x cell_um at the photo's own
   resolution there (bilinear, all cells in one `map_coordinates` call per channel), so all
   later steps work in um whatever the pose.
4. Uneven light: each cell's background is the median of its window's border; the fiducials
   (written with one known recipe, fully crystallized) are a reference glow at the four corners,
   interpolated bilinearly over the grid. A sample is lit where its glow above the background
   reaches `threshold` (default 0.05, the simulator's detection fraction) of the local reference.
5. The cell's feature is the largest lit blob whose centroid lies within 0.3 cell of the cell's
   centre (labels of all cells at once: a 3-D label with no connection across cells). Dot:
   equivalent diameter 2 sqrt(A / pi); line: median lit extent across the line over the central
   half of its length, and its length. Green and red: the G and R channels above background,
   as means over the feature, relative to the local fiducial reference, and integrated (um^2).
"""

from __future__ import annotations

import csv
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from scipy import ndimage

from lasergen import LasergenError
from lasergen.calib.fiducials import find_fiducials
from lasergen.calib.csv_columns import COLUMNS, RECIPE_COLUMNS
from lasergen.calib.grid import FORMAT
from lasergen.calib.image import load_linear_planes, local_scale_px_per_um, project

DEFAULT_THRESHOLD = 0.05
MAX_SAMPLES_PER_CELL = 100  # per side: 2.5 um steps in a 250 um cell keep sizes within 1 um
CENTRE_REACH = 0.3  # of a cell: how far a feature's centroid may sit from the cell's centre
SCALE_TOLERANCE = 0.10  # a given --um-per-px further than this from the fiducials' is a warning

@dataclass
class Measurement:
    rows: list[dict]
    info: dict = field(default_factory=dict)


def grid_from_job(path: str | Path) -> dict:
    """The grid description a calibration job's manifest carries (`lasergen.calib.grid.describe`)."""
    from lasergen.job import parse_header

    try:
        with open(path, encoding="utf-8") as f:
            head = []
            for line in f:
                head.append(line.rstrip("\n"))
                if len(head) > 1 and not line.startswith(";@"):
                    break
    except FileNotFoundError:
        raise LasergenError(f"grid job not found: {path}") from None
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise LasergenError(f"cannot read grid job {path}: {exc}") from None
    manifest, _ = parse_header(head)
    grid = (manifest or {}).get("promises") or {}
    if grid.get("format") != FORMAT:
        raise LasergenError(f"{path} is not a calibration grid job (plan one with `lasergen calibrate grid`)")
    return grid


def _reference(glow, channels, H, fiducials, cell_um):
    """Per fiducial: background-subtracted 90th percentile of glow, G and R inside its ink."""
    out = []
    for f in fiducials:
        half, hole = f["side_um"] / 2, f["hole_um"] / 2
        step = max(f["side_um"] / 60, 1.0)
        g = np.arange(-cell_um, cell_um, step) + step / 2
        uu, vv = np.meshgrid(g, g)
        x, y = project(H, uu + f["centre_um"][0], vv + f["centre_um"][1])
        inset = 0.1 * f["side_um"]
        cheb = np.maximum(np.abs(uu), np.abs(vv))
        ink = (cheb < half - inset) & (cheb > (hole + inset if hole else -1))
        values = [ndimage.map_coordinates(c, [y, x], order=1, mode="nearest") for c in (glow, *channels)]
        out.append([np.percentile(v[ink], 90) - np.percentile(v, 10) for v in values])
    return np.array(out)  # (4, 3): glow, G, R


def _bilinear_weights(fiducials, u, v):
    """Weights (n, 4) interpolating values at the 4 fiducial centres to (u, v): a + b u + c v + d u v."""
    c = np.array([f["centre_um"] for f in fiducials], float)
    basis = lambda uu, vv: np.stack([np.ones_like(uu), uu, vv, uu * vv], axis=-1)
    coeff = np.linalg.inv(basis(c[:, 0], c[:, 1]))  # basis(c) @ coeff = I
    return basis(np.asarray(u, float), np.asarray(v, float)) @ coeff


def measure_photo(photo, grid: dict, um_per_px: float | None = None,
                  threshold: float = DEFAULT_THRESHOLD) -> Measurement:
    if not 0 < threshold < 1:
        raise LasergenError(f"measure: threshold must be between 0 and 1 (a fraction of the reference glow), "
                            f"got {threshold:g}")
    if um_per_px is not None and not (np.isfinite(um_per_px) and um_per_px > 0):
        raise LasergenError(f"measure: --um-per-px must be > 0, got {um_per_px:g}")
    red, green, blue = load_linear_planes(photo)
    glow = red + green
    glow += blue
    del blue
    found = find_fiducials(glow, grid["fiducials"])
    H, cell_um = found.H, float(grid["cell_um"])
    cells = grid["cells"]
    uc = np.array([c["centre_um"][0] for c in cells])
    vc = np.array([c["centre_um"][1] for c in cells])
    px_per_um = local_scale_px_per_um(H, uc, vc)
    native_um = float(np.median(1.0 / px_per_um))
    step = max(native_um, cell_um / MAX_SAMPLES_PER_CELL)
    n = int(np.ceil(cell_um / step))
    off = (np.arange(n) + 0.5) * cell_um / n - cell_um / 2
    step = cell_um / n
    U = uc[:, None, None] + off[None, None, :]
    V = vc[:, None, None] + off[None, :, None]
    x, y = project(H, *np.broadcast_arrays(U, V))
    coords = np.stack([y.ravel(), x.ravel()])
    shape = (len(cells), n, n)
    outside = ((x < 0) | (y < 0) | (x > glow.shape[1] - 1) | (y > glow.shape[0] - 1)).any(axis=(1, 2))
    s_glow, s_green, s_red = (ndimage.map_coordinates(ch, coords, order=1, mode="nearest").reshape(shape)
                              for ch in (glow, green, red))
    ref = _reference(glow, (green, red), H, grid["fiducials"], cell_um)
    weights = _bilinear_weights(grid["fiducials"], uc, vc)
    ref_cell = np.maximum(weights @ ref, 1e-6)  # (cells, 3)

    edge = max(2, n // 12)
    border = np.zeros((n, n), bool)
    border[:edge], border[-edge:], border[:, :edge], border[:, -edge:] = True, True, True, True
    bg = np.stack([np.median(s[:, border], axis=1) for s in (s_glow, s_green, s_red)], axis=1)
    noise = 1.4826 * np.median(np.abs(s_glow[:, border] - bg[:, :1]), axis=1)
    signal = s_glow - bg[:, 0, None, None]
    lit = signal >= (threshold * ref_cell[:, 0])[:, None, None]

    structure = np.zeros((3, 3, 3), bool)
    structure[1] = ndimage.generate_binary_structure(2, 1)
    labels, count = ndimage.label(lit, structure)
    flat = labels.ravel()
    area = np.bincount(flat, minlength=count + 1).astype(float)
    cell_of = np.zeros(count + 1, np.int64)
    cell_of[flat] = np.repeat(np.arange(len(cells)), n * n)
    Uo, Vo = np.broadcast_to(off[None, None, :], shape), np.broadcast_to(off[None, :, None], shape)
    with np.errstate(invalid="ignore", divide="ignore"):
        cu = np.bincount(flat, Uo.ravel(), minlength=count + 1) / area
        cv = np.bincount(flat, Vo.ravel(), minlength=count + 1) / area
    near = np.hypot(cu, cv) <= CENTRE_REACH * cell_um
    near[0] = False
    chosen = np.zeros(len(cells), np.int64)
    candidates = np.flatnonzero(near)
    if candidates.size:
        order = candidates[np.lexsort((area[candidates], cell_of[candidates]))]
        last = np.r_[cell_of[order][1:] != cell_of[order][:-1], True]
        chosen[cell_of[order][last]] = order[last]
    feature = (labels == chosen[:, None, None]) & (chosen[:, None, None] > 0)
    f_area = feature.sum(axis=(1, 2)).astype(float)
    touches = (feature[:, 0].any(axis=1) | feature[:, -1].any(axis=1) | feature[:, :, 0].any(axis=1)
               | feature[:, :, -1].any(axis=1))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_sig = (signal * feature).sum(axis=(1, 2)) / f_area
        g_sig = ((s_green - bg[:, 1, None, None]) * feature).sum(axis=(1, 2))
        r_sig = ((s_red - bg[:, 2, None, None]) * feature).sum(axis=(1, 2))
    present = (f_area >= 4) & (mean_sig >= 2 * noise) & ~outside

    widths, lengths = _line_sizes(feature, step)
    fu, fv = uc + cu[chosen], vc + cv[chosen]
    fx, fy = project(H, fu, fv)
    area_um2 = f_area * step ** 2
    rows = []
    mode = grid["mode"]
    for i, c in enumerate(cells):
        recipe = c["recipe"]
        row = {"cell": c["cell"], "row": c["row"], "col": c["col"], "mode": mode,
               **{k: recipe.get(k) for k in RECIPE_COLUMNS}}
        row["dwell_s" if mode == "lines" else "speed_mm_s"] = None
        ok = bool(present[i])
        row.update(present=int(ok), merged=int(ok and touches[i]), outside=int(outside[i]),
                   background=bg[i, 0], noise=noise[i], um_per_px=1.0 / px_per_um[i])
        if ok:
            row.update(area_um2=area_um2[i], green_mean=g_sig[i] / f_area[i], red_mean=r_sig[i] / f_area[i],
                       green_sum_um2=g_sig[i] * step ** 2, red_sum_um2=r_sig[i] * step ** 2,
                       x_px=fx[i], y_px=fy[i], offset_um=float(np.hypot(cu[chosen[i]], cv[chosen[i]])))
            row["green_rel"] = row["green_mean"] / ref_cell[i, 1]
            row["red_rel"] = row["red_mean"] / ref_cell[i, 2]
            if mode == "dots":
                row["diameter_um"] = 2 * np.sqrt(area_um2[i] / np.pi)
            else:
                row.update(width_um=widths[i], length_um=lengths[i])
        rows.append(row)
    info = {"cells": len(cells), "present": int(present.sum()), "merged": int((present & touches).sum()),
            "mirrored": found.mirrored, "fiducial_score": found.score, "um_per_px": native_um,
            "sample_um": step, "threshold": threshold, "fiducials_px": found.centres_px.round(2).tolist(),
            "reference": {"glow": ref[:, 0].tolist(), "green": ref[:, 1].tolist(), "red": ref[:, 2].tolist()},
            "warnings": []}
    if um_per_px is not None and abs(um_per_px / native_um - 1) > SCALE_TOLERANCE:
        info["warnings"].append(f"--um-per-px {um_per_px:g} differs from the fiducials' {native_um:.3g} um/px "
                                f"by {100 * abs(um_per_px / native_um - 1):.0f} %; sizes use the fiducials'")
    if info["reference"]["glow"] and min(ref[:, 0]) < 0.25 * max(ref[:, 0]):
        info["warnings"].append("the fiducials' glow differs more than 4x across the grid: very uneven light")
    return Measurement(rows, info)


def _line_sizes(feature: np.ndarray, step: float) -> tuple[np.ndarray, np.ndarray]:
    """Per cell: median lit extent across (v) over the central half of the lit length (u), and the length."""
    across = feature.sum(axis=1).astype(float)  # (cells, n along u)
    has = across > 0
    n = across.shape[1]
    first = np.where(has.any(axis=1), np.argmax(has, axis=1), 0)
    last = np.where(has.any(axis=1), n - 1 - np.argmax(has[:, ::-1], axis=1), -1)
    length = (last - first + 1).clip(min=0)
    idx = np.arange(n)[None, :]
    central = (idx >= (first + length / 4)[:, None]) & (idx <= (last - length / 4)[:, None]) & has
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)  # cells without a line: all-NaN rows
        width = np.nanmedian(np.where(central, across, np.nan), axis=1) * step
    return width, length * step


def write_csv(rows: list[dict], path: str | Path) -> None:
    try:
        f = open(path, "w", newline="", encoding="utf-8")
    except OSError as exc:
        raise LasergenError(f"cannot write {path}: {exc}") from None
    with f:
        writer = csv.DictWriter(f, fieldnames=list(COLUMNS), extrasaction="ignore")
        writer.writeheader()
        for row in rows:
            writer.writerow({k: _cell_text(row.get(k)) for k in COLUMNS})


def _cell_text(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (float, np.floating)):
        return "" if not np.isfinite(value) else f"{float(value):.6g}"
    return str(value)
