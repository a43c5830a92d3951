"""Sanity warnings: valid but suspicious jobs plan, with one line each on stderr (never stdout)."""

import numpy as np
from click.testing import CliRunner
from PIL import Image

from lasergen_cli import main


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def logo(tmp_path):
    img = np.full((30, 30), 255, np.uint8)
    img[5:25, 5:25] = 0
    Image.fromarray(img).save(tmp_path / "logo.png")
    return tmp_path / "logo.png"


def test_features_smaller_than_the_spot_are_warned(tmp_path):
    res = run("bitmap", logo(tmp_path), "-o", tmp_path / "b.gcode", "--pixel-um", "0.5", "--json")
    assert res.exit_code == 0, res.output
    assert "lasergen: warning: features of 0.5 um" in res.stderr and "smaller than" in res.stderr
    assert '"warnings": ["features of 0.5 um' in res.stdout  # in the JSON too, not as a stray line
    res = run("bitmap", logo(tmp_path), "-o", tmp_path / "b.gcode", "--pixel-um", "20")
    assert res.exit_code == 0 and "warning" not in res.stderr


def test_a_job_longer_than_the_stated_time_is_warned(tmp_path):
    res = run("bitmap", logo(tmp_path), "-o", tmp_path / "b.gcode", "--max-hours", "0.001")
    assert res.exit_code == 0 and "more than 0.001 h (--max-hours)" in res.stderr


def test_degenerate_jobs_read_back_are_warned(tmp_path):
    (tmp_path / "zero.gcode").write_text("G21G90G94\nG0X1Y1\nM3S100\nG1X1Y1F100\nM5\n")
    res = run("estimate", tmp_path / "zero.gcode")
    assert res.exit_code == 0 and "1 zero-length move(s) with the beam on" in res.stderr
    (tmp_path / "dark.gcode").write_text("G21G90G94\nG0X1Y1\nG1X2Y2F100\n")
    res = run("estimate", tmp_path / "dark.gcode")
    assert res.exit_code == 0 and "never fires the laser" in res.stderr


def test_unknown_simulated_material_is_warned(tmp_path):
    assert run("qr", "M", "-o", tmp_path / "q.gcode").exit_code == 0
    res = run("stream", tmp_path / "q.gcode", "--port", "sim://?material=XYZ", "--no-progress",
              "--journal", tmp_path / "q.journal", "--ledger", tmp_path / "q.npz")
    assert "material 'XYZ' is unknown" in res.stderr and "warning" not in res.stdout
