"""The renders' fast paths give what the plain computations give: strip-by-strip conversion,
column arithmetic for a uniform red peak, the Up-filtered PNG writer, the multi-plane sample's
maps computed once, and the views at a depth with their blurs kept across depths."""

import numpy as np
import pytest
from PIL import Image

from hardware_sim.glass import optics
from hardware_sim.glass.depth_view import defocus_sum
from hardware_sim.glass.exposure import Exposure, Grid, Plane
from hardware_sim.glass.material import Material
from hardware_sim.glass.phase_model import PhaseMaps
from hardware_sim.glass.render import (
    STRIP_PX,
    encode,
    machine_to_image,
    render_xyz,
    save_png,
    to_display,
    to_display8,
)
from lasergen.colour import XYZ_TO_LINEAR_SRGB

RNG = np.random.default_rng(7)
SHAPE = (150, 140)  # 21 000 pixels: more than one strip


def field_maps(peak_spread_nm: float = 0.0) -> PhaseMaps:
    x = RNG.random(SHAPE).astype(np.float32) * (RNG.random(SHAPE) > 0.3)
    peak = (613.0 + peak_spread_nm * RNG.random(SHAPE)).astype(np.float32)
    return PhaseMaps(x * np.float32(0.8), x * np.float32(0.6), peak, 514.0, 117.0, 125.0, {}), x


def test_strip_by_strip_rendering_is_the_whole_field_conversion():
    assert SHAPE[0] * SHAPE[1] > STRIP_PX
    maps, _ = field_maps()
    for view in optics.VIEWS.values():  # the filtered view is mostly out of gamut: the bisection runs
        xyz = optics.emission_xyz(view, maps) if view.kind == "emission" else np.full(SHAPE + (3,), 0.5, np.float32)
        tone = "linear" if view.filter else "srgb"
        offset = np.asarray(view.background_linear_rgb, np.float32)
        got = to_display8(xyz.reshape(-1, 3), offset, tone, kernel=None).reshape(xyz.shape)  # the numpy path
        linear = xyz @ XYZ_TO_LINEAR_SRGB.T.astype(np.float32) + offset
        assert np.array_equal(got, encode(to_display(linear), tone))
        rendered = render_xyz(view.name, xyz, 2.0, 2.0, view.background_linear_rgb, view).rgb  # either path
        assert np.abs(rendered.astype(int) - machine_to_image(got)).max() <= 1


def test_emission_for_a_uniform_red_peak_is_the_per_pixel_sum():
    maps, _ = field_maps()
    for view in optics.VIEWS.values():
        if view.kind != "emission":
            continue
        scale = np.float32(optics.uv_exposure() * view.gain)
        green = optics.emission_table(view, 117.0)[np.searchsorted(optics.PEAK_GRID_NM, 514.0)].astype(np.float32)
        red = optics.emission_table(view, 125.0)[np.searchsorted(optics.PEAK_GRID_NM, 613.0)].astype(np.float32)
        want = maps.green[..., None] * (green * scale) + maps.red[..., None] * (red * scale)
        assert np.array_equal(optics.emission_xyz(view, maps), want)


def reference_daylight(maps, crystallized, weights, daylight, stokes):
    """The masked per-pixel computation the daylight view had before its column fast path."""
    white, absorbed = optics.daylight_tables(daylight, maps.green_fwhm_meV)
    out = np.empty(crystallized.shape + (3,), np.float32)
    out[:] = (optics.GLASS_TRANSMISSION * white).astype(np.float32)
    lit = crystallized > 0
    x = crystallized[lit][:, None]
    k = np.log(10) * daylight["absorbance"]
    green_loss = optics._table_lookup(absorbed, np.array(maps.green_peak_nm - stokes[0]))
    red_loss = optics._table_lookup(absorbed, maps.red_peak_nm[lit] - stokes[1])
    out[lit] = optics.GLASS_TRANSMISSION * (1 - daylight["scatter"] * x) * (
        white - k * (weights[0] * green_loss + weights[1] * red_loss) * x)
    return out


