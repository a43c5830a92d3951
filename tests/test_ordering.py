"""Travel ordering: dot tours (greedy matching + 2-opt/Or-opt) are permutations from the start
point and beat the older greedy + bounded 2-opt; strokes are ordered and turned round."""

import numpy as np
import pytest

from lasergen import kernels
from lasergen.ordering import (greedy_edge_order, greedy_order, improve_path, order_points, order_strokes,
                               path_length, stroke_travel_mm, two_opt)


def test_dot_tour_is_a_permutation_and_shorter_than_the_older_method():
    rng = np.random.default_rng(4)
    points = rng.random((3000, 2)) * 20
    start = (0.0, 0.0)
    ours = order_points(points, start)
    assert sorted(ours.tolist()) == list(range(len(points)))
    older = path_length(points, two_opt(points, greedy_order(points, start)), start)
    assert path_length(points, ours, start) < (0.97 if kernels.get() else 1.0001) * older


@pytest.mark.skipif(kernels.compiled is None, reason="built without the compiled kernels")
def test_local_search_never_lengthens_and_starts_nearest_the_start():
    rng = np.random.default_rng(8)
    points = np.round(rng.random((800, 2)) * 10, 2)  # duplicates and collinear points included
    points[::50] = points[1]
    start = (5.0, 5.0)
    for initial in (np.arange(len(points)), greedy_edge_order(points, start), rng.permutation(len(points))):
        better = improve_path(points, initial, start)
        assert sorted(better.tolist()) == list(range(len(points)))
        assert path_length(points, better, start) <= path_length(points, initial, start) + 1e-9


def test_numpy_fallback_still_orders(monkeypatch):
    monkeypatch.setattr(kernels, "compiled", None)
    rng = np.random.default_rng(2)
    points = rng.random((500, 2))
    order = order_points(points, (0, 0))
    assert sorted(order.tolist()) == list(range(500))


def test_strokes_are_turned_round_into_a_serpentine():
    y = np.arange(10) * 0.1
    starts = np.column_stack([np.zeros(10), y])  # every stroke given left to right, bottom up
    ends = np.column_stack([np.full(10, 5.0), y])
    order, flipped = order_strokes(starts, ends, start=(0.0, 0.0))
    assert sorted(order.tolist()) == list(range(10))
    assert stroke_travel_mm(starts, ends, order, flipped) == pytest.approx(0.9)  # only the line steps
    assert flipped.tolist() == [k % 2 == 1 for k in range(10)]


def test_scattered_strokes_travel_less_than_greedy():
    from lasergen.ordering import _greedy_strokes

    rng = np.random.default_rng(3)
    a = rng.random((600, 2)) * 30
    b = a + rng.normal(0, 1, a.shape)
    order, flipped = order_strokes(a, b)
    assert sorted(order.tolist()) == list(range(600))
    greedy = stroke_travel_mm(a, b, *_greedy_strokes(a, b, (0.0, 0.0)))
    assert stroke_travel_mm(a, b, order, flipped) < 0.95 * greedy
