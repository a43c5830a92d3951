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


def load_linear_rgb(source) -> np.ndarray:
    """(rows, cols, 3) float32 linear RGB in 0..1 from a path, PIL image or uint8/float array."""
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
    if arr.dtype == np.uint8:
        return SRGB_8[arr]
    if arr.dtype == np.uint16:
        return _srgb_lut(65536)[arr]
    arr = arr.astype(np.float32)
    if not np.isfinite(arr).all():
        raise LasergenError("photo has non-finite pixel values")
    return arr  # float input: taken as linear already


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


def local_scale_px_per_um(H: np.ndarray, u, v, step_um: float = 1.0) -> np.ndarray:
    """sqrt(|det J|) of the homography at (u, v): image pixels per design um (geometric mean of axes)."""
    x0, y0 = project(H, u, v)
    xu, yu = project(H, np.asarray(u) + step_um, v)
    xv, yv = project(H, u, np.asarray(v) + step_um)
    with np.errstate(invalid="ignore"):
        det = (xu - x0) * (yv - y0) - (xv - x0) * (yu - y0)
        return np.sqrt(np.abs(det)) / step_um