@pytest.mark.parametrize("spread_nm", [0.0, 0.0005, 2.0])  # uniform, uniform to 1e-3 nm, varied
def test_daylight_fast_paths_match_the_masked_computation(spread_nm):
    material = Material.load("BrI")
    maps, x = field_maps(spread_nm)
    args = (maps, x, (0.6, 0.4), material.daylight, (8.0, 10.0))
    got, want = optics.daylight_xyz(*args), reference_daylight(*args)
    # the uniform path looks the peak up once: within a few float32 ulps of the per-pixel lookup
    assert np.abs(got - want).max() <= 3e-7
    assert np.array_equal(got[x == 0], want[x == 0])  # clear glass exactly as before


def test_png_writer_round_trips_the_pixels(tmp_path):
    rgb = np.concatenate([RNG.integers(0, 256, (40, 60, 3)), np.zeros((30, 60, 3))]).astype(np.uint8)
    save_png(Image.fromarray(rgb, "RGB"), tmp_path / "a.png")
    back = Image.open(tmp_path / "a.png")
    assert back.mode == "RGB" and np.array_equal(np.asarray(back), rgb)


def test_the_multi_plane_sample_is_computed_once_and_equals_the_stacked_formula():
    grid = Grid(0.0, 0.0, 2.0, *SHAPE)
    zeros = np.zeros(SHAPE, np.float32)
    planes = [Plane(100.0 * i, RNG.random(SHAPE).astype(np.float32), RNG.random(SHAPE).astype(np.float32),
                    zeros.astype(bool), zeros, zeros, zeros) for i in range(1, 4)]
    exposure = Exposure(grid, planes)
    want = 1 - np.prod([1 - p.crystallized for p in planes], axis=0)
    assert np.array_equal(exposure.crystallized, want) and exposure.crystallized is exposure.crystallized
    assert np.array_equal(exposure.rewrites, np.max([p.rewrites for p in planes], axis=0))


def test_defocus_with_kept_blurs_and_skipped_zero_maps_is_the_plain_sum():
    mask = np.pad(np.kron(RNG.random((12, 12)) > 0.5, np.ones((8, 8))), 30).astype(np.float32)
    zero = np.zeros_like(mask)
    full = [(mask, mask * 0.5, zero, 1 - mask, zero), (mask.T, mask.T * 0.5, zero, 1 - mask.T, zero)]
    lean = [(mask, mask * 0.5, None, 1 - mask, None), (mask.T, mask.T * 0.5, None, 1 - mask.T, None)]
    cache: dict = {}
    for sigmas in ([0.1, 6.0], [6.0, 0.1], [6.0, 6.0], [0.1, 6.0]):  # the last reuses the first's blurs
        plain, fast = defocus_sum(full, sigmas), defocus_sum(lean, sigmas, cache)
        for j in (0, 1, 3):
            assert np.array_equal(plain[j], fast[j])
        assert fast[2] is None or not fast[2].any()


def test_views_at_a_depth_with_one_red_peak_match_the_blurred_peak_computation(monkeypatch):
    """Two planes of one material: the red peak is uniform, so the views at a depth skip blurring
    the intensity-weighted peak. Against the general computation (peak blurred, then divided)
    the colours agree to float32 rounding and the 8-bit renders to one level."""
    from hardware_sim.glass import depth_view
    from hardware_sim.glass.simulate import simulate
    from lasergen import Layer, MachineProfile, Pattern
    from lasergen.planner import plan
    from lasergen.recipe import PRESETS

    mask = np.zeros((6, 6), bool)
    mask[1:5, 1:5] = True
    pattern = Pattern(20.0, [Layer(mask, "write", "top", depth_um=150.0), Layer(mask, "write", "bottom", depth_um=350.0)],
                      (10.0, 10.0), dict(PRESETS), {})
    machine = MachineProfile.load()
    prediction = simulate(plan(pattern, machine), machine, pitch_um=4.0)
    depths = depth_view.plane_depths_um(prediction)
    fast = list(depth_view.focused_views(prediction, depths))
    monkeypatch.setattr(depth_view, "UNIFORM_PEAK_NM", -1.0)  # every peak blurred, as in the general case
    general = list(depth_view.focused_views(prediction, depths))
    assert len(fast) == len(general) == 2
    for a, b in zip(fast, general):
        assert np.array_equal(a.maps.green, b.maps.green) and np.array_equal(a.maps.red, b.maps.red)
        assert np.ptp(a.maps.red_peak_nm) < 1e-3  # the fast path ran: one peak everywhere
        assert np.abs(a.maps.red_peak_nm - b.maps.red_peak_nm)[b.maps.red > 0].max() < 1e-3
        for name in a.views:
            xa, xb = a.xyz(name), b.xyz(name)
            assert np.abs(xa - xb).max() <= 1e-5 * max(float(np.abs(xb).max()), 1e-12)
            assert np.abs(a.render(name).rgb.astype(int) - b.render(name).rgb).max() <= 1


