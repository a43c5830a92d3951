"""Photos of a glowing QR mark: flatten the light, locate the code, sample its module grid.

1. Glow = brightest colour channel (written spots glow green-red, rewritten ones red; either
   must count as bright), as float.
2. Uneven light: divide by a wide Gaussian blur of the UV photo (sigma = 1/8 of the shorter
   side), a flat-field estimate; the filtered photo is divided by the *same* field, because it
   is too sparse to estimate its own.
3. Locate: zxing-cpp finds the QR code (rotation, perspective, light-on-dark) and reports its
   four corners in symbol orientation, plus version, error level and data mask. When a blurred
   photo does not decode, unsharp-masked and smoothed versions are tried (short ladders of radii).
4. A homography (direct linear transform on the four corners) maps module coordinates
   (u = column, v = row, 0..N) to photo pixels; each module is the mean of a 3x3 set of
   bilinear samples in its central half, in both photos (assumed taken from the same pose;
   a small shift between them is removed by FFT cross-correlation).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image
from scipy import ndimage

from lasergen import LasergenError
from lasergen.images import open_image, wide_to_gray

SUBSAMPLE = np.array([-0.25, 0.0, 0.25])  # offsets within a module, in modules
FIELD_FRACTION = 1 / 8  # flat-field blur sigma as a fraction of the shorter image side
MAX_SHIFT_FRACTION = 0.1  # largest shift accepted between the UV and filtered photos
UNSHARP_SIGMAS_PX = (2.0, 4.0, 6.0, 8.0)
UNSHARP_AMOUNT = 2.0
SMOOTH_SIGMAS_PX = (1.0, 2.0, 4.0)


@dataclass
class Located:
    text: str
    corners_px: np.ndarray  # 4x2 (x, y): top-left, top-right, bottom-right, bottom-left of the symbol
    version: int
    error: str
    data_mask: int

    @property
    def modules(self) -> int:
        return 17 + 4 * self.version


@dataclass
class Sampled:
    located: Located
    uv: np.ndarray  # N x N module means of the flattened UV photo
    filtered: np.ndarray | None  # same for the filtered photo
    shift_px: tuple[float, float]  # (dy, dx) applied to the filtered photo


def _rgb(img: Image.Image) -> Image.Image:
    """8-bit RGB; a 16-bit or float photo on its own full scale (Pillow's conversion clips it)."""
    return wide_to_gray(img).convert("RGB") if img.mode.startswith("I") or img.mode == "F" else img.convert("RGB")


def load_glow(source, max_megapixels: float | None = None) -> np.ndarray:
    """An image (path, PIL image or array) as float glow: max over colour channels, 0..1.
    A path is opened with the size limit and single-page rule of `lasergen.images`."""
    if isinstance(source, (str, Path)):
        with open_image(source, "photo", None, max_megapixels,
                        page_hint="save the page to check as a file of its own") as img:
            arr = np.asarray(_rgb(img))
    elif isinstance(source, Image.Image):
        arr = np.asarray(_rgb(source))
    else:
        arr = np.asarray(source)
    if arr.ndim not in (2, 3) or min(arr.shape[:2]) < 21:
        raise LasergenError(f"photo: expected an image at least 21 x 21 px, got an array of shape {arr.shape}")
    integer = np.issubdtype(arr.dtype, np.integer)
    arr = arr.astype(np.float32)
    if integer or arr.max() > 1.5:  # 8-bit values
        arr /= 255.0
    if not np.isfinite(arr).all():
        raise LasergenError("photo: has NaN or infinite pixel values")
    return arr[..., :3].max(axis=2) if arr.ndim == 3 else arr


def flat_field(glow: np.ndarray) -> np.ndarray:
    sigma = max(4.0, FIELD_FRACTION * min(glow.shape))
    field = ndimage.gaussian_filter(glow, sigma, mode="nearest")
    return field + 0.05 * float(field.mean()) + 1e-6


def to_u8(image: np.ndarray) -> np.ndarray:
    lo, hi = np.percentile(image, [1, 99.5])
    return (np.clip((image - lo) / max(hi - lo, 1e-9), 0, 1) * 255).astype(np.uint8)


def locate(image_u8: np.ndarray) -> Located | None:
    found = zxingcpp.read_barcodes(image_u8, formats=zxingcpp.BarcodeFormat.QRCode, try_invert=True)
    if not found:
        return None
    best = max(found, key=lambda b: abs(_area(_corners(b))))
    extra = best.extra or {}
    try:
        version = int(extra.get("Version", 0))
    except ValueError:  # Micro QR reports "M1".."M4"
        raise LasergenError(f"check: Micro QR {extra.get('Version')} is not supported by the photo check") from None
    return Located(best.text, _corners(best), version, str(extra.get("ECLevel", best.ec_level)),
                   int(extra.get("DataMask", -1)))


def _corners(barcode) -> np.ndarray:
    p = barcode.position
    return np.array([[q.x, q.y] for q in (p.top_left, p.top_right, p.bottom_right, p.bottom_left)], dtype=float)


def _area(c: np.ndarray) -> float:
    x, y = c[:, 0], c[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def homography(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """3x3 H with dst ~ H @ src for four point pairs (DLT, h33 = 1)."""
    rows, rhs = [], []
    for (x, y), (u, v) in zip(src, dst):
        rows += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        rhs += [u, v]
    try:
        h = np.linalg.solve(np.array(rows, float), np.array(rhs, float))
    except np.linalg.LinAlgError:
        raise LasergenError("check: the code's corners are degenerate (no homography)") from None
    return np.append(h, 1.0).reshape(3, 3)


def module_points(n: int, H: np.ndarray) -> np.ndarray:
    """Photo (x, y) of the sub-samples of every module: shape (n, n, k, 2)."""
    centre = np.arange(n) + 0.5
    offs = np.array([(a, b) for a in SUBSAMPLE for b in SUBSAMPLE])
    u = centre[None, :, None] + offs[None, None, :, 0]
    v = centre[:, None, None] + offs[None, None, :, 1]
    u, v = np.broadcast_arrays(u, v)
    pts = np.stack([u, v, np.ones_like(u)], axis=-1) @ H.T
    return pts[..., :2] / pts[..., 2:3]


def sample_modules(image: np.ndarray, points: np.ndarray) -> np.ndarray:
    coords = np.stack([points[..., 1].ravel(), points[..., 0].ravel()])
    values = ndimage.map_coordinates(image, coords, order=1, mode="nearest")
    return values.reshape(points.shape[:-1]).mean(axis=-1)


def estimate_shift(reference: np.ndarray, moving: np.ndarray) -> tuple[float, float]:
    """(dy, dx) such that moving(y + dy, x + dx) ~ reference(y, x), by FFT cross-correlation."""
    a = reference - reference.mean()
    b = moving - moving.mean()
    corr = np.fft.irfft2(np.fft.rfft2(b) * np.conj(np.fft.rfft2(a)), s=a.shape)
    dy, dx = np.unravel_index(int(np.argmax(corr)), corr.shape)
    dy = dy - a.shape[0] if dy > a.shape[0] // 2 else dy
    dx = dx - a.shape[1] if dx > a.shape[1] // 2 else dx
    limit = MAX_SHIFT_FRACTION * min(a.shape)
    return (float(dy), float(dx)) if max(abs(dy), abs(dx)) <= limit else (0.0, 0.0)


def candidates(uv: np.ndarray, uv_flat: np.ndarray):
    """Images to try the decoder on, cheapest first: flattened, as taken, then unsharp-masked
    (img + 2 (img - blur)) at a ladder of radii, which restores the gaps between glowing modules
    that blur and glow spreading close, then smoothed, which merges scan lines that a close-up
    resolves into stripes."""
    yield uv_flat
    yield uv
    for sigma in UNSHARP_SIGMAS_PX:
        yield uv_flat + UNSHARP_AMOUNT * (uv_flat - ndimage.gaussian_filter(uv_flat, sigma))
    for sigma in SMOOTH_SIGMAS_PX:
        yield ndimage.gaussian_filter(uv_flat, sigma)


def sample_pair(uv_source, filtered_source=None, max_megapixels: float | None = None) -> Sampled:
    """Locate the code in the UV photo and sample both photos on its module grid."""
    uv = load_glow(uv_source, max_megapixels)
    field = flat_field(uv)
    uv_flat = uv / field
    located = None
    for candidate in candidates(uv, uv_flat):
        located = locate(to_u8(candidate))
        if located:
            break
    if located is None:
        raise LasergenError("check: no QR code found in the UV photo")
    n = located.modules
    grid = np.array([[0, 0], [n, 0], [n, n], [0, n]], float)
    points = module_points(n, homography(grid, located.corners_px))
    uv_modules = sample_modules(uv_flat, points)
    filtered_modules, shift = None, (0.0, 0.0)
    if filtered_source is not None:
        filtered = load_glow(filtered_source, max_megapixels)
        if filtered.shape != uv.shape:
            raise LasergenError(f"check: filtered photo is {filtered.shape[1]}x{filtered.shape[0]} px, "
                                f"UV photo {uv.shape[1]}x{uv.shape[0]} px; take both from the same pose")
        filtered_flat = filtered / field
        shift = estimate_shift(uv_flat, filtered_flat)
        shifted = points + np.array([shift[1], shift[0]])
        filtered_modules = sample_modules(filtered_flat, shifted)
    return Sampled(located, uv_modules, filtered_modules, shift)
