"""Renders: XYZ fields -> 8-bit sRGB images as seen from the laser side, with a scale bar.

Orientation: simulation arrays are indexed [iy, ix] with iy growing with machine +Y; images have
row 0 at the top. `machine_to_image` is the one place that flips rows (and never columns), so
the image shows the sample as the laser (and a microscope above it) sees it: machine +X to the
right, +Y up. A written "F" reads "F" (tested).

Scale: `um_per_px` resamples to a microscope scale (coarser than the simulation grid: the
caller box-averages the phase maps first, see `simulate.Prediction.sample_at`; finer:
nearest-neighbour, a magnified view);
`whole_mark` picks the finest scale at which the whole field fits in `max_px`. The scale bar
sits in a caption strip under the image, so it never covers the sample (or a QR quiet zone).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hardware_sim.glass.cie import linear_to_srgb8
from hardware_sim.glass.optics import xyz_to_linear_rgb

NICE_STEPS = (1, 2, 5)
CAPTION_PX = 28


@dataclass
class Rendered:
    view: str
    rgb: np.ndarray        # (rows, cols, 3) uint8, image orientation, without caption
    um_per_px: float

    def to_pil(self, scale_bar: bool = True, dark: bool = True) -> Image.Image:
        image = Image.fromarray(self.rgb, "RGB")
        return with_scale_bar(image, self.um_per_px, dark) if scale_bar else image


def machine_to_image(field: np.ndarray) -> np.ndarray:
    """Machine orientation (row 0 = lowest Y) -> image orientation (row 0 = top = highest Y)."""
    return field[::-1]


def choose_scale(grid_pitch_um: float, shape: tuple[int, int], um_per_px: float | None,
                 whole_mark: bool, max_px: int) -> float:
    if um_per_px is not None:
        if um_per_px <= 0:
            raise ValueError(f"um_per_px must be > 0, got {um_per_px}")
        return float(um_per_px)
    largest = max(shape)
    if whole_mark or largest > max_px:
        return grid_pitch_um * int(np.ceil(largest / max_px))
    return grid_pitch_um


def block_mean(a: np.ndarray, ratio: float) -> np.ndarray:
    """Box-average a field (2-D, optionally with trailing channels) by `ratio` >= 1 per axis."""
    factor = int(round(ratio))
    if abs(ratio - factor) < 1e-6:
        if factor == 1:
            return a
        ny, nx = (a.shape[0] // factor) * factor, (a.shape[1] // factor) * factor
        # strided slice sums: much faster than a reshape + mean over non-contiguous axes
        cols = a[:ny, 0:nx:factor].astype(np.float32)
        for k in range(1, factor):
            cols += a[:ny, k:nx:factor]
        out = cols[0::factor].copy()
        for k in range(1, factor):
            out += cols[k::factor]
        out *= np.float32(1.0 / factor ** 2)
        return out
    ny, nx = max(1, int(a.shape[0] / ratio)), max(1, int(a.shape[1] / ratio))
    ri = np.minimum((np.arange(ny + 1) * ratio).astype(np.int64), a.shape[0])
    ci = np.minimum((np.arange(nx + 1) * ratio).astype(np.int64), a.shape[1])
    summed = np.add.reduceat(np.add.reduceat(a.astype(np.float32), ri[:-1], axis=0), ci[:-1], axis=1)
    counts = np.diff(ri)[:, None] * np.diff(ci)[None, :]
    return (summed / np.maximum(counts, 1).reshape(counts.shape + (1,) * (a.ndim - 2))).astype(np.float32)


def resample(xyz: np.ndarray, grid_pitch_um: float, um_per_px: float) -> np.ndarray:
    """Coarser: box average (exact for XYZ); finer: nearest neighbour (a magnified view)."""
    ratio = um_per_px / grid_pitch_um
    if ratio >= 1 - 1e-9:
        return block_mean(xyz, max(ratio, 1.0))
    ny = max(1, int(round(xyz.shape[0] / ratio)))
    nx = max(1, int(round(xyz.shape[1] / ratio)))
    rows = np.minimum((np.arange(ny) * ratio).astype(np.int64), xyz.shape[0] - 1)
    cols = np.minimum((np.arange(nx) * ratio).astype(np.int64), xyz.shape[1] - 1)
    return xyz[rows][:, cols]


def render_xyz(view: str, xyz: np.ndarray, field_pitch_um: float, um_per_px: float,
               background=(0.0, 0.0, 0.0)) -> Rendered:
    """XYZ field (machine orientation, `field_pitch_um` per pixel) -> image at `um_per_px`."""
    small = resample(xyz, field_pitch_um, um_per_px)
    rgb = linear_to_srgb8(xyz_to_linear_rgb(small, background))
    return Rendered(view, np.ascontiguousarray(machine_to_image(rgb)), float(um_per_px))


def nice_length_um(width_um: float) -> float:
    """A 1-2-5 length near a fifth of the image width."""
    target = width_um / 5
    exponent = np.floor(np.log10(target))
    steps = [s * 10 ** exponent for s in NICE_STEPS + (10,)]
    return float(max(s for s in steps if s <= target)) if target >= 1 else 1.0


def with_scale_bar(image: Image.Image, um_per_px: float, dark: bool = True) -> Image.Image:
    width, height = image.size
    bar_um = nice_length_um(width * um_per_px)
    bar_px = max(1, int(round(bar_um / um_per_px)))
    ink, paper = ((235, 235, 235), (0, 0, 0)) if dark else ((20, 20, 20), (245, 245, 245))
    canvas = Image.new("RGB", (width, height + CAPTION_PX), paper)
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = height + CAPTION_PX // 2
    draw.rectangle([6, y - 2, 6 + bar_px, y + 2], fill=ink)
    label = f"{bar_um:g} um" if bar_um < 1000 else f"{bar_um / 1000:g} mm"
    try:
        font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    draw.text((12 + bar_px, y - 8), f"{label}   ({um_per_px:g} um/px)", fill=ink, font=font)
    return canvas
