"""Shape check for `verify`: does the glowing region of the UV render match the promised shape?

A vector job promises the region it writes (`{"source": "shape", "geometry_wkt": ...}` in
machine mm, see lasergen/vector_plan.py). Here the UV render is read as a user would read a
photo: luminance, split into glow and background by Otsu's threshold (the histogram split that
maximises the between-class variance), and compared pixel by pixel with the promised region
rasterised at the render's pixel centres (shapely `contains_xy`, part by part on its box). The verdict is the
intersection over union (IoU) against the promise's `min_iou`.
"""

from __future__ import annotations

import numpy as np
import shapely

from hardware_sim.glass.verify import QR_VIEW, ViewCheck, gray

SHAPE_VIEW = QR_VIEW  # the glow under 365 nm


def otsu_threshold(values: np.ndarray) -> float:
    hist = np.bincount(values.ravel(), minlength=256).astype(np.float64)
    p = hist / max(hist.sum(), 1.0)
    omega = np.cumsum(p)
    mu = np.cumsum(p * np.arange(256))
    with np.errstate(divide="ignore", invalid="ignore"):
        between = (mu[-1] * omega - mu) ** 2 / (omega * (1 - omega))
    return float(np.nanargmax(np.nan_to_num(between, nan=-1.0)))


def pixel_centres_mm(prediction, shape, um_per_px: float):
    """Machine x of each render column and y of each render row (row 0 = top = largest y)."""
    rows, cols = shape
    step = um_per_px / 1000.0
    x = prediction.grid.x0_mm + (np.arange(cols) + 0.5) * step
    y = prediction.grid.y0_mm + (rows - 1 - np.arange(rows) + 0.5) * step
    return x, y


def rasterise(region, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pixels (rows of `y`, columns of `x`) whose centres lie in any polygon of `region` (the
    promise's parts may overlap): each part tested on its own bounding box only."""
    out = np.zeros((len(y), len(x)), dtype=bool)
    parts = shapely.get_parts(shapely.get_parts(region))
    for part in parts[shapely.area(parts) > 0]:
        bx0, by0, bx1, by1 = part.bounds
        c0, c1 = np.searchsorted(x, bx0), np.searchsorted(x, bx1, side="right")
        r_lo, r_hi = np.searchsorted(-y, -by1), np.searchsorted(-y, -by0, side="right")  # y falls down the rows
        if c0 >= c1 or r_lo >= r_hi:
            continue
        xx, yy = np.meshgrid(x[c0:c1], y[r_lo:r_hi])
        out[r_lo:r_hi, c0:c1] |= shapely.contains_xy(part, xx, yy)
    return out


def shape_iou(prediction, region, view: str = SHAPE_VIEW) -> tuple[float, dict]:
    rendered = prediction.render(view)
    lum = gray(rendered.rgb)
    threshold = otsu_threshold(lum)
    glow = lum > threshold
    x, y = pixel_centres_mm(prediction, lum.shape, rendered.um_per_px)
    promised = rasterise(region, x, y)
    union = np.count_nonzero(glow | promised)
    iou = float(np.count_nonzero(glow & promised) / union) if union else 0.0
    px_um2 = rendered.um_per_px ** 2
    return iou, {"glow_area_um2": float(glow.sum() * px_um2), "promised_area_um2": float(promised.sum() * px_um2),
                 "threshold": threshold, "um_per_px": rendered.um_per_px}


def check_shape(prediction, promise: dict, margin: bool = True) -> ViewCheck:
    region = shapely.from_wkt(promise["geometry_wkt"])
    min_iou = float(promise.get("min_iou", 0.9))
    iou, details = shape_iou(prediction, region)
    ok = bool(iou >= min_iou)
    found = [f"IoU {iou:.3f}", f"glow {details['glow_area_um2']:.0f} um^2",
             f"promised {details['promised_area_um2']:.0f} um^2", f"at {details['um_per_px']:g} um/px"]
    message = (f"the glow under {SHAPE_VIEW} {'matches' if ok else 'does not match'} the promised shape: "
               f"IoU {iou:.3f} ({'>=' if ok else '<'} {min_iou:g})")
    return ViewCheck(SHAPE_VIEW, "shape", f"IoU >= {min_iou:g}", found, ok, message=message)
