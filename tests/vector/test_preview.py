"""`lasergen preview`: any G-code drawn as the controller will run it, seen from the laser side."""

import json

import numpy as np
from click.testing import CliRunner
from PIL import Image

from lasergen.preview import CAPTION_PX, PASS_COLOURS, _ramp
from lasergen_cli import main

HAND_WRITTEN = """G21 G90
G0 X10 Y10
M3 S100
G1 X12 Y10 F120
G1 X12 Y12 S300
M5
G0 X10 Y12
G1 F600 M3 S200
G4 P2
M5
G0 X11 Y11
G1 F600 M3 S200
G4 P0.2
M5
G2 X11 Y10.5 I0 J-0.25 S150 M3
M5
"""


def _preview(tmp_path, text, *options):
    job = tmp_path / "hand.gcode"
    job.write_text(text)
    out = tmp_path / "p.png"
    result = CliRunner().invoke(main, ["preview", str(job), "-o", str(out), "--size-px", "400", "--json", *options])
    assert result.exit_code == 0, result.output
    return json.loads(result.output), np.asarray(Image.open(out).convert("RGB"))


def _at(info, image, x_mm, y_mm):
    """The pixel of machine (x, y): X to the right, Y up (row 0 is the largest Y)."""
    mm = info["um_per_px"] / 1000.0
    rows = image.shape[0] - CAPTION_PX
    x0, y0, x1, y1 = info["bounds_mm"]
    # the canvas pads the marks' bounds by 8 px on every side
    col = int((x_mm - x0) / mm + 8)
    row = int((y1 - y_mm) / mm + 8)
    assert 0 <= row < rows
    return image[row - 1:row + 2, col - 1:col + 2].reshape(-1, 3)  # 3 x 3: rounding may move a line by 1 px


def _has(pixels, colour) -> bool:
    return bool((pixels == np.asarray(colour, dtype=np.uint8)).all(axis=1).any())


def test_marks_coloured_by_energy_dots_by_dwell_and_upright(tmp_path):
    info, image = _preview(tmp_path, HAND_WRITTEN)
    assert info["dots"] == 2 and info["marks"] > 5  # the arc is cut into chords, as GRBL does
    ramp = _ramp(256)
    assert _has(_at(info, image, 11.0, 10.0), ramp[0])  # 100 uJ along the bottom
    assert _has(_at(info, image, 12.0, 11.0), ramp[-1])  # 300 uJ up the right side
    assert not _has(_at(info, image, 11.0, 10.0), ramp[-1])
    # the long dwell's disc is larger than the short one's
    big = (np.abs(image[:-CAPTION_PX].astype(int) - ramp[128]).sum(axis=2) < 3)
    rows, cols = np.nonzero(big)
    top = rows < image.shape[0] // 3  # the 2 s dot is at Y = 12, the top of the view
    assert top.sum() > 2 * (~top).sum() > 0


def test_colour_by_pass_and_travel_dashed(tmp_path):
    text = ";@pass 0 layer 0\nM3S0\nG0X10Y10\nG1X12Y10F60S200\nM5\n;@pass 1 layer 0\nM3S0\nG0X10Y11\nG1X12Y11F60S200\nM5\n"
    info, image = _preview(tmp_path, text, "--colour-by", "pass")
    assert _has(_at(info, image, 11.0, 10.0), PASS_COLOURS[0])
    assert _has(_at(info, image, 11.0, 11.0), PASS_COLOURS[1])
    # the travel from the end of pass 0 (12, 10) to (10, 11): dashed, so some samples are grey, some white
    t = np.linspace(0.1, 0.9, 200)
    grey = [_has(_at(info, image, 12 - 2 * s, 10 + s), (150, 150, 150)) for s in t]
    assert any(grey) and not all(grey)


def test_a_job_without_moves_is_a_clear_error(tmp_path):
    job = tmp_path / "empty.gcode"
    job.write_text("G21\nM5\n")
    result = CliRunner().invoke(main, ["preview", str(job), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "no moves" in result.output
    job.write_text("G1 X1\n")  # GRBL refuses a G1 without a feed rate: error:22, named with its line
    result = CliRunner().invoke(main, ["preview", str(job), "-o", str(tmp_path / "x.png")])
    assert result.exit_code == 2 and "line 1" in result.output


def test_a_job_drawn_in_small_blocks_is_the_same_picture(tmp_path, monkeypatch):
    from lasergen import preview

    text = HAND_WRITTEN + "M3\n" + "".join(f"G0X{10 + i * 0.05:.2f}Y9\nG1X{10.02 + i * 0.05:.2f}F300S{50 + 5 * i}\n"
                                  for i in range(40)) + "M5\n"
    _, whole = _preview(tmp_path, text)
    monkeypatch.setattr(preview, "BLOCK_ROWS", 3)
    _, blocked = _preview(tmp_path, text)
    assert np.array_equal(whole, blocked)
