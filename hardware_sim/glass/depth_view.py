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
Each plane's phases are computed once, box-averaged once to the renders' grid and reused at
every depth and view; a plane out of focus is blurred on a grid k = sigma / 1.8 px times coarser
(block means, blurred, interpolated back: `defocus_sum`), so a view at a depth costs about what a
plain view costs.
Two planes can be read apart only where the defocus blur of one at the other's depth exceeds
the smallest written feature (twice the melt-zone radius r0 of the material): `too_close`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace

import numpy as np
from scipy.ndimage import gaussian_filter

from hardware_sim.glass.exposure import Plane
from lasergen import LasergenError

WAVELENGTH_UM = 0.52
UNIFORM_PEAK_NM = 1e-3  # red peaks within this of each other are one peak (as in optics.emission_xyz)


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
    """The written planes' depths (um below the surface, to the whole um: Z is written to 0.1 um, which
    is 0.15 um of depth), shallowest first."""
    return sorted(float(round(p.depth_um)) for p in prediction.exposure.planes if p.crystallized.any())


def focused_at(prediction, depth_um: float, optics: Reader | str = "microscope", um_per_px: float | None = None):
    """The prediction as seen by `optics` focused `depth_um` below the surface."""
    return next(focused_views(prediction, [depth_um], optics, um_per_px))


def focused_views(prediction, depths_um, optics: Reader | str = "microscope", um_per_px: float | None = None):
    """The prediction as seen by `optics` focused at each of `depths_um` in turn (a generator), on
    the grid of its renders at `um_per_px` (default: `Prediction.scale_for`): each plane's phase
    maps (`Prediction.plane_maps`, computed once) are box-averaged to that grid once and reused at
    every depth; a plane out of focus is blurred on a still coarser grid (`defocus_sum`), and a
    plane blurred by the same amount at two depths is blurred once. Where every plane's red peak
    is one wavelength (to 1e-3 nm, the tolerance `optics.emission_xyz` takes a peak as uniform
    with), the intensity-weighted peak is that wavelength and is not blurred."""
    from hardware_sim.glass.render import block_mean
    from hardware_sim.glass.simulate import plane_phases

    optics = reader(optics) if isinstance(optics, str) else optics
    material, exposure, grid = prediction.material, prediction.exposure, prediction.grid
    planes = exposure.planes
    each = prediction.plane_maps
    if each is None or len(each) != len(planes):
        each = plane_phases(exposure, material, prediction.treatment)
    ratio = max(1.0, (um_per_px or prediction.scale_for()) / grid.pitch_um)
    peaks = [(float(m.red_peak_nm.min()), float(m.red_peak_nm.max())) for m in each]
    one_peak = max(hi for _, hi in peaks) - min(lo for lo, _ in peaks) < UNIFORM_PEAK_NM
    layers = [(block_mean(np.asarray(m.green, np.float32), ratio), block_mean(np.asarray(m.red, np.float32), ratio),
               None if one_peak else block_mean(np.asarray(m.red * m.red_peak_nm, np.float32), ratio),
               np.subtract(np.float32(1.0), block_mean(np.asarray(p.crystallized, np.float32), ratio), dtype=np.float32),
               block_mean(np.asarray(p.rewrites, np.float32), ratio) if p.rewrites.any() else None)
              for p, m in zip(planes, each)]
    ny, nx = layers[0][0].shape
    coarse = replace(grid, pitch_um=grid.pitch_um * ratio, ny=ny, nx=nx)
    alone = max((float(np.percentile((g + r)[c < 1.0], 99)) for g, r, _, c, _ in layers if (c < 1.0).any()),
                default=0.0)
    n = material.focus["refractive_index"]
    base_peak = block_mean(np.asarray(each[-1].red_peak_nm, np.float32), ratio)
    cache: dict = {}
    for depth_um in depths_um:
        sigmas = [blur_sigma_um(p.depth_um - depth_um, optics, n) / coarse.pitch_um for p in planes]
        green, red, weighted, clear, rewrites = defocus_sum(layers, sigmas, cache)
        if one_peak:
            peak = base_peak
        else:
            peak = np.where(red > 0, weighted / np.where(red > 0, red, 1), base_peak).astype(np.float32)
        seen_99 = float(np.percentile(green + red, 99.9))
        gain = min(1.0, alone / seen_99) if seen_99 > 0 and alone > 0 else 1.0
        if gain != 1.0:  # the sums are this depth's own arrays: scaled in place
            green *= np.float32(gain)
            red *= np.float32(gain)
        maps = replace(each[-1], green=green, red=red, red_peak_nm=peak)
        zeros = np.zeros(clear.shape, np.float32)
        crystallized = np.clip(np.subtract(np.float32(1.0), clear, out=clear), 0.0, 1.0, out=clear)
        seen = Plane(float(depth_um), crystallized, rewrites, np.zeros(clear.shape, bool), zeros, zeros, zeros)
        yield replace(prediction, exposure=replace(exposure, grid=coarse, planes=[seen]), maps=maps,
                      plane_maps=[maps])


