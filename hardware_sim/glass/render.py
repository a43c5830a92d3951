"""Renders: XYZ fields -> 8-bit sRGB images as seen from the laser side, with a scale bar.

Orientation: simulation arrays are indexed [iy, ix] with iy growing with machine +Y; images have
row 0 at the top. `machine_to_image` is the one place that flips rows (and never columns), so
the image shows the sample as the laser (and a microscope above it) sees it: machine +X to the
right, +Y up. A written "F" reads "F" (tested).

Scale: `um_per_px` resamples to a microscope scale (coarser than the simulation grid: the
caller box-averages the phase maps first, see `simulate.Prediction.sample_at`; finer:
nearest-neighbour, a magnified view);
`whole_mark` picks the finest scale at which the whole field fits in `max_px`. The scale bar
sits in a caption strip under the image, so it never covers the sample (or a QR quiet zone),
with the label of the view: its name, the excitation, the filter, the gain (camera exposure
relative to the plain UV view) and the tone curve, so no image claims more than it shows.

Colour: XYZ -> linear sRGB; a colour brighter than the display's white is darkened as a whole
(all channels scaled by the largest), never clipped channel by channel; a colour outside the
gamut (monochromatic 514 nm green, 655 nm red) keeps its CIELAB lightness and hue angle and
loses chroma until it fits (not blended toward white): light above 645 nm stays a deep red
instead of turning pink, and a saturated feature keeps its colour. Tone: daylight and the plain UV view are encoded with the
sRGB curve (display-referred, as a phone photo is, and what the QR decode margin is measured
on); filtered views are encoded linearly (pixel value proportional to luminance, up to the
view's white), like a photograph with a linear camera curve, because what they show is a
contrast: behind the 645 nm filter single-pass red at 1/20 of the rewritten shows at 1/20,
where the sRGB curve would lift it to a quarter and make level 3 look leaky. Each caption says
which tone its image has.

Pixels go through the compiled kernel `kernels_c/display.c` when the install built it (the same
steps, a block of pixels at a time), else through numpy strip by strip: `to_display8`.
"""

from __future__ import annotations

import struct
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from hardware_sim.glass.cie import linear_to_srgb8, srgb8_table
from lasergen import kernels
from lasergen.colour import D65_WHITE_XYZ, LINEAR_SRGB_TO_XYZ, XYZ_TO_LINEAR_SRGB

DISPLAY_KERNEL = kernels.optional("hardware_sim.glass._display")  # None: the numpy path renders
_F32_TO_LINEAR = np.ascontiguousarray(XYZ_TO_LINEAR_SRGB, np.float32)
_F32_TO_XYZ = np.ascontiguousarray(LINEAR_SRGB_TO_XYZ, np.float32)
_F32_WHITE = np.ascontiguousarray(D65_WHITE_XYZ, np.float32)

NICE_STEPS = (1, 2, 5)
CAPTION_PX = 28


EXCITATION_NM = 365.0


@dataclass
class Rendered:
    view: str
    rgb: np.ndarray        # (rows, cols, 3) uint8, image orientation, without caption
    um_per_px: float
    label: str = ""        # view, excitation, filter, gain, tone (printed in the caption)
    tone: str = "srgb"

    def to_pil(self, scale_bar: bool = True, dark: bool = True) -> Image.Image:
        image = Image.fromarray(self.rgb, "RGB")
        return with_scale_bar(image, self.um_per_px, dark, self.label) if scale_bar else image


def view_label(view) -> dict:
    """What a render shows, for its caption and for report.json."""
    if view is None:
        return {"text": ""}
    if view.kind == "transmission":
        out = {"view": view.name, "light": "white light (D65) transmitted", "filter": None, "gain": 1.0, "tone": "srgb"}
        return {**out, "text": f"{view.name}: white light (D65), transmitted, sRGB tone"}
    f = view.filter
    filt = None if f is None else (f"long-pass {f.edge_nm:g} nm" if f.kind == "longpass"
                                   else f"band-pass {f.edge_nm:g} nm, {f.band_nm:g} nm wide")
    tone = tone_of(view)
    text = (f"{view.name}: excitation {EXCITATION_NM:g} nm, " + (filt or "no filter")
            + f", gain x{view.gain:g}" + ("" if view.gain == 1 else " vs uv365") + f", {tone} tone")
    return {"view": view.name, "excitation_nm": EXCITATION_NM, "filter": filt, "gain": float(view.gain),
            "gain_relative_to": "uv365", "tone": tone, "text": text}


