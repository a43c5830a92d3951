"""Focal volume and depth: where in the glass the beam deposits its energy, and how far apart
in depth two exposures must be not to interact.

Model (constants in the material profile's [focus] and [thermal] tables):
  Gaussian focus   w0 = lambda / (pi NA), Rayleigh range z_R = pi n w0^2 / lambda = n w0 / NA, so
                   the focus is n / NA times longer than wide (6 for NA 0.25 in n = 1.5 glass).
                   At the paper's energies (hundreds of uJ) the absorbing volume is far wider than
                   w0 (nonlinear absorption, r0 ~ 10 um); it keeps the focus's aspect ratio:
                   an elongated Gaussian of lateral radius r0 and axial radius r_z = r0 n / NA.
  focal shift      focusing through the flat surface moves the focus deeper than the stage
                   moved: the marginal ray of NA refracts to asin(NA / n), so a stage (or
                   objective) move dz shifts the focus by dz * tan(asin NA) / tan(asin(NA / n))
                   (n in the paraxial limit; 1.53 for NA 0.25, n = 1.5).
  depth            Z convention: machine Z is the focus axis and +Z moves the focus deeper into the
                   glass (the sample rises towards the objective), so the controller's usual
                   positive travel (GRBL: 0..$132 with soft limits) reaches every depth from the
                   reference down: depth = depth_at_z0 + (z - dz/dx x - dz/dy y) * shift * 1000 um,
                   depth_at_z0 the focus depth at Z = 0 over X = Y = 0 (the paper focuses 0.2 mm
                   below the surface), dz/dx, dz/dy the surface's tilt (a job's focus model
                   carries it); a history with Z < 0 is clipped at the surface. `z_for_depth_mm` inverts it for depth planning.
  interaction      two exposures share glass only if their melt zones overlap: axially the melt
                   reaches r_melt + (r_z - r0) from the focal plane, so exposures further apart
                   in depth than twice that do not interact (heat aside, which `thermal` carries
                   in three dimensions). `depth_planes` groups exposures into planes that far apart.
"""

from __future__ import annotations

import numpy as np

from hardware_sim.glass.material import Material


def focal_shift_factor(material: Material) -> float:
    na, n = material.focus["numerical_aperture"], material.focus["refractive_index"]
    return float(np.tan(np.arcsin(na)) / np.tan(np.arcsin(na / n)))


def axial_radius_um(material: Material) -> float:
    f = material.focus
    return material.thermal["r0_um"] * f["refractive_index"] / f["numerical_aperture"]


def depth_um(material: Material, z_mm, x_mm=0.0, y_mm=0.0) -> np.ndarray:
    """Focus depth below the surface for machine Z (mm; +Z deeper) at machine X, Y (mm): a tilted
    surface (`surface_tilt` = (dz/dx, dz/dy), the surface's Z rising by dz/dx per mm of X) lies
    higher or lower there than at X = Y = 0, so the same Z is deeper or shallower."""
    dz_dx, dz_dy = material.focus.get("surface_tilt", (0.0, 0.0))
    surface_z = dz_dx * np.asarray(x_mm, dtype=float) + dz_dy * np.asarray(y_mm, dtype=float)
    depth = material.focus["depth_at_z0_um"] + (np.asarray(z_mm, dtype=float) - surface_z) * 1000.0 \
        * focal_shift_factor(material)
    return np.maximum(depth, 0.0)


def z_for_depth_mm(material: Material, depth_um_) -> np.ndarray:
    """Machine Z (mm) that puts the focus `depth_um_` below the surface."""
    return (np.asarray(depth_um_, dtype=float) - material.focus["depth_at_z0_um"]) / (1000.0 * focal_shift_factor(material))


def axial_interaction_um(material: Material, melt_radius_um: float) -> float:
    """Depth separation beyond which two exposures' melt zones cannot overlap."""
    return 2.0 * (melt_radius_um + axial_radius_um(material) - material.thermal["r0_um"])


def depth_planes(depths_um: np.ndarray, spacing_um: float) -> tuple[np.ndarray, np.ndarray]:
    """Group depths into planes: a new plane wherever sorted depths jump by more than `spacing_um`.
    Returns (plane index per depth, plane depth = mean of its members)."""
    d = np.asarray(depths_um, dtype=float)
    if d.size == 0:
        return np.zeros(0, np.int64), np.zeros(0)
    levels, inverse = np.unique(np.round(d, 3), return_inverse=True)
    plane_of_level = np.concatenate([[0], np.cumsum(np.diff(levels) > spacing_um)])
    plane = plane_of_level[inverse]
    centres = np.array([d[plane == p].mean() for p in range(plane.max() + 1)])
    return plane, centres
