"""Dot tours against LKH (issue 13, capability 2): travel and CPU time of `order_points`.

    python benchmarks/tour_bench.py [--lkh] [--lkh-runs 1] [--lkh-full]

Cases: 20,000 uniform random points in a 50 x 50 mm square (seed 7), and the dots of a
Floyd-Steinberg dither of a synthetic 198 x 198 grey "photo" at 20 um (19,858 dots).
Each tour is an open path; lengths are compared without the leg from the start point, as a
Hamiltonian path over the dots. LKH (the `elkai` package, for this benchmark only, not a
dependency of lasergen: `pip install elkai`) solves the closed tour; its longest edge dropped
gives its open path.
Coordinates go to LKH in 0.1 um integers (its EUC_2D rounds distances). CPU seconds are
process time on one core.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402


def random_points() -> np.ndarray:
    return np.random.default_rng(7).random((20_000, 2)) * 50.0


def photo_dots() -> np.ndarray:
    from PIL import Image

    from lasergen.sources.bitmap import gray_to_mask

    n = 198
    yy, xx = np.mgrid[0:n, 0:n] / n
    gray = 127 + 70 * np.sin(xx * 7) * np.cos(yy * 5) + 50 * np.sin(xx * 23 + yy * 11) * np.sin(yy * 3)
    mask = gray_to_mask(Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8)), dither="floyd-steinberg")
    rows, cols = np.nonzero(mask)
    return np.column_stack([(cols + 0.5) * 0.02, (n - 1 - rows + 0.5) * 0.02])


def open_length(points: np.ndarray, order: np.ndarray) -> float:
    p = points[order]
    return float(np.hypot(*np.diff(p, axis=0).T).sum())


FAST_LKH = "CANDIDATE_SET_TYPE = DELAUNAY\nSUBGRADIENT = NO\nMAX_TRIALS = 20\nTIME_LIMIT = 60\n"


def lkh(points: np.ndarray, runs: int, full: bool) -> dict:
    """LKH 3 through elkai. Default: Delaunay candidates without the subgradient ascent and 20
    trials (the full default run, O(n^2) ascent, did not finish in 8 CPU minutes here); --lkh-full
    for elkai's own settings."""
    from elkai import _elkai

    params = f"RUNS = {runs}\nPROBLEM_FILE = :stdin:\n" + ("" if full else FAST_LKH)
    problem = f"TYPE : TSP\nDIMENSION : {len(points)}\nEDGE_WEIGHT_TYPE : EUC_2D\nNODE_COORD_SECTION\n" + "".join(
        f"{i + 1} {round(x * 1e4)} {round(y * 1e4)}\n" for i, (x, y) in enumerate(points))
    t0 = time.process_time()
    order = np.array(_elkai.solve_problem(params, problem)) - 1
    seconds = time.process_time() - t0
    p = points[order]
    edges = np.hypot(*np.diff(np.vstack([p, p[:1]]), axis=0).T)
    return {"lkh_closed_mm": round(float(edges.sum()), 2), "lkh_open_mm": round(float(edges.sum() - edges.max()), 2),
            "lkh_cpu_s": round(seconds, 1)}


def run(name: str, points: np.ndarray, grid_pitch, args) -> dict:
    from lasergen import kernels
    from lasergen.ordering import greedy_order, order_points, two_opt

    start = (0.0, 0.0)
    row = {"case": name, "points": len(points), "compiled": kernels.get() is not None}
    t0 = time.process_time()
    ours = order_points(points, start, grid_pitch=grid_pitch)
    row["cpu_s"] = round(time.process_time() - t0, 2)
    row["open_mm"] = round(open_length(points, ours), 2)
    t0 = time.process_time()
    older = two_opt(points, greedy_order(points, start))
    row["older_cpu_s"] = round(time.process_time() - t0, 2)
    row["older_open_mm"] = round(open_length(points, older), 2)
    if args.lkh:
        row.update(lkh(points, args.lkh_runs, args.lkh_full))
        row["vs_lkh_%"] = round(100 * (row["open_mm"] / row["lkh_open_mm"] - 1), 2)
        row["older_vs_lkh_%"] = round(100 * (row["older_open_mm"] / row["lkh_open_mm"] - 1), 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lkh", action="store_true", help="also solve with LKH (pip install elkai; minutes of CPU)")
    ap.add_argument("--lkh-runs", type=int, default=1)
    ap.add_argument("--lkh-full", action="store_true", help="elkai's default LKH settings (far slower)")
    args = ap.parse_args()
    for name, points, pitch in (("20,000 random points", random_points(), None),
                                ("dithered photo dots", photo_dots(), 0.02)):
        print(json.dumps(run(name, points, pitch, args)))


if __name__ == "__main__":
    main()