def tone_of(view) -> str:
    return "linear" if view is not None and view.kind == "emission" and view.filter is not None else "srgb"


STRIP_PX = 16384  # pixels converted at a time: 16 k x 3 float32 temporaries fit a core's L2 cache
GAMUT_STEPS = 8  # bisection steps on the chroma factor: 1/256, below one 8-bit level
INVISIBLE = 0.25 / 255  # darker than a quarter of one 8-bit level: clipping cannot show


def _f_inverse(f: np.ndarray) -> np.ndarray:
    """CIELAB's f^-1 (cube above 6/29, linear below)."""
    return np.where(f > np.float32(6 / 29), f * f * f, np.float32(3 * (6 / 29) ** 2) * (f - np.float32(4 / 29)))


def _lab_f(xyz: np.ndarray):
    """CIELAB in float32 as the search uses it: fy = (L* + 16) / 116, fa = a* / 500, fb = b* / 200
    (f the cube root above (6/29)^3, linear below), without the float64 L*a*b* round trip."""
    t = xyz / np.asarray(D65_WHITE_XYZ, np.float32)
    f = np.where(t > np.float32((6 / 29) ** 3), np.cbrt(t), t * np.float32(1 / (3 * (6 / 29) ** 2)) + np.float32(4 / 29))
    return f[:, 1], f[:, 0] - f[:, 1], f[:, 1] - f[:, 2]


def _chroma_scaled_rgb(fy, fa, fb, s, y_term) -> list[np.ndarray]:
    """Linear sRGB channels of CIELAB with L fixed (fy; its Y's share `y_term` per channel) and
    a*, b* times s (fa = a*/500, fb = b*/200). Column arithmetic: no N x 3 temporaries."""
    x = _f_inverse(fy + s * fa) * np.float32(D65_WHITE_XYZ[0])
    z = _f_inverse(fy - s * fb) * np.float32(D65_WHITE_XYZ[2])
    m = XYZ_TO_LINEAR_SRGB.astype(np.float32)
    return [m[c, 0] * x + y_term[c] + m[c, 2] * z for c in range(3)]


def _min3(channels) -> np.ndarray:
    return np.minimum(np.minimum(channels[0], channels[1]), channels[2])


