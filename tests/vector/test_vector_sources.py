"""Vector sources: DXF, GDSII and point lists read into the geometry a user drew, and bad
input refused from the command line with one line naming the element or row (exit 2)."""

import sys

import ezdxf
import gdstk
import numpy as np
import pytest
from click.testing import CliRunner

from lasergen import LasergenError
from lasergen.build import single_layer_pattern
from lasergen.planner import plan
from lasergen import Recipe
from lasergen.sources import make_artwork
from lasergen_cli import main

from .vector_helpers import write


def _cli(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_line_error(result, *needles):
    assert result.exit_code == 2, result.output
    lines = result.output.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lasergen: error: "), result.output
    for needle in needles:
        assert needle in lines[0], lines[0]
    return lines[0]


def _dxf(tmp_path, extra=None):
    doc = ezdxf.new(units=4)  # millimetres
    msp = doc.modelspace()
    msp.add_lwpolyline([(10, 10), (12, 10), (12, 11), (10, 11)], close=True, dxfattribs={"layer": "CUT"})
    msp.add_circle((15, 10.5), 0.5, dxfattribs={"layer": "MARK"})
    msp.add_point((13, 12), dxfattribs={"layer": "DOTS"})
    if extra:
        extra(msp)
    path = tmp_path / "part.dxf"
    doc.saveas(path)
    return path


def test_dxf_layers_units_and_extents(tmp_path):
    art = make_artwork({"kind": "dxf", "path": str(_dxf(tmp_path))})
    assert sorted(art.groups) == ["CUT", "DOTS", "MARK"]
    assert art.meta["size_mm"] == pytest.approx([5.5, 2.0])  # extents: x 10..15.5, y 10..12
    cut = art.groups["CUT"]
    assert cut.stroke_length_mm == pytest.approx(6.0)
    circle = art.groups["MARK"].strokes[0]  # image orientation: centre (5, 2 - 0.5)
    radius = np.hypot(circle[:, 0] - 5.0, circle[:, 1] - 1.5)
    assert np.abs(radius - 0.5).max() < 0.5e-3  # within the 0.5 um chord tolerance
    assert art.groups["MARK"].stroke_length_mm == pytest.approx(np.pi, rel=1e-4)
    # CAD y grows upwards: the point at the top of the drawing is at image y = 0
    assert art.groups["DOTS"].points.tolist() == [[3.0, 0.0]]
    filled = make_artwork({"kind": "dxf", "path": str(_dxf(tmp_path)), "fill_closed": True, "layers": ["CUT"]})
    assert filled.groups["CUT"].fills.area == pytest.approx(2.0)


def test_dxf_unsupported_entity_is_named(tmp_path):
    path = _dxf(tmp_path, lambda msp: msp.add_text("SN 42", dxfattribs={"layer": "NOTES"}))
    result = _cli("dxf", path, "-o", tmp_path / "j.gcode")
    _one_line_error(result, "entity TEXT", "layer 'NOTES'", "not supported")
    ok = _cli("dxf", path, "--layers", "CUT,MARK", "-o", tmp_path / "j.gcode")  # leaving the layer out works
    assert ok.exit_code == 0, ok.output


def test_missing_cad_extra_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "ezdxf", None)
    monkeypatch.setitem(sys.modules, "gdstk", None)
    _one_line_error(_cli("dxf", _dxf(tmp_path), "-o", tmp_path / "j.gcode"), 'pip install "lasergen[cad]"')
    (tmp_path / "c.gds").write_bytes(b"")
    _one_line_error(_cli("gds", tmp_path / "c.gds", "-o", tmp_path / "j.gcode"), 'pip install "lasergen[cad]"')


def _gds(tmp_path):
    lib = gdstk.Library(unit=1e-6, precision=1e-9)
    cell = lib.new_cell("CHIP")
    cell.add(gdstk.rectangle((0, 0), (200, 100), layer=1, datatype=0))
    cell.add(gdstk.rectangle((100, 0), (300, 100), layer=1, datatype=0))  # overlaps: unioned
    cell.add(gdstk.FlexPath([(0, 150), (300, 150)], 10, layer=2, datatype=0))  # a waveguide
    path = tmp_path / "chip.gds"
    lib.write_gds(path)
    return path


