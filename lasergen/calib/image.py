"""Photos as linear light: sRGB decoded (IEC 61966-2-1) so glow adds up and ratios mean something,
plus what every calibration step shares: block-mean decimation and the homography helpers
(design um -> photo px, and the local scale there).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lasergen import LasergenError


def _srgb_lut(levels: int) -> np.ndarray:
    c = np.arange(levels, dtype=np.float64) / (levels - 1)
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4).astype(np.float32)


SRGB_8 = _srgb_lut(256)


def load_linear_planes(source) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(R, G, B) as contiguous float32 linear planes (cheaper than slicing an RGB array)."""
    arr = load_encoded(source)
    if arr.dtype in (np.uint8, np.uint16):
        lut = SRGB_8 if arr.dtype == np.uint8 else _srgb_lut(65536)
        return tuple(lut[np.ascontiguousarray(arr[..., k])] for k in range(3))
    return tuple(np.ascontiguousarray(arr[..., k], dtype=np.float32) for k in range(3))


def load_linear_rgb(source) -> np.ndarray:
    """(rows, cols, 3) float32 linear RGB in 0..1 from a path, PIL image or uint8/float array."""
    arr = load_encoded(source)
    if arr.dtype == np.uint8:
        return SRGB_8[arr]
    if arr.dtype == np.uint16:
        return _srgb_lut(65536)[arr]
    return arr.astype(np.float32)


def load_encoded(source) -> np.ndarray:
    """The image as stored: (rows, cols, 3) uint8/uint16 sRGB, or float taken as linear already."""
    if isinstance(source, (str, Path)):
        try:
            with Image.open(source) as img:
                img.load()
                arr = _pil_to_array(img)
        except FileNotFoundError:
            raise LasergenError(f"photo not found: {source}") from None
        except (UnidentifiedImageError, OSError, Image.DecompressionBombError) as exc:
            raise LasergenError(f"cannot read photo {source}: {exc}") from None
    elif isinstance(source, Image.Image):
        arr = _pil_to_array(source)
    else:
        arr = np.asarray(source)
    if arr.ndim == 2:
        arr = np.repeat(arr[..., None], 3, axis=2)
    if arr.ndim != 3 or arr.shape[2] < 3 or min(arr.shape[:2]) < 16:
        raise LasergenError(f"photo must be an RGB image of at least 16 x 16 px, got shape {arr.shape}")
    arr = arr[..., :3]
    if arr.dtype in (np.uint8, np.uint16):
        return arr
    if arr.dtype.kind not in "fiu":
        raise LasergenError(f"photo pixels must be numbers, got {arr.dtype}")
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise LasergenError("photo has non-finite pixel values")
    return arr


def _pil_to_array(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        return np.asarray(img).astype(np.uint16)
    return np.asarray(img.convert("RGB"))


def decimate(image: np.ndarray, factor: int) -> np.ndarray:
    """Block mean by an integer factor (channels kept)."""
    if factor <= 1:
        return image
    ny, nx = (image.shape[0] // factor) * factor, (image.shape[1] // factor) * factor
    view = image[:ny, :nx].reshape(ny // factor, factor, nx // factor, factor, *image.shape[2:])
    return view.mean(axis=(1, 3), dtype=np.float32)


def project(H: np.ndarray, u, v) -> tuple[np.ndarray, np.ndarray]:
    """Image (x, y) of design points (u, v) under the homography H."""
    u, v = np.asarray(u, float), np.asarray(v, float)
    w = H[2, 0] * u + H[2, 1] * v + H[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):  # points on the horizon: inf, caught by callers
        return (H[0, 0] * u + H[0, 1] * v + H[0, 2]) / w, (H[1, 0] * u + H[1, 1] * v + H[1, 2]) / w


def local_scale_px_per_um(H: np.ndarray, u, v) -> np.ndarray:
    """Image pixels per design um at (u, v): sqrt(|det J|), with det J = det H / w^3 for a
    homography (w = h31 u + h32 v + h33), the geometric mean of the two axes' scales."""
    w = H[2, 0] * np.asarray(u, float) + H[2, 1] * np.asarray(v, float) + H[2, 2]
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.sqrt(np.abs(np.linalg.det(H) / w ** 3))