def to_display(rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB (any values) -> inside [0, 1]^3, keeping CIELAB hue: a colour brighter than
    white is scaled as a whole (lower lightness), then one outside the gamut keeps its L* and
    hue angle and loses chroma (bisection on the chroma factor) until no channel is negative.
    Pixels too dark to show are only clipped (most of an emission view is dark field)."""
    rgb = np.asarray(rgb, np.float32)
    flat = rgb.reshape(-1, 3)
    r, g, b = flat[:, 0], flat[:, 1], flat[:, 2]
    high = np.maximum(np.maximum(r, g), b)
    low = np.minimum(np.minimum(r, g), b)
    bright = high > 1.0
    if bright.any():
        out = np.where(bright[:, None], flat / np.maximum(high, np.float32(1e-30))[:, None], flat)
    else:  # the common case: nothing to darken
        out = flat.copy()
    bad = low < 0
    bad &= high > INVISIBLE
    bad = np.flatnonzero(bad) if bad.any() else bad[:0].nonzero()[0]
    if bad.size:
        fy, fa, fb = _lab_f(out[bad] @ LINEAR_SRGB_TO_XYZ.T.astype(np.float32))
        y = _f_inverse(fy) * np.float32(D65_WHITE_XYZ[1])
        y_term = [np.float32(XYZ_TO_LINEAR_SRGB[c, 1]) * y for c in range(3)]
        lo, hi = np.zeros(bad.size, np.float32), np.ones(bad.size, np.float32)
        for _ in range(GAMUT_STEPS):
            mid = np.float32(0.5) * (lo + hi)
            inside = _min3(_chroma_scaled_rgb(fy, fa, fb, mid, y_term)) >= 0
            lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
        out[bad] = np.stack(_chroma_scaled_rgb(fy, fa, fb, lo, y_term), axis=1)
    return np.clip(out, 0.0, 1.0, out=out).reshape(rgb.shape)


def encode(rgb01: np.ndarray, tone: str) -> np.ndarray:
    if tone == "linear":
        return (rgb01 * np.float32(255) + np.float32(0.5)).astype(np.uint8)
    return linear_to_srgb8(rgb01)


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
               background=(0.0, 0.0, 0.0), view_spec=None) -> Rendered:
    """XYZ field (machine orientation, `field_pitch_um` per pixel) -> image at `um_per_px`.
    `view_spec` (an optics.View) gives the label and the tone: linear for emission views."""
    small = np.ascontiguousarray(resample(xyz, field_pitch_um, um_per_px), np.float32)
    tone = tone_of(view_spec)
    rgb = to_display8(small.reshape(-1, 3), np.asarray(background, np.float32), tone).reshape(small.shape)
    return Rendered(view, np.ascontiguousarray(machine_to_image(rgb)), float(um_per_px),
                    view_label(view_spec)["text"], tone)


def to_display8(xyz: np.ndarray, offset: np.ndarray, tone: str, kernel=...) -> np.ndarray:
    """(n, 3) XYZ pixels -> (n, 3) uint8 display pixels: linear sRGB plus `offset` (the view's
    background), `to_display`, then the tone. The compiled kernel (`kernels_c/display.c`) when it
    was built, else numpy strip by strip (the reference); `kernel=None` forces the reference."""
    kernel = DISPLAY_KERNEL if kernel is ... else kernel
    xyz = np.ascontiguousarray(xyz, np.float32)
    rgb = np.empty(xyz.shape, np.uint8)
    if kernel is not None:
        kernel.xyz_to_display(xyz, rgb, _F32_TO_LINEAR, _F32_TO_XYZ, _F32_WHITE, np.ascontiguousarray(offset, np.float32),
                              INVISIBLE, GAMUT_STEPS, None if tone == "linear" else srgb8_table())
        return rgb
    for i in range(0, len(xyz), STRIP_PX):  # strip by strip: each strip's temporaries stay in cache
        rgb[i:i + STRIP_PX] = encode(to_display(xyz[i:i + STRIP_PX] @ _F32_TO_LINEAR.T + offset), tone)
    return rgb


def save_png(image: Image.Image, path: str | Path, compress_level: int = 1) -> None:
    """An 8-bit RGB PNG (RFC 2083) with the Up filter on every row, deflated at `compress_level`.
    Pillow tries every filter on every row and keeps the best; for these renders (smooth fields,
    flat dark backgrounds) Up alone gives files within 1 % of that size at half the CPU time."""
    rows = np.asarray(image.convert("RGB"), np.uint8).reshape(image.height, -1)
    filtered = np.empty((rows.shape[0], rows.shape[1] + 1), np.uint8)
    filtered[:, 0] = 2                      # filter type Up: each byte minus the one above it
    filtered[0, 0] = 0                      # the first row has nothing above: filter None
    filtered[0, 1:] = rows[0]
    np.subtract(rows[1:], rows[:-1], out=filtered[1:, 1:])

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", image.width, image.height, 8, 2, 0, 0, 0)  # 8 bit, RGB, no interlace
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(filtered.tobytes(), compress_level)) + chunk(b"IEND", b""))


def nice_length_um(width_um: float) -> float:
    """A 1-2-5 length near a fifth of the image width."""
    target = width_um / 5
    exponent = np.floor(np.log10(target))
    steps = [s * 10 ** exponent for s in NICE_STEPS + (10,)]
    return float(max(s for s in steps if s <= target)) if target >= 1 else 1.0


def with_scale_bar(image: Image.Image, um_per_px: float, dark: bool = True, label: str = "") -> Image.Image:
    width, height = image.size
    bar_um = nice_length_um(width * um_per_px)
    bar_px = max(1, int(round(bar_um / um_per_px)))
    ink, paper = ((235, 235, 235), (0, 0, 0)) if dark else ((20, 20, 20), (245, 245, 245))
    canvas = Image.new("RGB", (width, height + CAPTION_PX), paper)
    canvas.paste(image, (0, 0))
    draw = ImageDraw.Draw(canvas)
    y = height + CAPTION_PX // 2
    draw.rectangle([6, y - 2, 6 + bar_px, y + 2], fill=ink)
    try:
        font = ImageFont.load_default(size=14)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    scale = f"{bar_um:g} um" if bar_um < 1000 else f"{bar_um / 1000:g} mm"
    draw.text((12 + bar_px, y - 8), f"{scale}   ({um_per_px:g} um/px)", fill=ink, font=font)
    if label:
        canvas = _with_label(canvas, label, ink, paper, font)
    return canvas


def _with_label(image: Image.Image, label: str, ink, paper, font) -> Image.Image:
    """A second caption line: what the image is (view, excitation, filter, gain, tone)."""
    width, height = image.size
    out = Image.new("RGB", (width, height + CAPTION_PX), paper)
    out.paste(image, (0, 0))
    ImageDraw.Draw(out).text((6, height + CAPTION_PX // 2 - 8), label, fill=ink, font=font)
    return out
