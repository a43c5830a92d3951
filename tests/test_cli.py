"""The command line: the documented commands work, `--json` prints one object, bad input is one
line on stderr with exit code 2 and never a traceback."""

import json

import numpy as np
import pytest
import zxingcpp
from click.testing import CliRunner
from PIL import Image

from lasergen.job import read_job
from lasergen_cli import main

from .raster_helpers import rasterize_marks
from .conftest import PATTERNS


def run(*args):
    result = CliRunner().invoke(main, [str(a) for a in args])
    return result


def test_qr_job_decodes_from_its_toolpath(tmp_path):
    payload = "https://example.org/p/0001"
    res = run("qr", payload, "-o", tmp_path / "qr.gcode", "--json")
    assert res.exit_code == 0, res.output
    info = json.loads(res.output)
    assert info["marks"] > 0 and info["time_s"] > 0
    job = read_job(tmp_path / "qr.gcode")
    img = rasterize_marks(job.toolpath, 20.0, (10.0, 10.0), (1.0, 1.0))
    picture = np.where(img, 0, 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    found = zxingcpp.read_barcodes(Image.fromarray(picture))
    assert [r.text for r in found] == [payload]
    assert not getattr(found[0], "is_mirrored", False)


def test_estimate_json(tmp_path):
    run("qr", "HELLO", "-o", tmp_path / "a.gcode", "--mode", "dots", "--dwell-s", "1.0")
    res = run("estimate", tmp_path / "a.gcode", "--json")
    est = json.loads(res.output)
    assert res.exit_code == 0
    assert est["dot_count"] == est["mark_count"] > 0
    assert est["dwell_time_s"] == pytest.approx(est["dot_count"] * 1.0)
    assert est["time_s"] > est["dwell_time_s"]


def test_bitmap_and_pattern_commands(tmp_path):
    gray = (np.add.outer(np.arange(40), np.arange(60)) * 2).astype(np.uint8)
    Image.fromarray(gray).save(tmp_path / "logo.png")
    res = run("bitmap", tmp_path / "logo.png", "--pixel-um", 20, "--dither", "floyd-steinberg", "-o",
              tmp_path / "logo.gcode")
    assert res.exit_code == 0, res.output
    spec = tmp_path / "spec.toml"
    spec.write_text('[[layers]]\nname = "t"\nsource = { kind = "text", text = "E", height_um = 400 }\n')
    res = run("pattern", spec, "-o", tmp_path / "t.gcode", "--json")
    assert res.exit_code == 0 and json.loads(res.output)["marks"] > 0


@pytest.mark.parametrize("args, message", [
    (["qr", "x" * 3000, "-o", "{tmp}/q.gcode"], "does not fit"),
    (["qr", "hi", "-o", "{tmp}/q.gcode", "--origin", "99.9,10"], "outside the travel"),
    (["qr", "hi", "-o", "{tmp}/q.gcode", "--origin", "ten,10"], "--origin: must be two numbers"),
    (["qr", "hi", "-o", "{tmp}/q.gcode", "--energy-uj", "900"], "exceeds the machine"),
    (["bitmap", "{tmp}/corrupt.png", "-o", "{tmp}/b.gcode"], "cannot read image"),
    (["pattern", "{tmp}/bad.toml", "-o", "{tmp}/b.gcode"], "bad.toml"),
    (["estimate", "{tmp}/missing.gcode"], "not found"),
    (["estimate", "{tmp}/garbage.gcode"], "error:"),
    (["qr", "hi", "-o", "{tmp}/q.gcode", "--machine", "nonesuch"], "machine profile 'nonesuch' not found"),
])
def test_bad_input_is_one_line_and_exit_2(tmp_path, args, message):
    (tmp_path / "corrupt.png").write_bytes(b"not an image")
    (tmp_path / "bad.toml").write_text("[[layers]\nname=")
    (tmp_path / "garbage.gcode").write_text("G1 X1 Y1 F100\nQ@#!\n")
    res = run(*[a.format(tmp=tmp_path) for a in args])
    assert res.exit_code == 2, res.output
    lines = res.stderr.strip().splitlines() if hasattr(res, "stderr") else res.output.strip().splitlines()
    assert len(lines) == 1 and message in lines[0]
    assert "Traceback" not in res.output


def test_every_shipped_pattern_plans(tmp_path):
    specs = sorted(PATTERNS.glob("*.toml"))
    assert {s.stem for s in specs} >= {"qr_demo", "three_level_EF", "bitmap_demo", "calibration_grid"}
    for spec in specs:
        res = run("pattern", spec, "-o", tmp_path / f"{spec.stem}.gcode", "--json")
        assert res.exit_code == 0, (spec.name, res.output)
        assert json.loads(res.stdout)["marks"] > 0
