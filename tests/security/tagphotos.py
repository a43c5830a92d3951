"""Synthetic photos of a tag for the tests: a layered pattern rendered as glow, then distorted.

Not the physical simulator: a rasterised stand-in (written = green-red glow, rewritten = red),
so the image side can be tested on its own. Distortions model a hand-held phone photo.
"""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageFilter

WRITTEN_RGB = np.array([0.85, 0.75, 0.15])  # green + orange-red glow under 365 nm
REWRITTEN_RGB = np.array([0.95, 0.12, 0.05])  # red after the second pass
FILTER_PASS = {"written": 0.025, "rewritten": 0.8}  # 645 nm long-pass transmission (~40x)
BACKGROUND = 0.03


def exposure_count(pattern) -> np.ndarray:
    return sum(layer.mask.astype(int) * pattern.recipes[layer.recipe].passes for layer in pattern.layers)


def render_views(pattern, px_per_cell: int = 8, margin_cells: int = 6) -> dict[str, Image.Image]:
    n = exposure_count(pattern)
    n = np.pad(n, margin_cells)
    written, rewritten = n == 1, n >= 2
    uv = BACKGROUND + written[..., None] * WRITTEN_RGB + rewritten[..., None] * REWRITTEN_RGB
    filt = BACKGROUND * 0.3 + (written * FILTER_PASS["written"] + rewritten * FILTER_PASS["rewritten"])[..., None] \
        * np.array([1.0, 0.0, 0.0])
    day = np.full(uv.shape, 0.8) - 0.004 * (n > 0)[..., None]
    big = lambda a: np.kron(a, np.ones((px_per_cell, px_per_cell, 1)))
    to_img = lambda a: Image.fromarray((np.clip(a, 0, 1) * 255).astype(np.uint8))
    return {"daylight": to_img(big(day)), "uv365": to_img(big(uv)), "uv365_lp645": to_img(big(filt))}


def distort(img: Image.Image, angle_deg=0.0, perspective=0.0, blur_px=0.0, light_gradient=0.0, noise=0.0,
            seed=0) -> Image.Image:
    """Rotate, tilt, blur, light unevenly and add sensor noise, deterministically."""
    w, h = img.size
    out = img.rotate(angle_deg, resample=Image.BICUBIC, expand=True, fillcolor=(0, 0, 0)) if angle_deg else img
    if perspective:
        w2, h2 = out.size
        d = perspective * w2
        # PERSPECTIVE maps output (x, y) -> input; coefficients from 4 point pairs
        src = [(0, 0), (w2, 0), (w2, h2), (0, h2)]
        dst = [(d, 0.5 * d), (w2 - 0.3 * d, 0), (w2, h2), (0.2 * d, h2 - d)]
        a = []
        for (x, y), (u, v) in zip(dst, src):
            a += [[x, y, 1, 0, 0, 0, -u * x, -u * y], [0, 0, 0, x, y, 1, -v * x, -v * y]]
        coeffs = np.linalg.solve(np.array(a, float), np.array([c for p in src for c in p], float))
        out = out.transform(out.size, Image.PERSPECTIVE, tuple(coeffs), Image.BICUBIC, fillcolor=(0, 0, 0))
    if blur_px:
        out = out.filter(ImageFilter.GaussianBlur(blur_px))
    arr = np.asarray(out).astype(float) / 255
    if light_gradient:
        yy, xx = np.mgrid[0:arr.shape[0], 0:arr.shape[1]]
        field = 1 - light_gradient * (0.6 * xx / arr.shape[1] + 0.4 * yy / arr.shape[0])
        arr = arr * field[..., None]
    if noise:
        arr = arr + np.random.default_rng(seed).normal(0, noise, arr.shape)
    return Image.fromarray((np.clip(arr, 0, 1) * 255).astype(np.uint8))
