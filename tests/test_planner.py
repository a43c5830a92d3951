"""Planner: row merging, serpentine order, overscan, layers and passes, dots ordering, limits."""

import numpy as np
import pytest

from lasergen import LasergenError
from lasergen.ordering import greedy_order, order_points, path_length
from lasergen import Layer, Pattern
from lasergen.planner import plan
from lasergen import Recipe
from lasergen.recipe import PRESETS
from lasergen.toolpath import LINE

from .raster_helpers import rasterize_marks


def _pattern(mask, **recipes):
    return Pattern(100.0, [Layer(np.array(mask, bool))], (10.0, 10.0), {**PRESETS, **recipes})


def marks_of(path):
    m = path.is_mark
    return np.column_stack([path.x0[m], path.y0[m], path.x1[m], path.y1[m]])


def test_runs_are_merged_into_one_mark_each(machine):
    path = plan(_pattern([[1, 1, 1, 0, 1]]), machine)
    marks = marks_of(path)
    assert len(marks) == 2
    np.testing.assert_allclose(sorted(np.abs(marks[:, 2] - marks[:, 0])), [0.1, 0.3])
    assert np.all(path.energy_uJ[path.is_mark] == 200.0)


def test_serpentine_alternates_direction_top_line_first(machine):
    path = plan(_pattern([[1, 1], [1, 1], [1, 1]]), machine)
    marks = marks_of(path)
    assert marks[0, 1] > marks[1, 1] > marks[2, 1]  # top row (image row 0) first
    directions = np.sign(marks[:, 2] - marks[:, 0])
    assert directions.tolist() == [1, -1, 1]


def test_marks_are_written_at_constant_speed_after_a_lead_in(machine):
    path = plan(_pattern([[0, 1, 1, 0]], write=Recipe(speed_mm_s=5.0)), machine)
    first_mark = np.flatnonzero(path.is_mark)[0]
    lead_in = first_mark - 1
    assert path.kind[lead_in] == LINE and path.energy_uJ[lead_in] == 0
    run_up_mm = path.length_mm[lead_in]
    assert run_up_mm >= 5.0 ** 2 / (2 * min(machine.accel_mm_s2))  # long enough to reach 5 mm/s
    from lasergen.backends.grbl.motion import profile

    prof = profile(path, machine)
    assert prof.v_entry[first_mark] == pytest.approx(5.0)
    assert prof.v_exit[first_mark] == pytest.approx(5.0)


def test_layers_in_order_and_rewrite_is_a_second_exposure(machine):
    base = np.array([[1, 1, 1]], bool)
    top = np.array([[0, 1, 0]], bool)
    pat = Pattern(100.0, [Layer(base, "write", "w"), Layer(top, "rewrite", "rw")], (10.0, 10.0))
    path = plan(pat, machine)
    layers = path.layer[path.is_mark]
    assert layers.tolist() == sorted(layers.tolist()) and set(layers.tolist()) == {0, 1}
    exposures = rasterize_marks(path.take(path.layer == 0), 100.0, (10.0, 10.0), (0.3, 0.1)).astype(int) + \
        rasterize_marks(path.take(path.layer == 1), 100.0, (10.0, 10.0), (0.3, 0.1)).astype(int)
    assert exposures.tolist() == [[1, 2, 1]]


def test_passes_repeat_and_reverse(machine):
    path = plan(_pattern([[1, 1], [0, 0], [1, 1]], write=Recipe(passes=2)), machine)
    m = path.is_mark
    assert len(np.unique(path.pass_id)) == 2
    ys = path.y0[m]
    assert ys[0] > ys[1] and ys[2] < ys[3]  # second pass runs bottom-up
    assert abs(path.x1[m][1] - path.x0[m][2]) < 0.05  # and starts where the first ended


def test_dots_dwell_once_per_pixel_with_short_travel(machine):
    rng = np.random.default_rng(1)
    mask = rng.random((30, 30)) < 0.3
    path = plan(_pattern(mask, write=Recipe(mode="dots", dwell_s=1.2)), machine)
    dots = path.is_dwell
    assert dots.sum() == mask.sum()
    assert np.all(path.dwell_s[dots] == np.float32(1.2))
    xy = np.column_stack([path.x0[dots], path.y0[dots]])
    assert len(np.unique(np.round(xy, 6), axis=0)) == mask.sum()  # no pixel dwelt twice


def test_ordering_never_worse_than_greedy():
    rng = np.random.default_rng(3)
    points = rng.random((3000, 2)) * 10
    greedy = path_length(points, greedy_order(points, (0, 0)), (0, 0))
    ours = path_length(points, order_points(points, (0, 0)), (0, 0))
    assert ours <= greedy
    assert ours < 0.97 * greedy  # 2-opt finds real improvements on scattered points


@pytest.mark.parametrize("recipe, message", [
    (Recipe(energy_uJ=500.0), "500.0 uJ exceeds"),
    (Recipe(rep_rate_kHz=100.0), "100.0 kHz but the laser runs at 10.0 kHz"),
    (Recipe(speed_mm_s=80.0), "80.0 mm/s exceeds"),
])
def test_limits_refused_with_numbers(machine, recipe, message):
    with pytest.raises(LasergenError, match=message):
        plan(_pattern([[1]], write=recipe), machine)


def test_outside_travel_is_refused_with_extent(machine):
    pat = Pattern(100.0, [Layer(np.ones((2, 2), bool))], (99.9, 50.0))
    with pytest.raises(LasergenError, match=r"X .*100\.\d+ mm.*outside the travel X 0..100"):
        plan(pat, machine)


def test_recipe_validation():
    with pytest.raises(LasergenError, match="passes must be an integer"):
        Recipe(passes=0)
    with pytest.raises(LasergenError, match="unknown key"):
        Recipe.from_dict({"energy": 3})
