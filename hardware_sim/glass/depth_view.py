"""Views focused at a depth: what a reader sees of a sample written in several depth planes.

The reader's optics (READERS, a table): a microscope objective (NA 0.3, the default) or a phone
camera with a clip-on macro lens (NA 0.05, a large depth of field). Focused `depth_um` below the
surface, a plane written at depth p is seen
  geometric defocus  a disc of radius r = |p - depth| tan(asin(NA / n)) (the reader's marginal
                     ray inside glass of index n; the surface refraction, as in `focus.py`),
                     taken as the Gaussian of the same second moment, sigma = r / 2;
  diffraction        an Airy core approximated by a Gaussian of sigma = 0.21 lambda / NA
                     (lambda 520 nm, the green emission; the red's is 25 % wider, not modelled),
the two in quadrature. Emission (green, red and the red's peak weighting) is blurred per plane
and summed: light from every plane reaches the reader, defocused planes as a haze. The camera
exposes for the highlights: the sum is scaled (never up) so its brightest 0.1 % is as bright
as the brightest plane alone in focus (99th percentile of its written pixels). Daylight
sees each plane's crystals blurred the same way. The plain renders (`uv365.png`) keep every
plane in focus; the `<view>@<depth>um` renders are these.
Two planes can be read apart only where the defocus blur of one at the other's depth exceeds
the smallest written feature (twice the melt-zone radius r0 of the material): `too_close`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter

from lasergen import LasergenError

WAVELENGTH_UM = 0.52


@dataclass(frozen=True)
class Reader:
    name: str
    numerical_aperture: float
    description: str


READERS = {
    "microscope": Reader("microscope", 0.3, "a 10x / 0.3 microscope objective focused at each depth"),
    "phone": Reader("phone", 0.05, "a phone camera with a macro lens: every plane in focus at once"),
}


def reader(name: str) -> Reader:
    if name not in READERS:
        raise LasergenError(f"unknown reader {name!r}; known: {', '.join(READERS)}")
    return READERS[name]


def defocus_radius_um(delta_um: float, optics: Reader, refractive_index: float) -> float:
    """Radius of the blur disc of a plane `delta_um` from the focus."""
    return abs(delta_um) * math.tan(math.asin(min(optics.numerical_aperture / refractive_index, 0.999)))


def blur_sigma_um(delta_um: float, optics: Reader, refractive_index: float) -> float:
    diffraction = 0.21 * WAVELENGTH_UM / optics.numerical_aperture
    return math.hypot(defocus_radius_um(delta_um, optics, refractive_index) / 2.0, diffraction)


def plane_depths_um(prediction) -> list[float]:
    """The written planes' depths (um below the surface, 0.1 um), shallowest first."""
    return sorted(round(float(p.depth_um), 1) for p in prediction.exposure.planes if p.crystallized.any())


def focused_at(prediction, depth_um: float, optics: Reader | str = "microscope"):
    """The prediction as seen by `optics` focused `depth_um` below the surface."""
    from hardware_sim.glass.exposure import Plane
    from hardware_sim.glass.phase_model import phases

    optics = reader(optics) if isinstance(optics, str) else optics
    material, exposure, pitch = prediction.material, prediction.exposure, prediction.grid.pitch_um
    n = material.focus["refractive_index"]
    green = red = weighted = None
    crystals, rewrites, alone = [], [], 0.0
    for p in exposure.planes:
        sigma_px = blur_sigma_um(p.depth_um - depth_um, optics, n) / pitch
        blur = (lambda a: gaussian_filter(a.astype(np.float32), sigma_px, mode="constant")) if sigma_px > 0.3 \
            else (lambda a: a.astype(np.float32))
        m = phases(p.crystallized, p.rewrites, material, prediction.treatment, p.rewritten_share())
        g, r, w = blur(m.green), blur(m.red), blur(m.red * m.red_peak_nm)
        if p.crystallized.any():
            alone = max(alone, float(np.percentile((m.green + m.red)[p.crystallized > 0], 99)))
        green, red, weighted = (g, r, w) if green is None else (green + g, red + r, weighted + w)
        crystals.append(np.clip(blur(p.crystallized), 0.0, 1.0))
        rewrites.append(blur(p.rewrites))
        base = m
    peak = np.where(red > 0, weighted / np.where(red > 0, red, 1), base.red_peak_nm).astype(np.float32)
    seen_99 = float(np.percentile(green + red, 99.9))
    gain = min(1.0, alone / seen_99) if seen_99 > 0 and alone > 0 else 1.0
    maps = replace(base, green=green * gain, red=red * gain, red_peak_nm=peak)
    zeros = np.zeros_like(crystals[0])
    seen = Plane(float(depth_um), 1 - np.prod([1 - c for c in crystals], axis=0), np.max(rewrites, axis=0),
                 zeros.astype(bool), zeros, zeros, zeros)
    return replace(prediction, exposure=replace(exposure, planes=[seen]), maps=maps)


def too_close(depths_um: list[float], optics: Reader, material) -> list[str]:
    """Warnings for neighbouring planes the optics cannot read apart."""
    feature_um = 2.0 * material.thermal["r0_um"]
    n = material.focus["refractive_index"]
    out = []
    for a, b in zip(depths_um, depths_um[1:]):
        r = defocus_radius_um(b - a, optics, n)
        if r < feature_um:
            out.append(f"planes at {a:g} and {b:g} um are too close to be read apart with the {optics.name} "
                       f"(NA {optics.numerical_aperture:g}): one blurs the other by only {r:.0f} um, less than the "
                       f"{feature_um:g} um smallest feature; put them {feature_um / math.tan(math.asin(optics.numerical_aperture / n)):.0f} um apart or more")
    return out


def render_name(view: str, depth_um: float) -> str:
    return f"{view}@{depth_um:g}um"
