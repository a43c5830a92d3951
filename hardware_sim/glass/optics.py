"""Optics: predicted phases -> CIE 1931 XYZ per pixel, for each way of looking at the sample.

Views (a table, `VIEWS`; filters are configurable):
  daylight      white light (a 6504 K Planckian, white-balanced to D65) transmitted through the
                glass: a written pixel absorbs weakly above each phase's band gap (an edge a few
                nm below its PL peak, paper Fig. 2b) and scatters a little. Small by design:
                Delta E*ab < 2 between written and clear glass (paper Fig. 4a, target C.13).
  uv365         photoluminescence under a 365 nm lamp: each phase is a Gaussian line in photon
                energy (PHYSICS B.7), so XYZ = I_green * L(green peak) + I_red * L(red peak),
                where L(peak) = integral of line(lambda; peak, width) * filter(lambda) * cmf(lambda)
                is tabulated once per view on a 0.25 nm grid of peaks and interpolated per pixel.
  uv365_lp645   the same behind a long-pass filter: a logistic edge at 645 nm a few nm wide over a
                blocking floor (OD 3, the order of coloured-glass and interference long-passes;
                assumed, configurable), so a bright green glow still leaks a little.
                `Filter` also does band-pass (two edges).
Line shapes are Gaussian in photon energy with the profile's widths (an assumption: the paper
shows spectra but quotes no widths; see the material profiles for each width's source).
Linear in intensity, so XYZ may be averaged (downsampled) before conversion to sRGB. Colours
outside the sRGB gamut (514 nm is) are desaturated toward white until no channel is negative.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from hardware_sim.glass.cie import cmf
from hardware_sim.glass.phase_model import HC_EV_NM, PhaseMaps
from lasergen.colour import D65_WHITE_XYZ, XYZ_TO_LINEAR_SRGB

PEAK_GRID_NM = np.arange(400.0, 800.25, 0.25)
# UV exposure: as-written Br&I at X = 1 (green 1 at 514 nm + red 0.7 at 613 nm) maps to Y = UV_REFERENCE_Y.
UV_REFERENCE_Y = 0.55
GLASS_TRANSMISSION = 0.92  # two surface reflections of a borosilicate plate


@dataclass(frozen=True)
class Filter:
    kind: str = "longpass"          # "longpass" or "bandpass"
    edge_nm: float = 645.0          # long-pass edge, or band-pass centre
    width_nm: float = 3.0           # edge width (logistic scale)
    band_nm: float = 40.0           # band-pass full width
    floor: float = 1e-3             # transmission in the blocking band (OD 3)

    def transmission(self, lam_nm: np.ndarray) -> np.ndarray:
        rise = lambda edge: 1.0 / (1.0 + np.exp(-(lam_nm - edge) / self.width_nm))
        if self.kind == "longpass":
            return self.floor + (1.0 - self.floor) * rise(self.edge_nm)
        if self.kind == "bandpass":
            band = rise(self.edge_nm - self.band_nm / 2) * (1.0 - rise(self.edge_nm + self.band_nm / 2))
            return self.floor + (1.0 - self.floor) * band
        raise ValueError(f"filter kind must be longpass or bandpass, got {self.kind!r}")

    def label(self) -> str:
        if self.kind == "longpass":
            return f"lp{self.edge_nm:g}"
        return f"bp{self.edge_nm:g}w{self.band_nm:g}"


@dataclass(frozen=True)
class View:
    name: str
    kind: str                       # "transmission" (daylight) or "emission" (UV)
    filter: Filter | None = None
    gain: float = 1.0               # camera exposure relative to the plain UV view
    background_linear_rgb: tuple = (0.0, 0.0, 0.0)


VIEWS = {
    "daylight": View("daylight", "transmission"),
    "uv365": View("uv365", "emission", background_linear_rgb=(0.004, 0.002, 0.010)),
    "uv365_lp645": View("uv365_lp645", "emission", Filter(), gain=4.0),
}


def views(filter_edge_nm: float | None = None, filter_width_nm: float | None = None,
          bandpass_nm: float | None = None, filtered_gain: float | None = None) -> dict[str, View]:
    """The three standard views, the filtered one adjusted (name follows the filter: uv365_lp645)."""
    out = dict(VIEWS)
    f = VIEWS["uv365_lp645"].filter
    if bandpass_nm is not None:
        f = replace(f, kind="bandpass", band_nm=bandpass_nm)
    if filter_edge_nm is not None:
        f = replace(f, edge_nm=filter_edge_nm)
    if filter_width_nm is not None:
        f = replace(f, width_nm=filter_width_nm)
    filtered = replace(VIEWS["uv365_lp645"], filter=f, name=f"uv365_{f.label()}",
                       gain=filtered_gain if filtered_gain is not None else VIEWS["uv365_lp645"].gain)
    del out["uv365_lp645"]
    out[filtered.name] = filtered
    return out


def line_shape(lam_nm: np.ndarray, peak_nm, fwhm_meV: float) -> np.ndarray:
    """Gaussian in photon energy, as a density per nm with unit integral; broadcasts over peaks."""
    e = HC_EV_NM / lam_nm
    e0 = HC_EV_NM / np.asarray(peak_nm, dtype=float)[..., None]
    sigma = fwhm_meV * 1e-3 / (2 * np.sqrt(2 * np.log(2)))
    density = np.exp(-0.5 * ((e - e0) / sigma) ** 2) * (HC_EV_NM / lam_nm ** 2)
    return density / density.sum(axis=-1, keepdims=True)  # 1 nm grid: sum = integral


@lru_cache(maxsize=64)
def emission_table(view: View, fwhm_meV: float) -> np.ndarray:
    """XYZ of a unit line at each peak of PEAK_GRID_NM as seen through the view, shape (n, 3).
    Computed once per (view, width): every render of the view reuses it (read-only)."""
    lam, xyz_bar = cmf()
    through = xyz_bar * (view.filter.transmission(lam)[:, None] if view.filter else 1.0)
    table = line_shape(lam, PEAK_GRID_NM, fwhm_meV) @ through
    table.flags.writeable = False
    return table


def _table_lookup(table: np.ndarray, peak_nm: np.ndarray) -> np.ndarray:
    f = np.clip((peak_nm - PEAK_GRID_NM[0]) / (PEAK_GRID_NM[1] - PEAK_GRID_NM[0]), 0, len(PEAK_GRID_NM) - 1.001)
    i = f.astype(np.int64)
    w = (f - i)[..., None].astype(np.float32)
    return table[i].astype(np.float32) * (1 - w) + table[i + 1].astype(np.float32) * w


@lru_cache(maxsize=1)
def uv_exposure() -> float:
    """Fixed exposure of the UV views (so renders compare across runs and materials)."""
    ref = (emission_table(VIEWS["uv365"], 117.0)[np.searchsorted(PEAK_GRID_NM, 514.0)]
           + 0.7 * emission_table(VIEWS["uv365"], 125.0)[np.searchsorted(PEAK_GRID_NM, 613.0)])
    return UV_REFERENCE_Y / ref[1]


def emission_xyz(view: View, maps: PhaseMaps) -> np.ndarray:
    green_tab = emission_table(view, maps.green_fwhm_meV)
    red_tab = emission_table(view, maps.red_fwhm_meV)
    scale = np.float32(uv_exposure() * view.gain)
    green_xyz = _table_lookup(green_tab, np.array(maps.green_peak_nm)) * scale
    peak = maps.red_peak_nm
    if float(peak.max()) - float(peak.min()) < 1e-3:  # uniform red peak: one table entry, column by column
        red_xyz = _table_lookup(red_tab, np.array(peak.flat[0])) * scale
        if green_xyz.ndim == 1 and maps.green.dtype == maps.red.dtype == np.float32:
            out = np.empty(maps.green.shape + (3,), np.float32)
            for c in range(3):
                np.multiply(maps.green, green_xyz[c], out=out[..., c])
                out[..., c] += maps.red * red_xyz[c]
            return out
    else:
        red_xyz = _table_lookup(red_tab, peak) * scale
    return maps.green[..., None] * green_xyz + maps.red[..., None] * red_xyz


def planck(lam_nm: np.ndarray, temperature_k: float = 6504.0) -> np.ndarray:
    lam = lam_nm * 1e-9
    return 1.0 / (lam ** 5 * np.expm1(1.438776877e-2 / (lam * temperature_k)))


def daylight_tables(material_daylight: dict, green_fwhm_meV: float) -> tuple[np.ndarray, np.ndarray]:
    """White XYZ of the illuminant (balanced to D65) and, per absorption edge, the XYZ removed."""
    return _daylight_tables(float(material_daylight["edge_width_nm"]))


@lru_cache(maxsize=16)
def _daylight_tables(edge_width_nm: float) -> tuple[np.ndarray, np.ndarray]:
    lam, xyz_bar = cmf()
    light = planck(lam)
    white = light @ xyz_bar
    balance = D65_WHITE_XYZ / white
    edges = 1.0 / (1.0 + np.exp((lam[None, :] - PEAK_GRID_NM[:, None]) / edge_width_nm))
    absorbed = (edges * light) @ xyz_bar * balance
    white = white * balance
    white.flags.writeable = absorbed.flags.writeable = False
    return white, absorbed


STRIP_PX = 16384  # pixels at a time: a strip's float64 temporaries stay in a core's cache


def daylight_xyz(maps: PhaseMaps, crystallized: np.ndarray, weights: tuple[float, float],
                 material_daylight: dict, stokes_nm: tuple[float, float], damaged: np.ndarray | None = None) -> np.ndarray:
    """Transmitted white light: T0 (1 - scatter X) (white - ln10 A sum_phase c_phase absorbed(edge)),
    and (1 - damage_scatter) where the glass is damaged."""
    white, absorbed = daylight_tables(material_daylight, maps.green_fwhm_meV)
    k = np.log(10) * material_daylight["absorbance"]
    green_loss = weights[0] * _table_lookup(absorbed, np.array(maps.green_peak_nm - stokes_nm[0]))
    x_all = np.ravel(crystallized)
    red_peak = np.broadcast_to(maps.red_peak_nm, crystallized.shape).ravel()
    out = np.empty((x_all.size, 3), np.float32)
    if float(red_peak.max()) - float(red_peak.min()) < 1e-3:  # uniform red peak (as in emission_xyz): one loss
        loss = k * (green_loss + weights[1] * _table_lookup(absorbed, np.array(red_peak[0] - stokes_nm[1])))
        for i in range(0, x_all.size, STRIP_PX):  # column arithmetic, no masks; x = 0 gives the clear glass
            x = x_all[i:i + STRIP_PX]
            kept = GLASS_TRANSMISSION * (1 - material_daylight["scatter"] * x.astype(np.float64))
            for c in range(3):
                out[i:i + STRIP_PX, c] = kept * (white[c] - loss[c] * x)
        return _damage(out.reshape(crystallized.shape + (3,)), damaged, material_daylight)
    out[:] = (GLASS_TRANSMISSION * white).astype(np.float32)
    for i in range(0, x_all.size, STRIP_PX):  # strip by strip: the float64 temporaries stay in cache
        x_strip = x_all[i:i + STRIP_PX]
        lit = x_strip > 0
        x = x_strip[lit][:, None]
        red_loss = _table_lookup(absorbed, red_peak[i:i + STRIP_PX][lit] - stokes_nm[1])
        transmitted = white - k * (green_loss + weights[1] * red_loss) * x
        out[i:i + STRIP_PX][lit] = GLASS_TRANSMISSION * (1 - material_daylight["scatter"] * x) * transmitted
    return _damage(out.reshape(crystallized.shape + (3,)), damaged, material_daylight)


def _damage(out: np.ndarray, damaged: np.ndarray | None, material_daylight: dict) -> np.ndarray:
    if damaged is not None and np.any(damaged):
        out *= (1 - np.float32(material_daylight["damage_scatter"]) * damaged.astype(np.float32))[..., None]
    return out


def xyz_to_linear_rgb(xyz: np.ndarray, background=(0.0, 0.0, 0.0)) -> np.ndarray:
    """XYZ -> linear sRGB, out-of-gamut colours desaturated toward white (no negative channel)."""
    rgb = xyz @ XYZ_TO_LINEAR_SRGB.T.astype(np.float32)
    deficit = np.maximum(-rgb.min(axis=-1, keepdims=True), 0)
    rgb += deficit
    rgb += np.asarray(background, np.float32)
    return rgb


def luminance(xyz: np.ndarray) -> np.ndarray:
    return xyz[..., 1]
