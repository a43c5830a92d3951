"""Vector planning end to end on the library: an SVG with nested transforms, a mm viewBox,
arcs and a filled shape with a hole becomes hatch marks inside the shape, of its area; strokes
are followed at the programmed speed (GRBL's planner model), corners gated; GRBL's parser
accepts the job."""

import numpy as np
import pytest
import shapely

from lasergen.backends.grbl.gcode.reader import interpret_program
from lasergen.backends.grbl.motion import profile
from lasergen.build import single_layer_pattern
from lasergen.job import render_job
from lasergen.planner import plan
from lasergen import Recipe
from lasergen.sources import make_artwork
from lasergen.spec import pattern_from_spec

from .vector_helpers import LAYERED_SVG, SHAPE_SVG, SQUARE_AND_CIRCLE_SVG, marks, shape_expected_machine, write

HATCH_UM = 15.0


def _plan(tmp_path, machine, text, recipe=Recipe(hatch_um=HATCH_UM), **source):
    art = make_artwork({"kind": "svg", "path": str(write(tmp_path, "d.svg", text)), **source})
    pattern = single_layer_pattern(art, recipe, (10.0, 10.0), "svg")
    return pattern, plan(pattern, machine)


def test_filled_shape_with_hole_is_hatched_inside_with_its_area(tmp_path, machine):
    pattern, path = _plan(tmp_path, machine, SHAPE_SVG, strokes=False)
    expected = shape_expected_machine()
    read = pattern.to_machine(pattern.layers[0].shapes).fills
    # chords within 0.5 um along ~2.2 mm of arcs cut off at most ~1e-3 mm^2
    assert read.symmetric_difference(expected).area < 1e-3
    m = marks(path)
    hatch_area = np.hypot(m[:, 2] - m[:, 0], m[:, 3] - m[:, 1]).sum() * HATCH_UM / 1000.0
    assert hatch_area == pytest.approx(expected.area, rel=0.02)
    segments = shapely.linestrings(m.reshape(-1, 2, 2))
    # no mark outside the shape by more than the stated chord tolerance (0.5 um) and rounding
    assert shapely.within(segments, expected.buffer(0.5e-3 + 1e-5)).all()
    assert not shapely.within(segments, expected.buffer(-2e-3)).all()  # the test can fail: marks reach the edge


def test_hole_is_not_written(tmp_path, machine):
    _, path = _plan(tmp_path, machine, SHAPE_SVG, strokes=False)
    expected = shape_expected_machine()
    hole = expected.interiors[0] if hasattr(expected, "interiors") else list(expected.geoms)[0].interiors[0]
    hole_poly = shapely.Polygon(hole).buffer(-1e-3)
    segments = shapely.linestrings(marks(path).reshape(-1, 2, 2))
    assert not shapely.intersects(segments, hole_poly).any()
    assert hole_poly.area > 0.1  # the disc of radius 0.25 mm really is a hole


def test_marks_run_at_programmed_speed_and_beam_is_off_otherwise(tmp_path, machine):
    recipe = Recipe(hatch_um=HATCH_UM, speed_mm_s=5.0, outline=True)
    _, path = _plan(tmp_path, machine, SHAPE_SVG, recipe)
    prof = profile(path, machine)
    m = path.is_mark
    for v in (prof.v_entry[m], prof.v_exit[m], prof.v_peak[m]):
        np.testing.assert_allclose(v, 5.0, rtol=1e-6)
    assert not (path.is_mark & (path.is_rapid)).any()


def test_sharp_corners_stop_with_the_beam_gated_curves_do_not(tmp_path, machine):
    _, path = _plan(tmp_path, machine, SQUARE_AND_CIRCLE_SVG, Recipe(speed_mm_s=5.0))
    assert (path.is_rapid).sum() == 4 + 1  # the square: one run per side; the circle: one run
    prof = profile(path, machine)
    m = path.is_mark
    np.testing.assert_allclose(prof.v_entry[m], 5.0, rtol=1e-6)
    np.testing.assert_allclose(prof.v_exit[m], 5.0, rtol=1e-6)
    circle = path.x1[m] > 12.0
    radius = np.hypot(path.x1[m][circle] - 13.0, path.y1[m][circle] - 11.0)
    np.testing.assert_allclose(radius, 0.75, atol=1e-9)  # chord ends on the circle
    chord_mid = np.hypot((path.x0[m][circle] + path.x1[m][circle]) / 2 - 13.0,
                         (path.y0[m][circle] + path.y1[m][circle]) / 2 - 11.0)
    assert (0.75 - chord_mid).max() <= 0.5e-3 + 1e-9  # within the stated 0.5 um chord tolerance


