"""A vector job through the simulator: it renders like a raster one, a drawn "F" reads "F"
from the laser side, and `verify` finds the glow matching the promised shape (IoU >= 0.9),
and fails a job whose body no longer writes it."""

import json

import numpy as np
from click.testing import CliRunner

from hardware_sim.glass.shape_check import shape_iou
from hardware_sim.glass.simulate import simulate_job
from lasergen_cli import main

from .vector_helpers import F_SVG, SHAPE_SVG, shape_expected_machine, write


def _job(tmp_path, svg_text, *options):
    out = tmp_path / "job.gcode"
    result = CliRunner().invoke(main, ["svg", str(write(tmp_path, "d.svg", svg_text)), "-o", str(out), *options])
    assert result.exit_code == 0, result.output
    return out


def test_filled_shape_render_matches_the_drawing(tmp_path):
    job = _job(tmp_path, SHAPE_SVG, "--fill", "hatch", "--hatch-um", "15")
    result = CliRunner().invoke(main, ["verify", str(job), "--no-margin", "--json"])
    assert result.exit_code == 0, result.output
    checks = json.loads(result.output)["checks"]
    shape = [c for c in checks if c["kind"] == "shape"]
    assert shape and shape[0]["ok"], checks
    # and independently of the promise: the glow against the shape computed from the file's numbers
    prediction, _ = simulate_job(job)
    iou, details = shape_iou(prediction, shape_expected_machine().union(_stroke_region()))
    assert iou >= 0.9, details


def _stroke_region():
    from shapely import affinity
    from shapely.geometry import LineString

    t = np.linspace(0, 1, 200)[:, None]
    p0, p1, p2 = np.array([20, 190]), np.array([100, 150]), np.array([180, 190])
    curve = (1 - t) ** 2 * p0 + 2 * (1 - t) * t * p1 + t ** 2 * p2
    line = affinity.affine_transform(LineString(curve * 0.01), [1, 0, 0, -1, 10.0, 12.0])
    return line.buffer(0.0075)


def test_verify_fails_when_the_body_no_longer_writes_the_shape(tmp_path):
    job = _job(tmp_path, SHAPE_SVG, "--hatch-um", "15")
    lines = job.read_text().splitlines()
    marks = [i for i, line in enumerate(lines) if line.startswith(("G1", "X")) and "S200" in line]
    for i in marks[len(marks) // 2:]:  # the second half of the marks is written blank
        lines[i] = lines[i].replace("S200", "S0")
    job.write_text("\n".join(lines) + "\n")
    result = CliRunner().invoke(main, ["verify", str(job), "--no-margin", "--no-checksum"])
    assert result.exit_code == 1, result.output
    assert "does not match the promised shape" in result.output


def test_drawn_F_reads_F_from_the_laser_side(tmp_path):
    job = _job(tmp_path, F_SVG, "--hatch-um", "15")
    prediction, _ = simulate_job(job)
    glow = prediction.render("uv365").rgb.max(axis=2) > 60  # image orientation, row 0 at the top
    rows, cols = np.nonzero(glow)
    f = glow[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    h, w = f.shape
    assert f[: h // 8].mean() > 0.8  # the top bar spans the letter
    assert f[-h // 8:, : w // 3].mean() > 0.8 and f[-h // 8:, w // 2:].mean() < 0.05  # the foot is the stem
    assert f[h // 2 - h // 10: h // 2, : w * 2 // 3].mean() > 0.7  # the middle bar, to the right of the stem
    assert f[h * 5 // 16: h * 6 // 16, w // 2:].mean() < 0.05  # the gap between the bars is on the right
