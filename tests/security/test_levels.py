"""Levels specs: views -> layers, the subset rule and its message, the manifest record."""

import numpy as np
import pytest

from lasergen import LasergenError
from lasergen.build import plan_to_file
from lasergen.job import read_job
from lasergen.levels import expected_views, pack_mask, unpack_mask
from lasergen import MachineProfile
from lasergen.sources import make_artwork
from lasergen.spec import pattern_from_file, pattern_from_spec

from .conftest import PATTERNS

TEXT = lambda t: {"kind": "text", "text": t, "height_um": 600.0, "pitch_um": 20.0}


def test_ef_demo_derives_write_and_rewrite_layers():
    pattern = pattern_from_file(PATTERNS / "three_level_EF.toml")
    e = make_artwork({"kind": "text", "text": "E", "height_um": 1200.0, "pitch_um": 20.0}).mask
    f = make_artwork({"kind": "text", "text": "F", "height_um": 1200.0, "pitch_um": 20.0}).mask
    write, rewrite = pattern.layers
    assert (write.recipe, rewrite.recipe) == ("write", "rewrite")
    assert np.array_equal(write.mask[:e.shape[0], :e.shape[1]], e)
    assert np.array_equal(rewrite.mask[:f.shape[0], :f.shape[1]], f)
    assert not (rewrite.mask & ~write.mask).any()
    views = pattern.meta["levels"]["views"]
    assert views["daylight"]["shows"] == "nothing"
    assert views["uv365_lp645"]["filter_nm"] == 645.0 and views["uv365_lp645"]["shows"] == "rewritten"


def test_filtered_view_outside_uv_is_refused_with_the_pixels_at_fault():
    spec = {"levels": {"uv365": {"source": TEXT("E")}, "uv365_lp645": {"source": TEXT("H")}}}
    with pytest.raises(LasergenError) as err:
        pattern_from_spec(spec)
    message = str(err.value)
    e = make_artwork(TEXT("E")).mask
    h = make_artwork(TEXT("H")).mask
    rows, cols = max(e.shape[0], h.shape[0]), max(e.shape[1], h.shape[1])
    pad = lambda m: np.pad(m, ((0, rows - m.shape[0]), (0, cols - m.shape[1])))
    leak = pad(h) & ~pad(e)
    r, c = np.nonzero(leak)
    assert f"{leak.sum()} px ({leak.sum() * 400} µm²)" in message
    assert f"rows {r.min()}..{r.max()}, cols {c.min()}..{c.max()}" in message
    assert "\n" not in message


def test_accept_leak_writes_the_extra_pixels_and_records_them():
    spec = {"levels": {"accept_leak": True, "uv365": {"source": TEXT("E")}, "uv365_lp645": {"source": TEXT("H")}}}
    pattern = pattern_from_spec(spec)
    write, rewrite = pattern.layers
    assert not (rewrite.mask & ~write.mask).any()
    levels = pattern.meta["levels"]
    assert levels["leak_px"] > 0
    assert levels["views"]["uv365"]["pixels"] == int(write.mask.sum())


def test_extra_filter_views_must_show_one_of_the_two_states():
    ok = {"levels": {"uv365": {"source": TEXT("E")}, "uv365_lp645": {"source": TEXT("F")},
                     "uv365_lp600": {"same_as": "uv365"}, "uv365_lp660": {"same_as": "uv365_lp645"}}}
    views = pattern_from_spec(ok).meta["levels"]["views"]
    assert views["uv365_lp600"]["shows"] == "written" and views["uv365_lp660"]["shows"] == "rewritten"
    bad = {"levels": {"uv365": {"source": TEXT("E")}, "uv365_lp645": {"source": TEXT("F")},
                      "uv365_lp660": {"source": TEXT("L")}}}
    with pytest.raises(LasergenError, match="matches neither"):
        pattern_from_spec(bad)


@pytest.mark.parametrize("levels, match", [
    ({"daylight": {"source": TEXT("E")}, "uv365": {"source": TEXT("E")}}, "daylight must show"),
    ({"uv365_lp645": {"source": TEXT("E")}}, "uv365.*required"),
    ({"uv365": {"source": TEXT("E")}, "uv999x": {"source": TEXT("E")}}, "unknown view"),
    ({"uv365": {"source": TEXT("E"), "same_as": "uv365"}}, "exactly one"),
])
def test_bad_levels_are_one_line_errors(levels, match):
    with pytest.raises(LasergenError, match=match):
        pattern_from_spec({"levels": levels})


def test_manifest_records_the_intended_views(tmp_path):
    pattern = pattern_from_file(PATTERNS / "three_level_EF.toml")
    plan_to_file(pattern, tmp_path / "ef.gcode", MachineProfile.load())
    manifest = read_job(tmp_path / "ef.gcode").manifest
    targets = expected_views(manifest["promises"]["levels"])
    assert np.array_equal(targets["uv365"], pattern.layers[0].mask)
    assert np.array_equal(targets["uv365_lp645"], pattern.layers[1].mask)
    assert not targets["daylight"].any()


def test_layer_form_still_works():
    spec = {"layers": [{"name": "E", "source": TEXT("E")},
                       {"name": "F", "recipe": "rewrite", "clip_to": "E", "source": TEXT("F")}]}
    assert [layer.name for layer in pattern_from_spec(spec).layers] == ["E", "F"]


def test_qr_rewrite_demo_rewrites_the_whole_code():
    pattern = pattern_from_file(PATTERNS / "qr_rewrite_demo.toml")
    write, rewrite = pattern.layers
    assert np.array_equal(write.mask, rewrite.mask) and pattern.meta["payload"] == "https://example.org/p/0002"


def test_mask_packing_round_trips():
    mask = np.random.default_rng(1).random((37, 53)) > 0.5
    assert np.array_equal(unpack_mask(pack_mask(mask), mask.shape), mask)
