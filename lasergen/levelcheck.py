"""Level-by-level check: does each view image show what the levels manifest promises?

Images are in a known machine frame (a `Frame`: machine X of the left edge, machine Y of the
top edge, µm per pixel; image rows grow downwards), as simulator renders are. Each pattern
cell is the mean of a 3x3 set of bilinear samples in its central 60 %, on the glow (brightest
colour channel, in linear light) above the image's background (5th percentile).
- emission views (uv365, uv365_lpNNN): a cell glows when it exceeds DETECT_FRACTION of the
  brightest cells (99th percentile): half maximum, the usual edge of a blurred feature, so
  that glow spreading into a neighbour or a dim leak (single-pass red behind the filter,
  ~1/40) stays dark while a real leak (after a hot heat treatment) shows;
  the score is IoU = |glowing ∩ target| / |glowing ∪ target|, passing at IOU_MIN.
- daylight: the mean colour of written cells vs unwritten cells as ΔE*ab (CIE 1976, sRGB D65);
  "nothing to see" passes below DELTA_E_MAX (PHYSICS.md B.7).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from lasergen.colour import srgb8_to_lab, srgb8_to_linear
from lasergen.levels import expected_views, unpack_mask

DETECT_FRACTION = 0.5
IOU_MIN = 0.9
DELTA_E_MAX = 2.0
SUB = np.array([-0.3, 0.0, 0.3])


@dataclass(frozen=True)
class Frame:
    x_left_mm: float
    y_top_mm: float
    um_per_px: float


@dataclass(frozen=True)
class Grid:
    """The pattern's cell grid, as recorded in a job manifest."""
    origin_mm: tuple[float, float]
    pitch_um: float
    shape: tuple[int, int]

    @classmethod
    def from_manifest(cls, manifest: dict) -> "Grid":
        g = manifest["grid"]
        return cls(tuple(g["origin_mm"]), float(g["pitch_um"]), tuple(g["shape"]))


def cell_means(image: np.ndarray, grid: Grid, frame: Frame) -> np.ndarray:
    """Per-cell mean of a 2-D (glow) or 3-D (colour) image: shape grid.shape (+ channels); NaN off the image."""
    rows, cols = grid.shape
    p_mm = grid.pitch_um / 1000.0
    i = (np.arange(rows)[:, None, None, None] + 0.5 + SUB[None, None, :, None])  # cell row + offset
    j = (np.arange(cols)[None, :, None, None] + 0.5 + SUB[None, None, None, :])
    x_mm = grid.origin_mm[0] + j * p_mm
    y_mm = grid.origin_mm[1] + (rows - i) * p_mm
    s_mm = frame.um_per_px / 1000.0
    c = (x_mm - frame.x_left_mm) / s_mm - 0.5
    r = (frame.y_top_mm - y_mm) / s_mm - 0.5
    r, c = np.broadcast_arrays(r, c)
    coords = np.stack([r.ravel(), c.ravel()])
    planes = [image] if image.ndim == 2 else [image[..., k] for k in range(image.shape[2])]
    out = [ndimage.map_coordinates(p.astype(np.float32), coords, order=1, mode="constant", cval=np.nan)
           .reshape(r.shape).mean(axis=(2, 3)) for p in planes]
    return out[0] if image.ndim == 2 else np.stack(out, axis=-1)


def inside(cells: np.ndarray) -> np.ndarray:
    """Cells the image covers (cells beyond its edge came back NaN)."""
    return ~np.isnan(cells) if cells.ndim == 2 else ~np.isnan(cells).any(axis=-1)


def glow(rgb: np.ndarray) -> np.ndarray:
    """Linear-light glow (brightest channel) above the background."""
    g = srgb8_to_linear(rgb)
    g = g.max(axis=2) if g.ndim == 3 else g
    return g - np.percentile(g, 5)


def check_emission(name: str, rgb: np.ndarray, target: np.ndarray, grid: Grid, frame: Frame) -> dict:
    cells = cell_means(glow(rgb), grid, frame)
    seen = inside(cells)
    bright = np.percentile(cells[seen], 99) if seen.any() else 0.0
    # off-image cells read 0: a target cell beyond the image's edge counts as missing
    lit = (np.nan_to_num(cells) > DETECT_FRACTION * bright) if bright > 0 else np.zeros_like(target)
    union = int((lit | target).sum())
    iou = float((lit & target).sum() / union) if union else 1.0
    return {"view": name, "kind": "level", "target_px": int(target.sum()), "glowing_px": int(lit.sum()),
            "missing_px": int((target & ~lit).sum()), "extra_px": int((lit & ~target).sum()),
            "iou": round(iou, 4), "ok": iou >= IOU_MIN,
            "message": f"{name}: IoU {iou:.3f} with its target ({int((target & ~lit).sum())} px missing, "
                       f"{int((lit & ~target).sum())} px extra)"}


def check_daylight(rgb: np.ndarray, written: np.ndarray, grid: Grid, frame: Frame) -> dict:
    cells = cell_means(np.asarray(rgb, dtype=np.float32), grid, frame)
    seen = inside(cells)
    written, clear = written & seen, ~written & seen  # compare only what the image covers
    if not written.any() or not clear.any():
        return {"view": "daylight", "kind": "level", "ok": True, "delta_e": 0.0, "message": "daylight: nothing written"}
    lab_in = srgb8_to_lab(cells[written].mean(axis=0))
    lab_out = srgb8_to_lab(cells[clear].mean(axis=0))
    delta_e = float(np.linalg.norm(lab_in - lab_out))
    return {"view": "daylight", "kind": "level", "delta_e": round(delta_e, 3), "ok": delta_e < DELTA_E_MAX,
            "message": f"daylight: written vs clear glass ΔE*ab {delta_e:.2f} (nothing to see below {DELTA_E_MAX})"}


def check_levels(images: dict[str, np.ndarray], frames: dict[str, Frame], manifest: dict) -> list[dict]:
    """One result per view that the manifest's levels promise and `images` holds."""
    levels = manifest.get("promises", {}).get("levels") or manifest.get("levels")
    if not levels:
        return []
    grid = Grid.from_manifest(manifest)
    targets = expected_views(levels)
    written = targets.get("uv365", np.zeros(grid.shape, bool))
    if "written_mask" in levels:  # levels in depth: every plane's written pixels, for daylight
        written = unpack_mask(levels["written_mask"], grid.shape)
    out = []
    for name, target in targets.items():
        if name not in images:
            out.append({"view": name, "kind": "level", "ok": False, "message": f"{name}: no image to check"})
        elif name == "daylight":
            out.append(check_daylight(images[name], written, grid, frames[name]))
        else:
            out.append(check_emission(name, images[name], target, grid, frames[name]))
    return out
