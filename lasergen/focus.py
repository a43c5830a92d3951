"""Focus correction: the stage Z that puts the beam's focus at a wanted depth in the glass.

Conventions (the glass model's, `hardware_sim/glass/focus.py`, where they meet):
  depth_um  below the glass surface, in um in the glass, positive downwards, measured along
            the optical axis (the machine's Z).
  Z         the stage's Z in the job's work coordinates, mm. The profile's [focus] `z_axis`
            says which way +Z moves the focus: "deeper" (the sample rises towards the
            objective, or the objective comes down; the glass model's convention) or
            "shallower". `direction` is +1 or -1 accordingly.
  surface   the Z at which the focus lies on the glass surface, as the operator finds it (the
            surface's reflection or first plasma spark): `z_surface_mm` (a flat, level sample),
            or a plane: `surface_points_mm = [[x, y, z], ...]` (three or more measured heights,
            fitted by least squares) or `surface_tilt = [dz/dx, dz/dy]` about `z_surface_mm`
            at X = Y = 0. Z is affine in X and Y, so a straight move in a plane at one depth
            stays straight in X, Y, Z: a tilted sample is written at a constant depth by
            moving Z along each line.
Focal shift (the model, `model` in [focus]): a stage move dz from the surface focus puts the
focus s * dz deep. The objective's rays leave it in a medium of index n0 (`immersion_index`:
1 for a dry objective) and refract at the flat surface into glass of index n (Snell):
  "marginal"  s = tan(asin(NA / n0)) / tan(asin(NA / n))   (default)
              the objective's edge ray meets the surface at r = dz tan(theta0) from the axis
              and, bent to theta = asin(NA / n), crosses the axis r / tan(theta) deep. The
              glass model uses this (its `focal_shift_factor`).
  "paraxial"  s = n / n0, the limit of rays near the axis (z_stage = depth / n in air).
They agree as NA -> 0 and differ by 1.9 % at NA 0.25 in n = 1.5 (1.528 vs 1.5) and by 41 % at
NA 0.8 (2.115): the aberrated focus spreads between the paraxial and the marginal depth, its
intensity maximum in between, so at high NA the model is a choice to calibrate (write at two
stage Z, measure the depths under a microscope) rather than a fact.
  Z = z_surface(X, Y) + direction * depth_um / (1000 s)
Limits: a depth is refused below the glass (`thickness_mm`) and where the stage would have to
bring the objective closer than its free working distance (`working_distance_mm`, in the
immersion medium: the gap shrinks by dz = depth / s, so the deepest focus is 1000 s WD um).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from lasergen import LasergenError
from lasergen.profile_schema import Field, check_table, positive

MODELS = ("marginal", "paraxial")
Z_AXES = {"deeper": 1.0, "shallower": -1.0}
SCHEMA = {
    "refractive_index": positive(help="of the glass at the laser wavelength"),
    "numerical_aperture": positive(help="of the writing objective"),
    "working_distance_mm": positive(help="free working distance of the objective"),
    "thickness_mm": positive(help="of the glass sample"),
    "immersion_index": Field("number", 1.0, 1.0, help="medium between objective and glass (1: air)"),
    "model": Field("choice", "marginal", choices=MODELS, help="focal shift model"),
    "z_axis": Field("choice", "deeper", choices=tuple(Z_AXES), help="which way +Z moves the focus"),
    "z_surface_mm": Field("number", 0.0, help="stage Z with the focus on the glass surface"),
    "surface_points_mm": Field("list", None, item=Field("list", length=3, item=Field("number")),
                               help="[[x, y, z], ...]: measured surface heights (three or more)"),
    "surface_tilt": Field("list", None, length=2, item=Field("number"), help="[dz/dx, dz/dy] of the surface"),
}


def shift_factor(numerical_aperture: float, refractive_index: float, immersion_index: float = 1.0,
                 model: str = "marginal") -> float:
    """Depth in the glass per unit of stage travel (see the module doc)."""
    if model == "paraxial":
        return refractive_index / immersion_index
    return math.tan(math.asin(numerical_aperture / immersion_index)) / math.tan(math.asin(numerical_aperture / refractive_index))


def fit_plane(points) -> tuple[tuple[float, float, float], float]:
    """((z0, dz/dx, dz/dy), rms residual in mm) of the plane z = z0 + a x + b y through points
    (x, y, z) by least squares; refused unless three or more points span an area."""
    p = np.asarray(points, dtype=float).reshape(-1, 3)
    if len(p) < 3:
        raise LasergenError(f"[focus] surface_points_mm: a plane needs three or more measured heights, got {len(p)}")
    design = np.column_stack([np.ones(len(p)), p[:, 0], p[:, 1]])
    span = np.linalg.svd(design[:, 1:] - design[:, 1:].mean(axis=0), compute_uv=False)
    if span[-1] < 1e-6 * max(1.0, span[0]):
        raise LasergenError("[focus] surface_points_mm: the points lie on one line (or one spot); "
                            "give three or more that span an area")
    coef, *_ = np.linalg.lstsq(design, p[:, 2], rcond=None)
    rms = float(np.sqrt(np.mean((design @ coef - p[:, 2]) ** 2)))
    return (float(coef[0]), float(coef[1]), float(coef[2])), rms


@dataclass(frozen=True)
class Focus:
    refractive_index: float
    numerical_aperture: float
    working_distance_mm: float
    thickness_mm: float
    immersion_index: float = 1.0
    model: str = "marginal"
    z_axis: str = "deeper"
    plane: tuple[float, float, float] = (0.0, 0.0, 0.0)  # z_surface = plane[0] + plane[1] x + plane[2] y
    surface_from: str = "z_surface_mm"
    surface_rms_mm: float = 0.0

    @classmethod
    def from_table(cls, table: dict, where: str = "machine profile [focus]") -> "Focus":
        t = check_table(table, SCHEMA, where)
        n, na, n0 = t["refractive_index"], t["numerical_aperture"], t["immersion_index"]
        if n < 1.0:
            raise LasergenError(f"{where}.refractive_index must be >= 1, got {n:g}")
        if not na < min(n, n0):
            raise LasergenError(f"{where}.numerical_aperture {na:g} must be below the immersion index {n0:g} "
                                f"and the glass's {n:g} (no ray reaches the focus otherwise)")
        if t["surface_points_mm"] is not None and t["surface_tilt"] is not None:
            raise LasergenError(f"{where}: give surface_points_mm or surface_tilt, not both")
        plane, source, rms = (t["z_surface_mm"], 0.0, 0.0), "z_surface_mm", 0.0
        if t["surface_points_mm"] is not None:
            try:
                plane, rms = fit_plane(t["surface_points_mm"])
            except LasergenError as exc:
                raise LasergenError(f"{where}: {str(exc).removeprefix('[focus] ')}") from None
            source = "surface_points_mm"
        elif t["surface_tilt"] is not None:
            plane, source = (t["z_surface_mm"], *t["surface_tilt"]), "surface_tilt"
        return cls(n, na, t["working_distance_mm"], t["thickness_mm"], n0, t["model"], t["z_axis"],
                   tuple(float(v) for v in plane), source, rms)

    @property
    def shift(self) -> float:
        return shift_factor(self.numerical_aperture, self.refractive_index, self.immersion_index, self.model)

    @property
    def direction(self) -> float:
        return Z_AXES[self.z_axis]

    @property
    def max_depth_um(self) -> float:
        return min(self.thickness_mm * 1000.0, self.working_distance_mm * self.shift * 1000.0)

    def z_surface_mm(self, x_mm, y_mm) -> np.ndarray:
        z0, a, b = self.plane
        return z0 + a * np.asarray(x_mm, dtype=float) + b * np.asarray(y_mm, dtype=float)

    def z_mm(self, x_mm, y_mm, depth_um) -> np.ndarray:
        """Stage Z that focuses `depth_um` below the surface at (x, y)."""
        return self.z_surface_mm(x_mm, y_mm) + self.direction * np.asarray(depth_um, dtype=float) / (1000.0 * self.shift)

    def depth_um(self, x_mm, y_mm, z_mm) -> np.ndarray:
        """Focus depth below the surface at stage (x, y, z): the inverse of `z_mm`."""
        return (np.asarray(z_mm, dtype=float) - self.z_surface_mm(x_mm, y_mm)) * self.direction * 1000.0 * self.shift

    def check_depth(self, depth_um: float, what: str = "depth") -> None:
        """Refuse a depth above the surface, below the glass, or beyond the working distance."""
        if not math.isfinite(depth_um) or depth_um < 0:
            raise LasergenError(f"{what} {depth_um:g} um is above the glass surface: depths are >= 0 um, "
                                f"positive downwards")
        if depth_um > self.thickness_mm * 1000.0 + 1e-9:
            raise LasergenError(f"{what} {depth_um:g} um is beyond the glass thickness of "
                                f"{self.thickness_mm * 1000.0:g} um (machine profile [focus] thickness_mm)")
        travel_mm = depth_um / (1000.0 * self.shift)
        if travel_mm > self.working_distance_mm + 1e-12:
            raise LasergenError(f"{what} {depth_um:g} um needs the objective {travel_mm:.4g} mm closer than at the "
                                f"surface, beyond its working distance of {self.working_distance_mm:g} mm "
                                f"(deepest: {self.working_distance_mm * self.shift * 1000.0:.0f} um)")

    def manifest(self) -> dict:
        """What a job records of the focus model (so a reader can turn its Z back into depths)."""
        z0, a, b = self.plane
        return {"model": self.model, "shift": round(self.shift, 6), "refractive_index": self.refractive_index,
                "numerical_aperture": self.numerical_aperture, "immersion_index": self.immersion_index,
                "z_axis": self.z_axis, "surface": {"z_mm": z0, "dz_dx": a, "dz_dy": b, "from": self.surface_from,
                                                   "rms_um": round(self.surface_rms_mm * 1000.0, 3)},
                "working_distance_mm": self.working_distance_mm, "thickness_mm": self.thickness_mm,
                "depth_um_from_z": "direction * (Z - (z_mm + dz_dx X + dz_dy Y)) * 1000 * shift",
                "direction": int(self.direction)}


def focus_of(machine) -> Focus:
    """The machine's focus model, or a one-line refusal naming what the profile lacks."""
    focus = getattr(machine, "focus", None)
    if not focus:
        raise LasergenError(f"machine {machine.name!r} has no [focus] table: a depth needs the glass's "
                            f"refractive_index, the objective's numerical_aperture and working_distance_mm, "
                            f"and the glass thickness_mm")
    if getattr(machine, "z_range_mm", None) is None:
        raise LasergenError(f"machine {machine.name!r} has no Z axis ([travel] z_mm): it cannot write in depth")
    return Focus.from_table(dict(focus), f"machine profile {machine.name!r} [focus]")
