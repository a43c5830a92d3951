"""Synthetic photos of simulated grids: the simulator's UV render seen by a camera at a known pose
(homography), under uneven light, with sensor noise, as an 8-bit sRGB image."""

from __future__ import annotations

import numpy as np
from scipy import ndimage

from hardware_sim.glass.simulate import simulate_job
from lasergen.calib.image import SRGB_8


def render_grid(job, um_per_px=2.0, **options):
    """(prediction, manifest, linear RGB render in image orientation, um per px)."""
    prediction, manifest = simulate_job(job, **options)
    rendered = prediction.render("uv365", um_per_px)
    return prediction, manifest, SRGB_8[rendered.rgb], rendered.um_per_px


def pose(angle_deg=0.0, scale=1.0, shift=(0.0, 0.0), tilt=(0.0, 0.0), centre=(0.0, 0.0)) -> np.ndarray:
    """Homography render px -> photo px: rotate and scale about `centre`, shift, then a perspective tilt."""
    a = np.radians(angle_deg)
    cx, cy = centre
    to_centre = np.array([[1, 0, -cx], [0, 1, -cy], [0, 0, 1.0]])
    rot = np.array([[scale * np.cos(a), -scale * np.sin(a), 0], [scale * np.sin(a), scale * np.cos(a), 0], [0, 0, 1]])
    move = np.array([[1, 0, cx + shift[0]], [0, 1, cy + shift[1]], [0, 0, 1.0]])
    persp = np.array([[1, 0, 0], [0, 1, 0], [tilt[0], tilt[1], 1.0]])
    return move @ persp @ rot @ to_centre


def photograph(linear_rgb, H, shape, light=None, noise=0.0, background=(0.004, 0.002, 0.010), seed=0, mirror=False):
    """The render as a camera sees it: each photo pixel looks up the render through H^-1,
    multiplied by `light` (a function of photo x, y in 0..1) plus Gaussian noise; 8-bit sRGB out."""
    rows, cols = shape
    y, x = np.mgrid[0:rows, 0:cols].astype(np.float64)
    inv = np.linalg.inv(H)
    w = inv[2, 0] * x + inv[2, 1] * y + inv[2, 2]
    sx = (inv[0, 0] * x + inv[0, 1] * y + inv[0, 2]) / w
    sy = (inv[1, 0] * x + inv[1, 1] * y + inv[1, 2]) / w
    out = np.empty((rows, cols, 3), np.float32)
    for ch in range(3):
        out[..., ch] = ndimage.map_coordinates(linear_rgb[..., ch], [sy, sx], order=1, mode="constant",
                                               cval=background[ch])
    if light is not None:
        out *= light(x / cols, y / rows)[..., None].astype(np.float32)
    if noise:
        out += np.random.default_rng(seed).normal(0, noise, out.shape).astype(np.float32)
    if mirror:
        out = out[:, ::-1]
    return to_srgb8(out)


def to_srgb8(linear):
    c = np.clip(linear, 0, 1)
    s = np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)
    return np.round(s * 255).astype(np.uint8)


def vignette(x, y):
    """Uneven light: 100 % at the left, 55 % at the right, darker corners."""
    return (1.0 - 0.45 * x) * (1.0 - 0.3 * ((x - 0.5) ** 2 + (y - 0.5) ** 2))


def truth_by_cell(prediction, manifest):
    """The simulator's own feature size per cell (hardware_sim.glass.features on the cell's layer)."""
    from hardware_sim.glass.features import dot_diameters_um, line_widths_um

    led, lit = prediction.history.exposures(), prediction.lit
    mx, my = 0.5 * (led.x0 + led.x1), 0.5 * (led.y0 + led.y1)
    half = manifest["promises"]["cell_um"] / 2000.0
    out = {}
    for cell in manifest["promises"]["cells"]:  # the beam history has no layers: a cell's exposures by place
        cx, cy = cell["centre_mm"]
        sub = led.take((np.abs(mx - cx) <= half) & (np.abs(my - cy) <= half))
        measure = dot_diameters_um if manifest["promises"]["mode"] == "dots" else line_widths_um
        out[cell["cell"]] = measure(sub, prediction.grid, lit).get("median_um")
    return out
