"""Bitmap source: any image Pillow reads -> exposure mask.

Dark pixels are exposed (as on paper); `invert` flips that. Transparent pixels are composited
onto white, so they are never exposed. Grayscale goes through a threshold, Floyd-Steinberg
error diffusion (Pillow's C implementation) or ordered dithering (8x8 Bayer matrix, vectorised).
Physical size comes from the pixel pitch, or from a target width (resampled with Lanczos).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lasergen import LasergenError
from lasergen.images import check_pixels, open_image
from lasergen.sources import Artwork, take

DITHERS = ("none", "floyd-steinberg", "ordered")


def _bayer(n: int) -> np.ndarray:
    """Normalised Bayer threshold matrix of size n (a power of two), values in (0, 1)."""
    m = np.zeros((1, 1))
    while m.shape[0] < n:
        m = np.block([[4 * m, 4 * m + 2], [4 * m + 3, 4 * m + 1]])
    return (m + 0.5) / m.size


def load_gray(path: Path, page: int | None = None, max_megapixels: float | None = None) -> Image.Image:
    """Open an image as 8-bit grayscale with alpha flattened onto white (one page, size-checked)."""
    with open_image(path, "image", page, max_megapixels,
                    allow="pass --max-megapixels N (spec: max_megapixels) to allow it",
                    page_hint="pass --page N (spec: page) to choose one") as img:
        if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
            rgba = img.convert("RGBA")
            white = Image.new("RGBA", rgba.size, (255, 255, 255, 255))
            img = Image.alpha_composite(white, rgba)
        return img.convert("L")


def gray_to_mask(gray: Image.Image, threshold: float = 0.5, dither: str = "none", invert: bool = False) -> np.ndarray:
    """Grayscale image -> bool mask, True where the pixel is dark enough to expose."""
    if dither not in DITHERS:
        raise LasergenError(f"dither must be one of {DITHERS}, got {dither!r}")
    if not 0.0 <= threshold <= 1.0:
        raise LasergenError(f"threshold must be within 0..1, got {threshold}")
    if invert:
        gray = Image.eval(gray, lambda v: 255 - v)
    if dither == "floyd-steinberg":
        return np.asarray(gray.convert("1", dither=Image.Dither.FLOYDSTEINBERG)) == 0
    darkness = 1.0 - np.asarray(gray, dtype=np.float32) / 255.0
    if dither == "ordered":
        bayer = _bayer(8).astype(np.float32)
        rows, cols = darkness.shape
        tiled = np.tile(bayer, (rows // 8 + 1, cols // 8 + 1))[:rows, :cols]
        return darkness > tiled
    return darkness > threshold


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"path": None, "pixel_um": None, "width_um": None, "threshold": 0.5,
                    "dither": "none", "invert": False, "page": None, "max_megapixels": None}, "bitmap source",
             numbers={"pixel_um": "pitch_um", "width_um": "width_um", "threshold": "threshold", "page": "page",
                      "max_megapixels": "megapixels"}, flags=("invert",), texts=("path", "dither"))
    if not s["path"]:
        raise LasergenError("bitmap source: 'path' is required")
    path = Path(s["path"])
    gray = load_gray(path if path.is_absolute() else base_dir / path, s["page"], s["max_megapixels"])
    pixel_um, width_um = s["pixel_um"], s["width_um"]
    if pixel_um is None and width_um is None:
        pixel_um = 20.0
    if width_um is not None:
        if pixel_um is None:
            pixel_um = width_um / gray.width
            if pixel_um < 0.1:
                raise LasergenError(f"bitmap source: {width_um:g} um over {gray.width} px is {pixel_um:.3g} um per "
                                    f"pixel, finer than the 0.1 um the job can position (give --pixel-um)")
        else:
            cols = max(1, round(width_um / pixel_um))
            rows = max(1, round(gray.height * cols / gray.width))
            check_pixels(cols, rows, s["max_megapixels"], f"image resampled to {width_um:g} um at {pixel_um:g} um",
                         "use a larger pixel pitch or a smaller width")
            gray = gray.resize((cols, rows), Image.Resampling.LANCZOS)
    mask = gray_to_mask(gray, float(s["threshold"]), s["dither"], bool(s["invert"]))
    meta = {"source": "bitmap", "path": str(s["path"])}
    if s["page"] is not None:
        meta["page"] = s["page"]
    return Artwork(mask, float(pixel_um), meta)
