"""Bitmap source: any image Pillow reads -> exposure mask.

Dark pixels are exposed (as on paper); `invert` flips that. Transparent pixels are composited
onto white, so they are never exposed. Grayscale goes through a threshold, Floyd-Steinberg
error diffusion (Pillow's C implementation) or ordered dithering (8x8 Bayer matrix, vectorised).
Physical size comes from the pixel pitch, or from a target width (resampled with Lanczos).
A multi-page image (a TIFF stack) is written one page per depth with `depths_um` (a list, one
depth per page in page order, um below the glass surface): every page becomes a layer at its
depth, all sized and thresholded alike; a count that does not match the pages is refused.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

from lasergen import LasergenError
from lasergen.images import check_pixels, open_image, page_count, wide_to_gray
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
        if img.mode.startswith("I") or img.mode == "F":
            return wide_to_gray(img)
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


def depth_list(value, where: str) -> list[float]:
    """A list of depths (um below the surface), each checked, none repeated."""
    from lasergen.quantities import checked

    if not isinstance(value, (list, tuple)) or not value:
        raise LasergenError(f"{where}: must be a list of depths in um, one per page, got {value!r}")
    depths = [checked("depth_um", v, f"{where}[{i}]") for i, v in enumerate(value)]
    if len(set(depths)) < len(depths):
        raise LasergenError(f"{where}: depth {next(d for d in depths if depths.count(d) > 1):g} um is given twice; "
                            f"two pages at one depth would write the same glass twice")
    return depths


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"path": None, "pixel_um": None, "width_um": None, "threshold": 0.5,
                    "dither": "none", "invert": False, "page": None, "max_megapixels": None, "depths_um": None},
             "bitmap source",
             numbers={"pixel_um": "pitch_um", "width_um": "width_um", "threshold": "threshold", "page": "page",
                      "max_megapixels": "megapixels"}, flags=("invert",), texts=("path", "dither"))
    if not s["path"]:
        raise LasergenError("bitmap source: 'path' is required")
    path = Path(s["path"])
    path = path if path.is_absolute() else base_dir / path
    if s["depths_um"] is None:
        pixel_um, mask = _page_mask(path, s["page"], s)
        meta = {"source": "bitmap", "path": str(s["path"])}
        if s["page"] is not None:
            meta["page"] = s["page"]
        return Artwork(mask, pixel_um, meta)
    if s["page"] is not None:
        raise LasergenError("bitmap source: give page (one page) or depths_um (every page at its depth), not both")
    depths = depth_list(s["depths_um"], "bitmap source depths_um")
    pages = page_count(path)
    if pages != len(depths):
        raise LasergenError(f"bitmap source: {path.name} has {pages} page(s) but {len(depths)} depth(s) were given "
                            f"({', '.join(f'{d:g}' for d in depths)} um): give one depth per page")
    stack = [(depth, _page_mask(path, page if pages > 1 else None, s)) for page, depth in enumerate(depths)]
    pixel_um = stack[0][1][0]
    if any(abs(p - pixel_um) > 1e-9 for _, (p, _) in stack):
        raise LasergenError(f"bitmap source: the pages of {path.name} differ in width, so width_um gives them different "
                            f"pixel pitches; give pixel_um")
    meta = {"source": "bitmap", "path": str(s["path"]), "pages": pages, "depths_um": depths}
    rows, cols = max(m.shape[0] for _, (_, m) in stack), max(m.shape[1] for _, (_, m) in stack)
    padded = [(d, np.pad(m, ((0, rows - m.shape[0]), (0, cols - m.shape[1])))) for d, (_, m) in stack]
    return Artwork(padded[0][1], pixel_um, meta, stack=padded)  # pages top-left aligned on the largest


def _page_mask(path: Path, page: int | None, s: dict) -> tuple[float, np.ndarray]:
    """(pixel pitch in um, exposure mask) of one page, as the spec's size and threshold say."""
    gray = load_gray(path, page, s["max_megapixels"])
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
    return float(pixel_um), gray_to_mask(gray, float(s["threshold"]), s["dither"], bool(s["invert"]))