IN_FOCUS_PX = 0.3   # a blur this small (in pixels) is no blur
COARSE_SIGMA = 1.8  # an out-of-focus plane is blurred on a grid k times coarser, k = sigma / COARSE_SIGMA
FILL = (0.0, 0.0, 0.0, 1.0, 0.0)  # outside the field: no emission, clear glass, no rewrites


def defocus_sum(layers, sigmas_px, cache: dict | None = None):
    """Per depth: the planes' maps, each blurred by its sigma (pixels) and combined: emission
    (the first three maps) adds up, transparency (the fourth, 1 - crystallized) multiplies,
    rewrites (the fifth) take the maximum; a map given as None is zero everywhere (1 for the
    transparency) and costs nothing. Planes in focus stay on the grid; the others are combined
    on one coarser grid (block means of k x k pixels, blurred there, then linearly interpolated
    back: the block and the interpolation add k^2/4 px^2 of variance, taken off the blur, so the
    result is the Gaussian of the wanted sigma to within the grid's pixel). `cache` (a dict kept
    across calls on the same layers) keeps each plane's block means and blurred maps, so a plane
    seen at the same blur from two depths is blurred once."""
    cache = {} if cache is None else cache
    sharp = [i for i, s in enumerate(sigmas_px) if s <= IN_FOCUS_PX]
    soft = [i for i, s in enumerate(sigmas_px) if s > IN_FOCUS_PX]
    shape = next(a for a in layers[0] if a is not None).shape
    out = [np.zeros(shape, np.float32), np.zeros(shape, np.float32), np.zeros(shape, np.float32),
           np.ones(shape, np.float32), np.zeros(shape, np.float32)]

    def combine(acc, maps):
        for j, a in enumerate(maps):
            if a is None:
                continue
            if j < 3:
                acc[j] += a
            elif j == 3:
                acc[j] *= a
            else:
                np.maximum(acc[j], a, out=acc[j])

    for i in sharp:
        combine(out, [None if a is None else np.asarray(a, np.float32) for a in layers[i]])
    if soft:
        k = max(1, int(min(sigmas_px[i] for i in soft) / COARSE_SIGMA))
        coarse = [np.full((-(-shape[0] // k), -(-shape[1] // k)), FILL[j], np.float32) for j in range(5)]
        for i in soft:
            sigma_c = math.sqrt(max(sigmas_px[i] ** 2 - (k * k / 4.0 if k > 1 else 0.0), 0.0)) / k
            combine(coarse, [None if a is None else _cached(cache, ("blur", i, j, k, sigma_c), lambda a=a, j=j: gaussian_filter(
                _cached(cache, ("block", i, j, k), lambda: _block_mean(a, k)), sigma_c, mode="constant", cval=FILL[j]))
                for j, a in enumerate(layers[i])])
        combine(out, [_upsample(a, k, shape) if any(layers[i][j] is not None for i in soft) else None
                      for j, a in enumerate(coarse)])
    return out


def _cached(cache: dict, key, compute):
    if key not in cache:
        cache[key] = compute()
    return cache[key]


def _block_mean(a: np.ndarray, k: int) -> np.ndarray:
    """Means of k x k blocks (the last partial blocks padded with the edge values), as strided
    slice sums: the k x k reshape's mean over two non-contiguous axes is several times slower."""
    a = np.asarray(a, np.float32)
    if k == 1:
        return a.copy()
    ny, nx = a.shape
    py, px = -ny % k, -nx % k
    if py or px:
        a = np.pad(a, ((0, py), (0, px)), mode="edge")
    rows = a[0::k].copy()
    for r in range(1, k):
        rows += a[r::k]
    out = rows[:, 0::k].copy()
    for c in range(1, k):
        out += rows[:, c::k]
    out *= np.float32(1.0 / (k * k))
    return out


def _upsample(a: np.ndarray, k: int, shape) -> np.ndarray:
    """Linear interpolation of a k-times coarser grid (block centres) back onto `shape`, the
    edges held. Output pixel q k + r sits at q + (r + 1/2) / k - 1/2 block centres: each of the
    k phases r is one weighted sum of two shifted slices of the edge-padded grid, written
    straight into every k-th row (then column), with no index arrays."""
    if k == 1:
        return a
    for axis, n in enumerate(shape):
        padded = np.concatenate([np.take(a, [0], axis), a, np.take(a, [-1], axis)], axis=axis)
        step = np.diff(padded, axis=axis)
        out = np.empty(shape[:1] + a.shape[1:] if axis == 0 else shape, np.float32)
        for r in range(k):
            phase = (r + 0.5) / k - 0.5            # offset from the block's centre, in blocks
            first = 1 if phase >= 0 else 0         # padded index of the lower neighbour of block 0
            weight = np.float32(phase if phase >= 0 else 1.0 + phase)
            count = len(range(r, n, k))
            lower = [slice(None)] * 2
            lower[axis] = slice(first, first + count)
            target = [slice(None)] * 2
            target[axis] = slice(r, n, k)
            np.multiply(step[tuple(lower)], weight, out=out[tuple(target)])
            out[tuple(target)] += padded[tuple(lower)]
        a = out
    return a


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