def test_gds_layers_are_unioned_and_selectable(tmp_path, machine):
    art = make_artwork({"kind": "gds", "path": str(_gds(tmp_path))})
    assert sorted(art.groups) == ["1/0", "2/0"]
    assert art.groups["1/0"].fills.area == pytest.approx(0.3 * 0.1)  # 300 x 100 um, overlap counted once
    assert art.groups["2/0"].fills.area == pytest.approx(0.3 * 0.01)
    one = make_artwork({"kind": "gds", "path": str(_gds(tmp_path)), "layer": "2/0"})
    assert list(one.groups) == ["2/0"]
    with pytest.raises(LasergenError, match="no polygons on layer 7/0"):
        make_artwork({"kind": "gds", "path": str(_gds(tmp_path)), "layer": "7/0"})
    result = _cli("gds", _gds(tmp_path), "--layer", "1/0", "--hatch-um", "10", "-o", tmp_path / "chip.gcode", "--json")
    assert result.exit_code == 0, result.output


def test_points_are_relative_to_the_origin_with_their_own_energy_and_dwell(tmp_path, machine):
    csv = write(tmp_path, "spots.csv", "x_mm,y_mm,energy_uJ,dwell_s\n0,0,,\n1.5,0.5,120,0.5\n0.25,2,,2.0\n")
    art = make_artwork({"kind": "points", "path": str(csv)})
    pattern = single_layer_pattern(art, Recipe(energy_uJ=200.0, dwell_s=1.0), (20.0, 30.0), "points")
    path = plan(pattern, machine)
    dots = path.is_dwell
    got = {(round(x, 6), round(y, 6)): (e, round(float(d), 6)) for x, y, e, d in
           zip(path.x0[dots], path.y0[dots], path.energy_uJ[dots], path.dwell_s[dots])}
    assert got == {(20.0, 30.0): (200.0, 1.0), (21.5, 30.5): (120.0, 0.5), (20.25, 32.0): (200.0, 2.0)}


@pytest.mark.parametrize("text, needles", [
    ("x_mm,energy_uJ\n1,2\n", ["lacks column 'y_mm'"]),
    ("x_mm,y_mm\n1,2\n3,abc\n", ["row 3", "'y_mm' is 'abc', not a number"]),
    ("x_mm,y_mm\n1,2\n1,nan\n", ["row 3", "not a finite number"]),
    ("x_mm,y_mm,dwell_s\n1,2,0\n", ["row 2", "dwell_s must be > 0"]),
    ("x_mm,y_mm\n1,2\n1,2\n", ["rows 2 and 3", "written twice"]),
    ("x_mm,y_mm,z_um\n1,2,0\n1,3,-50\n", ["row 3", "z_um"]),
    ("x_mm,y_mm,power\n1,2,3\n", ["unknown column 'power'"]),
    ("x_mm,x_mm,y_mm\n1,2,3\n", ["'x_mm' appears twice"]),
    ("x_mm,y_mm\n1\n", ["row 2", "1 cells"]),
    ("x_mm,y_mm\n", ["no drawable elements"]),
])
def test_bad_point_lists_name_the_row(tmp_path, text, needles):
    _one_line_error(_cli("points", write(tmp_path, "p.csv", text), "-o", tmp_path / "j.gcode"), *needles)


@pytest.mark.parametrize("body, needles", [
    ("<g/><rect width='1' height='1' fill='none'/>", ["no drawable elements", "1 rect"]),
    ("<text x='1' y='1'>SN</text><path d='M0 0 H1' stroke='black'/>", ["<text>", "'SN'", "convert text to paths"]),
    ("<image href='x.png' width='1' height='1'/>", ["embedded raster image"]),
])
def test_bad_svgs_are_one_line(tmp_path, body, needles):
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="2mm" height="2mm" viewBox="0 0 2 2">{body}</svg>'
    _one_line_error(_cli("svg", write(tmp_path, "bad.svg", svg), "-o", tmp_path / "j.gcode"), *needles)
    assert not (tmp_path / "j.gcode").exists()


def test_not_an_svg_is_one_line(tmp_path):
    _one_line_error(_cli("svg", write(tmp_path, "x.svg", "not xml at all <"), "-o", tmp_path / "j.gcode"), "x.svg")
