"""Renders say what they show and show the model's contrasts: labelled captions, hue-preserving
gamut mapping (deep red stays red), and level 3 of the E/F demo not made leaky by the tone curve."""

from pathlib import Path

import numpy as np
import pytest

import lasergen
from hardware_sim.glass.cie import cmf, linear_to_srgb8
from hardware_sim.glass.optics import xyz_to_linear_rgb
from hardware_sim.glass.render import CAPTION_PX, machine_to_image, to_display
from hardware_sim.glass.report import regions
from hardware_sim.glass.simulate import simulate, write_outputs
from lasergen.colour import XYZ_TO_LINEAR_SRGB
from lasergen import Job, MachineProfile
from lasergen import pattern_from_file

MACHINE = MachineProfile.load()
EF = Path(lasergen.__file__).resolve().parent / "patterns" / "three_level_EF.toml"


def mono_xyz(nm: float) -> np.ndarray:
    lam, xyz = cmf()
    return xyz[np.argmin(np.abs(lam - nm))] / xyz[np.argmin(np.abs(lam - nm))].sum() * 0.2


@pytest.mark.parametrize("nm", [650.0, 655.0, 660.0])
def test_light_above_645_nm_is_deep_red_not_pink(nm):
    r, g, b = linear_to_srgb8(to_display(XYZ_TO_LINEAR_SRGB @ mono_xyz(nm))[None])[0].astype(int)
    assert r > 100 and g <= 0.05 * r and b <= 0.15 * r, (r, g, b)  # hue kept: deep red
    old = linear_to_srgb8(np.clip(xyz_to_linear_rgb(mono_xyz(nm)[None, :]), 0, 1))[0].astype(int)
    assert old[2] > 0.25 * old[0]  # the old mapping blended toward white: crimson-pink


def test_out_of_white_is_darkened_not_clipped_per_channel():
    rgb = to_display(np.array([2.0, 1.0, 0.2]))
    assert rgb.max() == pytest.approx(1.0) and rgb[1] / rgb[0] == pytest.approx(0.5)


@pytest.fixture(scope="module")
def ef_prediction():
    pattern = pattern_from_file(EF)
    return simulate(Job.plan(pattern, MACHINE).toolpath, MACHINE, pattern.meta.get("material") or "BrI")


def test_filtered_render_keeps_the_level_3_contrast(ef_prediction):
    pred = ef_prediction
    name = next(n for n in pred.views if n.startswith("uv365_lp"))
    rendered = pred.render(name)
    sample = pred.sample_at(rendered.um_per_px)
    masks = {k: machine_to_image(m) for k, m in regions(sample).items()}
    value = rendered.rgb.max(axis=2).astype(float)
    contrast = value[masks["rewritten"]].mean() / value[masks["single_pass"]].mean()
    y = pred.xyz(name, sample)[..., 1]
    model = y[regions(sample)["rewritten"]].mean() / y[regions(sample)["single_pass"]].mean()
    assert contrast > 10 and contrast > 0.5 * model, (contrast, model)  # was 4.0 through the sRGB curve + clip


def test_renders_are_labelled_with_view_excitation_filter_and_gain(ef_prediction, tmp_path):
    report = write_outputs(ef_prediction, tmp_path)
    labels = report["render_labels"]
    lp = labels["uv365_lp645"]
    assert lp["gain"] == 4.0 and lp["filter"] == "long-pass 645 nm" and lp["excitation_nm"] == 365.0
    assert "gain x4 vs uv365" in lp["text"] and labels["uv365"]["filter"] is None
    rendered = ef_prediction.render("uv365_lp645")
    image = rendered.to_pil()
    assert image.size[1] == rendered.rgb.shape[0] + 2 * CAPTION_PX  # scale bar line + label line
