"""The E/F demo verifies level by level: daylight shows nothing, UV shows E, the filter shows F.

Two renderings: a rasterised stand-in (always runs) and the simulator (runs when
`hardware_sim.glass.simulate` is importable), plus the simulator-probed process warnings.
"""

import numpy as np
import pytest

from lasergen.build import plan_to_file
from lasergen.job import read_job
from lasergen.levelcheck import Frame, check_levels
from lasergen import MachineProfile
from lasergen import pattern_from_file

from .conftest import PATTERNS
from .tagphotos import render_views

try:
    import hardware_sim.glass.simulate as sim
except ImportError:  # the simulator is another package of the project; skip only its tests
    sim = None
needs_sim = pytest.mark.skipif(sim is None, reason="hardware_sim.glass.simulate is not importable")

PX, MARGIN = 8, 6


@pytest.fixture(scope="module")
def ef_job(tmp_path_factory):
    out = tmp_path_factory.mktemp("ef") / "ef.gcode"
    plan_to_file(pattern_from_file(PATTERNS / "three_level_EF.toml"), out, MachineProfile.load())
    return read_job(out)


def raster_frames(manifest):
    g = manifest["grid"]
    s_mm = g["pitch_um"] / PX / 1000.0
    x_left = g["origin_mm"][0] - MARGIN * g["pitch_um"] / 1000.0
    y_top = g["origin_mm"][1] + (g["shape"][0] + MARGIN) * g["pitch_um"] / 1000.0
    return Frame(x_left, y_top, s_mm * 1000.0)


def test_ef_levels_on_a_rasterised_rendering(ef_job):
    pattern = pattern_from_file(PATTERNS / "three_level_EF.toml")
    images = {k: np.asarray(v) for k, v in render_views(pattern, PX, MARGIN).items()}
    frame = raster_frames(ef_job.manifest)
    results = {r["view"]: r for r in check_levels(images, {k: frame for k in images}, ef_job.manifest)}
    assert set(results) == {"daylight", "uv365", "uv365_lp645"}
    assert results["uv365"]["iou"] >= 0.9 and results["uv365_lp645"]["iou"] >= 0.9
    assert results["daylight"]["ok"], results["daylight"]


def test_swapped_views_fail(ef_job):
    """The check can fail: a filter photo that shows the whole E is not level 3."""
    pattern = pattern_from_file(PATTERNS / "three_level_EF.toml")
    images = {k: np.asarray(v) for k, v in render_views(pattern, PX, MARGIN).items()}
    images["uv365_lp645"] = images["uv365"]
    frame = raster_frames(ef_job.manifest)
    results = {r["view"]: r for r in check_levels(images, {k: frame for k in images}, ef_job.manifest)}
    assert not results["uv365_lp645"]["ok"] and results["uv365_lp645"]["iou"] < 0.9


@needs_sim
def test_ef_levels_on_the_simulator(ef_job):
    from hardware_sim.glass.level_views import check_prediction

    results = {r["view"]: r for r in check_prediction(sim.simulate(ef_job, None, "BrI"), ef_job.manifest)}
    assert results["uv365"]["iou"] >= 0.9, results["uv365"]
    assert results["uv365_lp645"]["iou"] >= 0.9, results["uv365_lp645"]
    assert results["daylight"]["ok"], results["daylight"]


@needs_sim
def test_hot_heat_treatment_erases_level_three(ef_job):
    from hardware_sim.glass.level_views import check_prediction

    results = {r["view"]: r for r in check_prediction(sim.simulate(ef_job, None, "BrI", heat_treat_c=550),
                                                      ef_job.manifest)}
    assert results["uv365"]["ok"]
    assert not results["uv365_lp645"]["ok"] and results["uv365_lp645"]["extra_px"] > 0


@needs_sim
def test_process_warnings_follow_the_model():
    from hardware_sim.glass.process_advice import MIN_CONTRAST, level_warnings

    assert level_warnings("BrI", None) == []
    warnings = level_warnings("BrI", 550.0)
    assert len(warnings) == 1 and warnings[0]["contrast"] < MIN_CONTRAST
    suggest = warnings[0]["suggest"]
    assert suggest, warnings[0]["message"]
    if "heat_treat_c" in suggest:  # the suggestion itself must pass when re-checked
        assert suggest["heat_treat_c"] < 550 and level_warnings("BrI", suggest["heat_treat_c"]) == []
    if "filter_nm" in suggest:
        assert level_warnings("BrI", 550.0, filter_nm=suggest["filter_nm"]) == []


@needs_sim
def test_spill_suggestion_isolates_the_modules():
    from hardware_sim.glass.process_advice import (
        SPILL_MAX,
        rewrite_spill,
        spill_warnings,
    )

    for warning in spill_warnings(20.0):
        size = warning["suggest"].get("module_um")
        if size is not None:
            assert size > 20.0 and rewrite_spill(size) <= SPILL_MAX


@needs_sim
def test_keyed_signed_tag_verifies_on_the_simulator_renders(tmp_path, signing_key):
    """What `verify` runs for a keyed job: the photo check on the simulator's own renders."""
    from hardware_sim.glass.level_views import check_prediction
    import lasergen

    key = bytes(range(7, 39))
    out = tmp_path / "tag.gcode"
    plan_to_file(lasergen.tag("SN-000042", 60.0, sign_key=signing_key, hidden_key=key), out, MachineProfile.load())
    job = read_job(out)
    prediction = sim.simulate(job, None, "BrI")
    results = check_prediction(prediction, job.manifest, key, signing_key.public_key())
    right = {r["view"]: r for r in results}
    tag = next(r for r in results if r["kind"] == "tag")
    assert tag["ok"] and tag["confidence"] >= 0.9 and tag["checks"]["signature"]["ok"], tag["message"]
    assert right["uv365"]["ok"] and right["daylight"]["ok"], (right["uv365"], right["daylight"])
    wrong = next(r for r in check_prediction(prediction, job.manifest, bytes(32), signing_key.public_key())
                 if r["kind"] == "tag")
    assert not wrong["ok"], wrong["message"]


@needs_sim
def test_qr_rewrite_demo_reads_under_uv_and_behind_the_filter(tmp_path):
    from hardware_sim.glass.level_views import check_prediction
    from hardware_sim.glass.verify import decode_qr

    out = tmp_path / "qr.gcode"
    plan_to_file(pattern_from_file(PATTERNS / "qr_rewrite_demo.toml"), out, MachineProfile.load())
    job = read_job(out)
    prediction = sim.simulate(job, None, "BrI")
    payload = job.manifest["promises"]["payload"]
    assert payload in decode_qr(prediction.render("uv365").rgb)
    assert payload in decode_qr(prediction.render("uv365_lp645").rgb)
    for result in check_prediction(prediction, job.manifest):
        assert result["ok"], result["message"]