def test_grbl_parser_accepts_the_job_and_reads_back_the_marks(tmp_path, machine):
    pattern, path = _plan(tmp_path, machine, SHAPE_SVG, Recipe(hatch_um=HATCH_UM, outline=True))
    text = render_job(pattern, path, machine)
    back = interpret_program(text.splitlines(), machine).toolpath  # every line through the interpreter
    np.testing.assert_allclose(marks(back), marks(path), atol=6e-5)  # G-code keeps 4 decimals
    assert back.energy_uJ[back.is_mark].min() == pytest.approx(200.0)


def test_second_pass_retraces_backwards_from_where_the_first_ended(tmp_path, machine):
    _, path = _plan(tmp_path, machine, SQUARE_AND_CIRCLE_SVG, Recipe(passes=2, speed_mm_s=1.0))
    first, second = (marks(path.take(path.pass_id == p)) for p in (0, 1))
    np.testing.assert_allclose(second, first[::-1][:, [2, 3, 0, 1]])


def test_stroke_order_reverses_strokes_to_save_travel(tmp_path, machine):
    lines = "".join(f'<path d="M {0.1 + 0.2 * i} 0.1 V 0.9" stroke="black" fill="none"/>' for i in range(5))
    svg = f'<svg xmlns="http://www.w3.org/2000/svg" width="1mm" height="1mm" viewBox="0 0 1 1">{lines}</svg>'
    _, path = _plan(tmp_path, machine, svg, Recipe(speed_mm_s=1.0))
    m = marks(path)
    assert np.all(np.sign(m[1:, 3] - m[1:, 1]) == -np.sign(m[:-1, 3] - m[:-1, 1]))  # alternate up and down


def test_cross_hatch_adds_the_perpendicular_family(tmp_path, machine):
    _, one = _plan(tmp_path, machine, SHAPE_SVG, Recipe(hatch_um=50.0), strokes=False)
    _, both = _plan(tmp_path, machine, SHAPE_SVG, Recipe(hatch_um=50.0, cross_hatch=True, hatch_angle_deg=45.0),
                    strokes=False)
    m = marks(both)
    angles = np.round(np.degrees(np.arctan2(m[:, 3] - m[:, 1], m[:, 2] - m[:, 0])) % 180)
    assert set(angles.tolist()) == {45.0, 135.0}
    length = lambda a: np.hypot(a[:, 2] - a[:, 0], a[:, 3] - a[:, 1]).sum()  # noqa: E731
    assert length(m) == pytest.approx(2 * length(marks(one)), rel=0.03)


def test_per_layer_recipes_from_the_spec(tmp_path, machine):
    write(tmp_path, "layers.svg", LAYERED_SVG)
    spec = {"pattern": {"origin_mm": [5.0, 5.0]},
            "recipes": {"line": {"energy_uJ": 150.0}, "fill": {"energy_uJ": 250.0, "hatch_um": 20.0}},
            "layers": [{"name": "art", "recipe": "line", "source": {"kind": "svg", "path": "layers.svg"},
                        "layer_recipes": {"Fill": "fill"}}]}
    pattern = pattern_from_spec(spec, tmp_path)
    assert [(layer.name, layer.recipe) for layer in pattern.layers] == [("art:Outline", "line"), ("art:Fill", "fill")]
    path = plan(pattern, machine)
    m = path.is_mark
    fill_marks = m & (path.x0 > 6.5)
    assert set(path.energy_uJ[fill_marks].tolist()) == {250.0}
    assert set(path.energy_uJ[m & ~fill_marks].tolist()) == {150.0}
    spec["layers"][0]["layer_recipes"] = {"Fil": "fill"}
    with pytest.raises(Exception, match="group 'Fil'.*groups: 'Fill', 'Outline'"):
        pattern_from_spec(spec, tmp_path)


def test_width_mm_scales_the_document(tmp_path, machine):
    art = make_artwork({"kind": "svg", "path": str(write(tmp_path, "s.svg", SHAPE_SVG)), "width_mm": 5.0})
    expected = shape_expected_machine()
    group = next(iter(art.groups.values()))
    assert group.box_mm == pytest.approx((5.0, 5.0))
    assert group.fills.area == pytest.approx(expected.area * 2.5 ** 2, rel=1e-4)
