"""Travel ordering for dots (and any point-like marks): open-path TSP heuristics.

1. Greedy nearest neighbour over a k-d tree (scipy cKDTree): ask for the k nearest, take the
   first unvisited; the tree is rebuilt on the unvisited points whenever half of them are gone,
   so late queries stay cheap.
2. Bounded 2-opt: candidate edges come from each point's k nearest neighbours, gains are
   computed for all candidates at once (numpy), and the best non-overlapping reversals of at
   most `max_segment` points are applied per sweep, until no gain or `max_sweeps`.
For points on a grid a serpentine by rows is already near optimal, so `order_points` also
tries it and keeps whichever order travels least.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial import cKDTree


def path_length(points: np.ndarray, order: np.ndarray, start=None) -> float:
    p = points[order]
    total = float(np.hypot(*np.diff(p, axis=0).T).sum()) if len(p) > 1 else 0.0
    if start is not None and len(p):
        total += float(np.hypot(*(p[0] - np.asarray(start))))
    return total


def greedy_order(points: np.ndarray, start=(0.0, 0.0)) -> np.ndarray:
    n = len(points)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    visited = np.zeros(n, dtype=bool)
    order = np.empty(n, dtype=np.int64)
    live = np.arange(n)
    tree = cKDTree(points)
    current = np.asarray(start, dtype=float)
    for step in range(n):
        remaining = n - step
        if remaining * 2 < len(live) and remaining > 64:
            live = np.flatnonzero(~visited)
            tree = cKDTree(points[live])
        k = min(8, len(live))
        while True:
            _, idx = tree.query(current, k=k)
            idx = np.atleast_1d(idx)
            cand = live[idx[idx < len(live)]]
            free = cand[~visited[cand]]
            if free.size:
                chosen = free[0]
                break
            if k >= len(live):
                raise RuntimeError("greedy_order: no unvisited point left")  # cannot happen
            k = min(k * 4, len(live))
        order[step] = chosen
        visited[chosen] = True
        current = points[chosen]
    return order


def two_opt(points: np.ndarray, order: np.ndarray, neighbours: int = 8, max_segment: int = 1000,
            max_sweeps: int = 30) -> np.ndarray:
    """Improve an open path by reversing segments; never makes it longer."""
    n = len(order)
    if n < 4:
        return order
    order = order.copy()
    _, near = cKDTree(points).query(points, k=min(neighbours + 1, n))
    near = near[:, 1:]
    for _ in range(max_sweeps):
        pos = np.empty(n, dtype=np.int64)
        pos[order] = np.arange(n)
        p = points[order]
        edge = np.hypot(*np.diff(p, axis=0).T)  # edge[i] joins order[i] and order[i+1]
        # candidate move: edges (i, i+1) and (j, j+1) become (i, j) and (i+1, j+1)
        i = np.repeat(np.arange(n - 1), near.shape[1])
        j = pos[near[order[:-1]].ravel()]
        ok = (j > i + 1) & (j < n - 1) & (j - i <= max_segment)
        i, j = i[ok], j[ok]
        gain = edge[i] + edge[j] - np.hypot(*(p[i] - p[j]).T) - np.hypot(*(p[i + 1] - p[j + 1]).T)
        good = gain > 1e-12
        if not good.any():
            break
        i, j, gain = i[good], j[good], gain[good]
        touched = np.zeros(n, dtype=bool)
        for k in np.argsort(-gain):
            a, b = i[k], j[k]
            if touched[a:b + 2].any():
                continue
            touched[a:b + 2] = True
            order[a + 1:b + 1] = order[a + 1:b + 1][::-1]
    return order


def serpentine_order(points: np.ndarray, row_tol: float) -> np.ndarray:
    """Rows (by y, within row_tol) alternately left-to-right and right-to-left."""
    if len(points) == 0:
        return np.zeros(0, dtype=np.int64)
    row = np.round(points[:, 1] / row_tol).astype(np.int64)
    rank = np.unique(-row, return_inverse=True)[1]  # top row first
    direction = np.where(rank % 2 == 0, 1.0, -1.0)
    return np.lexsort((points[:, 0] * direction, rank))


def order_points(points: np.ndarray, start=(0.0, 0.0), grid_pitch: float | None = None) -> np.ndarray:
    """Best of serpentine (when on a grid) and greedy + 2-opt, by travel length."""
    candidates = [two_opt(points, greedy_order(points, start))]
    if grid_pitch:
        candidates.append(serpentine_order(points, grid_pitch))
    return min(candidates, key=lambda o: path_length(points, o, start))
