"""Feature sizes measured on the predicted crystallized region (X >= detect threshold).

  dot diameter  equivalent diameter 2 sqrt(A / pi) of the connected lit region under each dwell
                (scipy.ndimage.label, holes filled: a dot with a dissolved core is measured by its
                outline); dots whose regions merged are counted but not measured
  line width    lit extent across each written segment at its midpoint: samples along the
                normal every pitch/2, the contiguous lit run through the centre (vectorised over
                segments), its edges placed where the interpolated X crosses the detection level
                (sub-pixel, so widths change smoothly with speed and energy); across a dissolved
                axis between two lit flanks only the lit flanks count, as in a photo of the glow. In a raster fill neighbouring lines merge, so this is the width of the
                filled band; for isolated lines it is the line width.
"""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hardware_sim.glass.exposure import Grid
from hardware_sim.ledger import BeamHistory

MAX_SEGMENTS = 4000


def _pixel(grid: Grid, x_mm, y_mm):
    fr, fc = grid.fractional_index(x_mm, y_mm)
    r, c = np.rint(fr).astype(np.int64), np.rint(fc).astype(np.int64)
    inside = (r >= 0) & (r < grid.ny) & (c >= 0) & (c < grid.nx)
    return np.clip(r, 0, grid.ny - 1), np.clip(c, 0, grid.nx - 1), inside


def dot_diameters_um(history: BeamHistory, grid: Grid, lit: np.ndarray) -> dict:
    dots = history.take(history.is_dwell)
    if not len(dots):
        return {"count": 0}
    labels, _ = ndimage.label(ndimage.binary_fill_holes(lit))  # an over-hot dot is a ring: measure its outline
    r, c, inside = _pixel(grid, dots.x0, dots.y0)
    lab = np.where(inside, labels[r, c], 0)
    areas = np.bincount(labels.ravel())
    shared = np.bincount(lab, minlength=areas.size)
    own = (lab > 0) & (shared[lab] == 1)
    diam = 2 * np.sqrt(areas[lab[own]] * grid.pixel_area_um2 / np.pi)
    out = {"count": int(len(dots)), "dark": int((lab == 0).sum()), "merged": int(((lab > 0) & ~own).sum())}
    if diam.size:
        out.update(median_um=float(np.median(diam)), min_um=float(diam.min()), max_um=float(diam.max()))
    return out


def line_widths_um(history: BeamHistory, grid: Grid, lit: np.ndarray, reach_um: float = 300.0,
                   crystallized: np.ndarray | None = None, detect: float = 0.05) -> dict:
    exposures = history.exposures()
    lines = exposures.take(~exposures.is_dwell & (exposures.length_mm > 0))
    if not len(lines):
        return {"count": 0}
    if len(lines) > MAX_SEGMENTS:
        lines = lines.take(np.linspace(0, len(lines) - 1, MAX_SEGMENTS).astype(np.int64))
    length = lines.length_mm
    nx, ny = -(lines.y1 - lines.y0) / length, (lines.x1 - lines.x0) / length
    step_mm = grid.pitch_um / 2000.0
    k = int(reach_um / 1000.0 / step_mm)
    offsets = np.arange(-k, k + 1) * step_mm
    mx, my = 0.5 * (lines.x0 + lines.x1), 0.5 * (lines.y0 + lines.y1)
    px, py = mx[:, None] + offsets * nx[:, None], my[:, None] + offsets * ny[:, None]
    r, c, inside = _pixel(grid, px, py)
    hit = lit[r, c] & inside
    centre = k
    # a dissolved axis (dark core between two lit flanks) lies inside the line: fill it to find the
    # line's outline, and count only its lit samples (what a photo of the glow measures)
    glowing = hit
    dark = ~hit[:, centre]
    if dark.any():
        right_lit = np.where(hit[:, centre:].any(axis=1), np.argmax(hit[:, centre:], axis=1), -1)
        left_lit = np.where(hit[:, :centre + 1].any(axis=1), np.argmax(hit[:, :centre + 1][:, ::-1], axis=1), -1)
        core = dark & (right_lit > 0) & (left_lit > 0)
        fill = core[:, None] & (np.arange(2 * k + 1)[None, :] > centre - left_lit[:, None]) \
            & (np.arange(2 * k + 1)[None, :] < centre + right_lit[:, None])
        hit = hit | fill
    # contiguous run through the centre: first unlit sample on each side
    right = np.where(~hit[:, centre:].all(axis=1), np.argmin(hit[:, centre:], axis=1), k + 1)
    left = np.where(~hit[:, :centre + 1][:, ::-1].all(axis=1), np.argmin(hit[:, :centre + 1][:, ::-1], axis=1), k + 1)
    samples = (right + left - 1).clip(min=0).astype(np.float64)
    if dark.any():
        idx = np.arange(2 * k + 1)[None, :]
        run = (idx > centre - left[:, None]) & (idx < centre + right[:, None])
        samples = np.where(dark, (glowing & run).sum(axis=1), samples).astype(np.float64)
    if crystallized is not None:  # sub-pixel: each edge where the bilinear X crosses `detect`
        rows = np.arange(len(lines))
        for first_dark in (np.minimum(centre + right, 2 * k), np.maximum(centre - left, 0)):
            inner = np.clip(first_dark + np.where(first_dark > centre, -1, 1), 0, 2 * k)
            a = _bilinear(grid, crystallized, px[rows, inner], py[rows, inner])
            b = _bilinear(grid, crystallized, px[rows, first_dark], py[rows, first_dark])
            samples += np.where((a > b) & (first_dark != inner), np.clip((a - detect) / np.maximum(a - b, 1e-12), 0, 1),
                                0.5) - 0.5
    width = samples.clip(min=0) * step_mm * 1000.0
    width = np.where(hit[:, centre], width, 0.0)  # `hit` has the filled core
    return {"count": int(len(lines)), "median_um": float(np.median(width)), "min_um": float(width.min()),
            "max_um": float(width.max()), "dark": int((width == 0).sum())}


def _bilinear(grid: Grid, values: np.ndarray, x_mm, y_mm) -> np.ndarray:
    fr, fc = grid.fractional_index(x_mm, y_mm)
    r0 = np.clip(np.floor(fr).astype(np.int64), 0, grid.ny - 2)
    c0 = np.clip(np.floor(fc).astype(np.int64), 0, grid.nx - 2)
    wr, wc = np.clip(fr - r0, 0, 1), np.clip(fc - c0, 0, 1)
    v = values
    return ((1 - wr) * ((1 - wc) * v[r0, c0] + wc * v[r0, c0 + 1])
            + wr * ((1 - wc) * v[r0 + 1, c0] + wc * v[r0 + 1, c0 + 1]))
