"""Depth as a security level: a levels spec promises what the UV view shows at each depth
(`[[levels.planes]]`); `verify` checks each promise in the render focused at its depth."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from lasergen import LasergenError
from lasergen.job import render_job
from lasergen.machine import MachineProfile
from lasergen.planner import plan
from lasergen.spec import pattern_from_file, pattern_from_spec
from lasergen_cli import main

REPO = Path(__file__).resolve().parents[1]
SPEC = REPO / "patterns" / "depth_levels.toml"


def test_levels_at_two_depths_plan_simulate_verify_through_the_cli(tmp_path):
    runner = CliRunner()
    job = tmp_path / "levels.gcode"
    r = runner.invoke(main, ["pattern", str(SPEC), "-o", str(job)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["simulate", str(job), "--out", str(tmp_path / "sim")])
    assert r.exit_code == 0, r.output
    report = json.loads((tmp_path / "sim" / "report.json").read_text())
    assert report["depths_um"] == [100.0, 700.0] and "uv365@700um" in report["renders"]
    r = runner.invoke(main, ["verify", str(job), "--no-margin", "--json"])
    assert r.exit_code == 0, r.output
    checks = {(c["kind"], c["view"]): c for c in json.loads(r.output)["checks"]}
    for depth in (100, 700):
        level = checks[("level", f"uv365@{depth}um")]
        assert level["ok"] and level["iou"] >= 0.9
        assert checks[("qr", f"uv365@{depth}um")]["ok"]  # each plane's code decodes at its own depth
    assert checks[("level", "daylight")]["ok"]


def test_a_promise_at_the_wrong_depth_fails_verify(tmp_path):
    """The same job whose manifest swaps the two planes' promises: each depth shows the other code."""
    machine = MachineProfile.load()
    pattern = pattern_from_file(SPEC)
    path = plan(pattern, machine)
    planes = pattern.meta["levels"]["planes"]
    planes[0]["depth_um"], planes[1]["depth_um"] = planes[1]["depth_um"], planes[0]["depth_um"]
    job = tmp_path / "swapped.gcode"
    job.write_text(render_job(pattern, path, machine))
    r = CliRunner().invoke(main, ["verify", str(job), "--no-margin", "--json"])
    assert r.exit_code != 0
    levels = [c for c in json.loads(r.output)["checks"] if c["kind"] == "level" and "@" in c["view"]]
    assert len(levels) == 2 and not any(c["ok"] for c in levels) and max(c["iou"] for c in levels) < 0.5


@pytest.mark.parametrize("planes, says", [
    ([], "array of tables"),
    ([{"uv365": {"same_as": "uv365"}}], "depth_um is required"),
    ([{"depth_um": -3, "uv365": {"source": {"kind": "qr", "data": "a"}}}], "depth_um"),
    ([{"depth_um": 100}], "uv365"),
    ([{"depth_um": 100, "uv365": {"source": {"kind": "qr", "data": "a"}}},
      {"depth_um": 100, "uv365": {"source": {"kind": "qr", "data": "b"}}}], "same depth"),
])
def test_bad_planes_are_one_line_refusals(planes, says):
    spec = {"pattern": {"origin_mm": [10.0, 10.0]}, "levels": {"daylight": "nothing", "planes": planes}}
    with pytest.raises(LasergenError, match=says):
        pattern_from_spec(spec)
    with pytest.raises(LasergenError, match="inside each plane"):
        pattern_from_spec({"levels": {"planes": [{"depth_um": 100}], "uv365": {"source": {"kind": "qr", "data": "a"}}}})
