"""Calibration grids: sweeps, layout, fiducials and labels clear of the cells, every cell's recipe
in the manifest, machine energy checks, rep-rate sweeps as one job per rate."""

import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import ndimage

from lasergen import LasergenError
from lasergen.calib.grid import GridSpec, cell_name, grid_parts, row_label
from lasergen.calib.sweep import parse_sweep
from lasergen.job import read_job
from lasergen.planner import plan
from lasergen_cli import main


@pytest.mark.parametrize("text, values", [
    ("120:240:20", [120, 140, 160, 180, 200, 220, 240]),
    ("0.5:4:0.5", [0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4]),
    ("0.1:1.6:x2", [0.1, 0.2, 0.4, 0.8, 1.6]),
    ("0.1:0.3:0.1", [0.1, 0.2, 0.3]),
    ("1:10:x3", [1, 3, 9]),
    ("150, 200,250", [150, 200, 250]),
    ("7", [7]),
])
def test_sweeps(text, values):
    assert parse_sweep(text) == pytest.approx(values)


@pytest.mark.parametrize("text, message", [
    ("240:120:20", "downwards"), ("1:2:0", "step must be > 0"), ("1:2:x1", "factor must be > 1"),
    ("0:2:x2", "above 0"), ("1:2", "start:stop:step"), ("a:2:1", "not a number"), ("nan", "finite"),
    ("1,1", "twice"), ("", "no values"), ("0:1000:0.001", "at most"),
])
def test_bad_sweeps(text, message):
    with pytest.raises(LasergenError, match=message):
        parse_sweep(text, "--energies")


@settings(max_examples=200, deadline=None)
@given(st.text(alphabet="0123456789.:,x-e ", max_size=16))
def test_sweep_parser_never_crashes(text):
    try:
        values = parse_sweep(text)
    except LasergenError as exc:
        assert "\n" not in str(exc)
    else:
        assert values and all(np.isfinite(values))


def test_labels_are_spreadsheet_style():
    assert [row_label(r) for r in (0, 1, 25, 26, 27)] == ["A", "B", "Z", "AA", "AB"]
    assert cell_name(1, 6) == "B7"


def _dots_spec(**kw):
    return GridSpec(mode="dots", values={"energy_uJ": [150.0, 200.0, 250.0], "dwell_s": [1.0, 2.0, 3.0, 4.0]}, **kw)


def test_nothing_is_written_twice_and_marks_keep_clear_of_cells(machine):
    pattern = grid_parts(_dots_spec())[0].pattern
    names = [layer.name for layer in pattern.layers]
    assert names[:2] == ["fiducials", "labels"] and len(names) == 2 + 12
    masks = np.stack([layer.mask for layer in pattern.layers])
    assert masks.sum(axis=0).max() == 1  # no pixel in two layers
    cells = masks[2:].any(axis=0)
    marks = masks[:2].any(axis=0)
    clearance_px = ndimage.distance_transform_edt(~marks)[cells].min()
    assert clearance_px * pattern.pitch_um >= 100.0  # beyond any melt zone at these energies
    path = plan(pattern, machine)
    assert (path.is_dwell).sum() == 12
    assert path.pass_count() == 14  # fiducials, labels, and one pass per cell


def test_fiducials_sit_in_the_corners_with_an_orientation_cue():
    meta = grid_parts(_dots_spec())[0].pattern.meta
    fid = {f["name"]: f for f in meta["fiducials"]}
    w, h = meta["size_um"]
    assert fid["TL"]["centre_um"][0] < w / 2 and fid["TL"]["centre_um"][1] < h / 2
    assert fid["BR"]["centre_um"][0] > w / 2 and fid["BR"]["centre_um"][1] > h / 2
    assert fid["TL"]["hole_um"] > 0 and all(fid[n]["hole_um"] == 0 for n in ("TR", "BR", "BL"))
    assert fid["BL"]["side_um"] < fid["TR"]["side_um"] == fid["BR"]["side_um"]


