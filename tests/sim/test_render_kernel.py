"""The compiled render kernel (hardware_sim/glass/kernels_c/display.c) gives the numpy path's
pixels: XYZ -> linear sRGB plus the background, the hue-keeping gamut mapping, the tone. Float32
sums may round differently (numpy's 3 x 3 products go through BLAS, its cube root is another
one), so a pixel may differ by one 8-bit level where a value sits on a rounding edge, and a
colour whose chroma factor sits on a bisection step's edge may take the neighbouring step
(1/256 of its chroma: up to 0.008 of white in linear light, which the sRGB curve shows as up to
21 levels when the channel is the one at the gamut's edge, near 0); rarely, and no more."""

import os
import subprocess
import sys

import numpy as np
import pytest

from hardware_sim.glass import optics, render
from hardware_sim.glass.render import DISPLAY_KERNEL, to_display8
from lasergen.colour import LINEAR_SRGB_TO_XYZ, srgb8_to_linear

pytestmark = pytest.mark.skipif(DISPLAY_KERNEL is None, reason="built without the compiled render kernel")


def colours(n: int, seed: int) -> np.ndarray:
    """XYZ of colours inside the gamut, above white, dark, and far outside it (negative channels)."""
    rng = np.random.default_rng(seed)
    rgb = (rng.random((n, 3)) * 2.6 - 0.8) * rng.random((n, 1)) ** 2
    return np.ascontiguousarray(rgb @ LINEAR_SRGB_TO_XYZ.T, np.float32)


def assert_same_pixels(xyz: np.ndarray, offset, tone: str, most_levels: int = 1) -> None:
    offset = np.asarray(offset, np.float32)
    got, want = to_display8(xyz, offset, tone), to_display8(xyz, offset, tone, kernel=None)
    levels = np.abs(got.astype(int) - want)
    linear = (lambda v: v / 255.0) if tone == "linear" else srgb8_to_linear
    assert np.abs(linear(got) - linear(want)).max() <= 0.01  # at most one bisection step
    assert (levels > most_levels).any(axis=1).mean() < 2e-5
    assert (levels > 0).any(axis=1).mean() < 1e-4


@pytest.mark.parametrize("tone", ["srgb", "linear"])
def test_the_kernel_maps_colours_as_the_numpy_path(tone):
    xyz = colours(200_003, 3)  # not a whole number of the kernel's blocks
    assert_same_pixels(xyz, (0.0, 0.0, 0.0), tone)
    assert_same_pixels(xyz, (0.02, 0.01, 0.03), tone)


def test_the_kernel_renders_every_view_of_a_written_field_as_the_numpy_path():
    rng = np.random.default_rng(5)
    shape = (300, 310)
    x = rng.random(shape).astype(np.float32) * (rng.random(shape) > 0.3)
    from hardware_sim.glass.phase_model import PhaseMaps

    maps = PhaseMaps(x * np.float32(0.8), x * np.float32(0.6), np.full(shape, 613.0, np.float32), 514.0, 117.0, 125.0, {})
    for view in optics.VIEWS.values():
        if view.kind != "emission":
            continue
        xyz = optics.emission_xyz(view, maps).reshape(-1, 3)
        assert_same_pixels(xyz, view.background_linear_rgb, render.tone_of(view), most_levels=0)


def test_the_kernel_refuses_arrays_of_the_wrong_shape_or_type():
    out = np.empty((10, 3), np.uint8)
    with pytest.raises(ValueError):
        DISPLAY_KERNEL.xyz_to_display(np.zeros((10, 3), np.float64), out, *kernel_constants())
    with pytest.raises(ValueError):
        DISPLAY_KERNEL.xyz_to_display(np.zeros((11, 3), np.float32), out, *kernel_constants())


def kernel_constants():
    return (render._F32_TO_LINEAR, render._F32_TO_XYZ, render._F32_WHITE, np.zeros(3, np.float32),
            render.INVISIBLE, render.GAMUT_STEPS, None)


def test_the_installed_package_renders_with_the_kernel_and_lasergen_kernels_numpy_with_numpy(tmp_path):
    """Run outside the checkout (`python -c` imports from the working folder first, and a checkout
    holds no built kernel): the installed package has it, and `LASERGEN_KERNELS=numpy` turns it off."""
    code = "from hardware_sim.glass import render; print(render.DISPLAY_KERNEL is None)"
    for setting, off in (("", "False"), ("numpy", "True")):
        env = {**os.environ, "LASERGEN_KERNELS": setting}
        assert subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True,
                              cwd=tmp_path).stdout.strip() == off


def test_the_kernel_turns_non_finite_values_into_displayable_pixels():
    """A NaN or infinite value (the model makes none) is clipped like any other before the tone
    table is read, so it cannot index outside it (that would be a crash, not a failed assert):
    a NaN channel is black."""
    xyz = np.array([[np.nan, 0.5, 0.5], [np.inf, 0.1, 0.1], [-np.inf, 0.2, 0.3], [np.inf, np.inf, np.inf]] * 17,
                   np.float32)
    for tone in ("srgb", "linear"):
        out = to_display8(xyz, np.zeros(3, np.float32), tone)
        assert out.shape == xyz.shape
        assert (out[0] == 0).all()  # NaN in X: every linear channel NaN
