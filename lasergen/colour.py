"""Standard colourimetry (IEC 61966-2-1 sRGB, CIE 1976 L*a*b*, D65), shared by the photo and
level checks in the core and the simulator's renders and report."""

from __future__ import annotations

import numpy as np

LINEAR_SRGB_TO_XYZ = np.array([[0.4124, 0.3576, 0.1805],
                               [0.2126, 0.7152, 0.0722],
                               [0.0193, 0.1192, 0.9505]])
XYZ_TO_LINEAR_SRGB = np.array([[3.2406, -1.5372, -0.4986],
                               [-0.9689, 1.8758, 0.0415],
                               [0.0557, -0.2040, 1.0570]])
D65_WHITE_XYZ = np.array([0.95047, 1.0, 1.08883])


def srgb8_to_linear(rgb: np.ndarray) -> np.ndarray:
    """8-bit sRGB -> linear light in [0, 1] (the standard transfer curve, decoded)."""
    c = np.asarray(rgb, dtype=np.float32) / 255.0
    return np.where(c <= 0.04045, c / 12.92, ((c + 0.055) / 1.055) ** 2.4)


def xyz_to_lab(xyz: np.ndarray, white: np.ndarray = D65_WHITE_XYZ) -> np.ndarray:
    t = np.asarray(xyz, dtype=float) / white
    f = np.where(t > (6 / 29) ** 3, np.cbrt(t), t / (3 * (6 / 29) ** 2) + 4 / 29)
    return np.stack([116 * f[..., 1] - 16, 500 * (f[..., 0] - f[..., 1]), 200 * (f[..., 1] - f[..., 2])], axis=-1)


def srgb8_to_lab(rgb: np.ndarray) -> np.ndarray:
    return xyz_to_lab(srgb8_to_linear(rgb).astype(float) @ LINEAR_SRGB_TO_XYZ.T)