def test_every_cell_recipe_is_in_the_manifest_where_the_job_writes_it(tmp_path):
    out = tmp_path / "dots.gcode"
    result = CliRunner().invoke(main, ["calibrate", "grid", "--energies", "150:250:50", "--dwells", "1:4:1",
                                       "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    job = read_job(out)
    grid = job.manifest["promises"]
    assert grid["format"] == "lasergen-calibration-grid"
    assert grid["rows"] == {"parameter": "energy_uJ", "values": [150.0, 200.0, 250.0]}
    assert grid["cols"]["parameter"] == "dwell_s" and len(grid["cells"]) == 12
    path = job.toolpath
    dots = np.flatnonzero(path.is_dwell)
    for cell in grid["cells"]:
        assert job.manifest["recipes"][cell["layer"]] == cell["recipe"]
        hit = dots[np.hypot(path.x0[dots] - cell["centre_mm"][0], path.y0[dots] - cell["centre_mm"][1]) < 1e-6]
        assert len(hit) == 1, cell
        assert path.energy_uJ[hit[0]] == pytest.approx(cell["energy_uJ"])
        assert path.dwell_s[hit[0]] == pytest.approx(cell["dwell_s"])
    # row A is the top of the grid (largest Y) and the lowest energy
    a1 = next(c for c in grid["cells"] if c["cell"] == "A1")
    c1 = next(c for c in grid["cells"] if c["cell"] == "C1")
    assert a1["centre_mm"][1] > c1["centre_mm"][1] and a1["energy_uJ"] < c1["energy_uJ"]


def test_lines_grid_writes_one_line_per_cell_at_its_speed(tmp_path):
    out = tmp_path / "lines.gcode"
    result = CliRunner().invoke(main, ["calibrate", "grid", "--mode", "lines", "--energies", "150,200",
                                       "--speeds", "0.1:1.6:x2", "--no-fiducials", "--no-labels", "-o", str(out)])
    assert result.exit_code == 0, result.output
    job = read_job(out)
    path = job.toolpath
    marks = path.is_mark
    assert marks.sum() == 10
    np.testing.assert_allclose(path.length_mm[marks], 0.15)
    assert sorted(set(path.speed_mm_s[marks].round(3))) == [0.1, 0.2, 0.4, 0.8, 1.6]
    assert job.manifest["promises"]["line_um"] == 150.0


def test_rep_rate_sweep_writes_one_job_per_rate_with_marks_once(tmp_path):
    out = tmp_path / "r.gcode"
    result = CliRunner().invoke(main, ["calibrate", "grid", "--energies", "150,200", "--rep-rates", "5,10",
                                       "-o", str(out), "--json"])
    assert result.exit_code == 0, result.output
    jobs = json.loads(result.output)["jobs"]
    assert [Path(j["job"]).name for j in jobs] == ["r.5kHz.gcode", "r.10kHz.gcode"]
    first, second = (read_job(j["job"]) for j in jobs)
    assert first.manifest["machine"]["rep_rate_kHz"] == 5.0 and second.manifest["machine"]["rep_rate_kHz"] == 10.0
    assert [layer["name"] for layer in first.manifest["layers"]][:2] == ["fiducials", "labels"]
    assert not any(layer["name"] in ("fiducials", "labels") for layer in second.manifest["layers"])
    assert sum(c["written"] for c in second.manifest["promises"]["cells"]) == 2


@pytest.mark.parametrize("args, message", [
    (["--energies", "100:500:100"], "500 uJ is outside the 0..400 uJ"),
    (["--energies", "100", "--mark-energy-uj", "450"], "fiducial/label recipe"),
    (["--speeds", "1,2"], "cannot sweep speed"),
    (["--energies", "100,200", "--dwells", "1,2", "--passes", "1,2"], "at most two"),
    (["--passes", "1.5,2"], "whole numbers"),
    (["--cell-um", "255"], "whole multiples"),
    (["--cell-um", "60", "--pitch-um", "20"], "labels"),
    (["--energies", "1:2:x0.5"], "factor must be > 1"),
    (["--mode", "lines", "--speeds", "100,200"], "exceeds the max rate"),
    (["--origin", "99,99"], "outside the travel"),
])
def test_bad_grids_are_one_line_errors(tmp_path, args, message):
    result = CliRunner().invoke(main, ["calibrate", "grid", *args, "-o", str(tmp_path / "g.gcode")])
    assert result.exit_code == 2
    assert message in result.output and result.output.count("\n") == 1


def test_attenuator_range_limits_the_grid(tmp_path):
    profile = tmp_path / "rig.toml"
    text = (Path(__file__).resolve().parents[2] / "lasergen" / "profiles" / "pi-c884.toml").read_text()
    profile.write_text(text.replace("theta0_deg = 0.0", "theta0_deg = 0.0\ncalibrated_uJ = [20.0, 300.0]\n"
                                                         "calibrated_on = \"2025-01-02\""))
    result = CliRunner().invoke(main, ["calibrate", "grid", "--energies", "100:350:50", "--machine", str(profile),
                                       "-o", str(tmp_path / "g.job")])
    assert result.exit_code == 2 and "20..300 uJ" in result.output and "2025-01-02" in result.output