def reference_to_display(rgb: np.ndarray) -> np.ndarray:
    """The hue-keeping gamut mapping as first written: CIELAB in float64 (lasergen.colour), the
    bisection on the chroma factor, every pixel darkened by its largest channel's excess."""
    from hardware_sim.glass import render
    from lasergen.colour import D65_WHITE_XYZ, LINEAR_SRGB_TO_XYZ, xyz_to_lab

    flat = np.asarray(rgb, np.float32).reshape(-1, 3)
    high, low = flat.max(axis=1), flat.min(axis=1)
    out = np.where((high > 1.0)[:, None], flat / np.maximum(high, np.float32(1e-30))[:, None], flat)
    bad = np.flatnonzero((low < 0) & (high > render.INVISIBLE))
    lab = xyz_to_lab(out[bad] @ LINEAR_SRGB_TO_XYZ.T.astype(np.float32)).astype(np.float32)
    fy, fa, fb = (lab[:, 0] + 16) / 116, lab[:, 1] / 500, lab[:, 2] / 200
    y = render._f_inverse(fy) * np.float32(D65_WHITE_XYZ[1])
    y_term = [np.float32(XYZ_TO_LINEAR_SRGB[c, 1]) * y for c in range(3)]
    lo, hi = np.zeros(bad.size, np.float32), np.ones(bad.size, np.float32)
    for _ in range(render.GAMUT_STEPS):
        mid = np.float32(0.5) * (lo + hi)
        inside = render._min3(render._chroma_scaled_rgb(fy, fa, fb, mid, y_term)) >= 0
        lo, hi = np.where(inside, mid, lo), np.where(inside, hi, mid)
    out[bad] = np.stack(render._chroma_scaled_rgb(fy, fa, fb, lo, y_term), axis=1)
    return np.clip(out, 0.0, 1.0).reshape(np.shape(rgb))


def test_gamut_mapping_in_float32_matches_the_float64_cielab_search():
    """to_display takes CIELAB's f values in float32 directly: against the float64 L*a*b* round trip
    the mapped colours agree to within one 8-bit level (the search's own step is 1/256 of the chroma)
    and the 8-bit pixels to one level in a few pixels per thousand at most, on colours inside, above
    white, dark, and far outside the gamut (the deep red behind the 645 nm filter among them)."""
    n, rng = 60_000, np.random.default_rng(11)
    colours = ((rng.random((n, 3)) * 2.6 - 0.8) * rng.random((n, 1)) ** 2).astype(np.float32)
    maps, _ = field_maps()
    filtered = next(v for v in optics.VIEWS.values() if v.filter is not None)
    red = (optics.emission_xyz(filtered, maps) @ XYZ_TO_LINEAR_SRGB.T.astype(np.float32)).reshape(-1, 3)
    for rgb in (colours, red):
        got, want = to_display(rgb), reference_to_display(rgb)
        assert ((got >= 0) & (got <= 1)).all()
        assert np.abs(got - want).max() < 1 / 255
        levels = np.abs(encode(got, "linear").astype(int) - encode(want, "linear"))
        assert levels.max() <= 1 and (levels > 0).mean() < 3e-3
    assert (red.min(axis=1) < 0).mean() > 0.3  # the filtered view really is mostly out of gamut
