"""CIE 1931 2-degree colour-matching functions and the sRGB transform.

The table shipped in `data/cie1931_xyz_1nm.csv` (360-830 nm, 1 nm) is generated from the
multi-lobe piecewise-Gaussian fit of Wyman, Sloan and Shirley, "Simple Analytic Approximations
to the CIE XYZ Color Matching Functions", JCGT 2(2), 2013 (their Eq. 2), which matches the
tabulated CIE 1931 functions to well under 1 % of their peaks. Regenerate with
`python -m hardware_sim.glass.cie`.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np

TABLE = Path(__file__).parent / "data" / "cie1931_xyz_1nm.csv"

# (weight, mu_nm, sigma_left_nm, sigma_right_nm) per lobe, Wyman-Sloan-Shirley 2013, Eq. 2
LOBES = {
    "x": ((1.056, 599.8, 37.9, 31.0), (0.362, 442.0, 16.0, 26.7), (-0.065, 501.1, 20.4, 26.2)),
    "y": ((0.821, 568.8, 46.9, 40.5), (0.286, 530.9, 16.3, 31.1)),
    "z": ((1.217, 437.0, 11.8, 36.0), (0.681, 459.0, 26.0, 13.8)),
}



def wyman_fit(wavelength_nm: np.ndarray) -> np.ndarray:
    """x-bar, y-bar, z-bar at the given wavelengths, shape (n, 3)."""
    lam = np.asarray(wavelength_nm, dtype=float)
    out = np.zeros((lam.size, 3))
    for k, lobes in enumerate(LOBES.values()):
        for weight, mu, s_left, s_right in lobes:
            sigma = np.where(lam < mu, s_left, s_right)
            out[:, k] += weight * np.exp(-0.5 * ((lam - mu) / sigma) ** 2)
    return out


@lru_cache(maxsize=1)
def cmf() -> tuple[np.ndarray, np.ndarray]:
    """(wavelength_nm, xyz-bar (n, 3)) from the shipped table."""
    data = np.loadtxt(TABLE, delimiter=",", skiprows=1)
    return data[:, 0], data[:, 1:4]


LUT_LEVELS = 16384


def _encode(c: np.ndarray) -> np.ndarray:
    return np.where(c <= 0.0031308, 12.92 * c, 1.055 * np.power(c, 1 / 2.4) - 0.055)


@lru_cache(maxsize=1)
def srgb8_table() -> np.ndarray:
    """The sRGB curve's 8-bit values at LUT_LEVELS even steps over [0, 1] (what `linear_to_srgb8` looks up)."""
    return np.round(_encode(np.linspace(0.0, 1.0, LUT_LEVELS)) * 255.0).astype(np.uint8)


def linear_to_srgb8(rgb: np.ndarray) -> np.ndarray:
    """Linear sRGB in [0, 1] (clipped) -> 8-bit sRGB with the standard transfer curve (via a
    14-bit lookup table: exact to 1/255 everywhere, several times faster than the power law)."""
    index = (np.clip(rgb, 0.0, 1.0) * np.float32(LUT_LEVELS - 1) + np.float32(0.5)).astype(np.uint16)
    return srgb8_table()[index]


def write_table(path: Path = TABLE) -> None:
    lam = np.arange(360, 831)
    xyz = wyman_fit(lam)
    rows = "\n".join(f"{w},{x:.6f},{y:.6f},{z:.6f}" for w, (x, y, z) in zip(lam, xyz))
    path.write_text("wavelength_nm,x_bar,y_bar,z_bar\n" + rows + "\n")


if __name__ == "__main__":
    write_table()
