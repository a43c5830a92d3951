"""Dialect scan throughput: `fastread.scan_text` on a large raster body, compiled vs numpy.

    python benchmarks/scan_bench.py [--lines 2000000] [--repeat 5] [--dialect old|armed|both]
Builds a synthetic raster pass of about `--lines` lines in the chosen dialect (old: `M3S0`,
one `G1X..S<p>` line per mark; armed: `M4S0`, an arming `G1X..S0` line, the bare mark
`X..S<p>` and a bare `G0` disarm, as ARMED_DIALECT.md describes) and prints, per scanner,
the median wall and CPU seconds of `scan_text` over `--repeat` runs (and the least CPU time,
the steadier figure on a shared machine) and the lines per CPU second.
The numpy reference is timed by clearing `kernels.compiled` for the run.
"""

from __future__ import annotations

import argparse
import statistics
import time

import numpy as np

from lasergen import kernels
from lasergen.backends.grbl.gcode import fastread


def body(lines: int, armed: bool) -> bytes:
    """A serpentine raster: scan lines 10 um apart, marks of 1-3 pixels with 1-4 pixel gaps."""
    rng = np.random.default_rng(1)
    out = ["G21G90G94", "M5", ";@pass 0 layer 0 recipe w mode raster name bench", "M4S0" if armed else "M3S0"]
    y, row = 10.0, 0
    while len(out) < lines:
        x = 10.0 + rng.integers(0, 5) * 0.02
        out.append(f"G0X{x - 0.01:.4f}Y{y:.4f}")
        out.append(f"G1X{x:.4f}F24S0" if armed else f"G1X{x:.4f}Y{y:.4f}F24S0")
        for _ in range(40):
            gap, mark = rng.integers(1, 5) * 0.02, rng.integers(1, 4) * 0.02
            if armed:
                out += [f"G1X{x + gap:.4f}F6000S0", f"X{x + gap + mark:.4f}F24S200", "G0"]
            else:
                out += [f"G1X{x + gap:.4f}S0", f"G1X{x + gap + mark:.4f}S200"]
            x += gap + mark
        y += 0.01
        row += 1
    out += ["M5", "M5"]
    return ("\n".join(out) + "\n").encode()


def timed(data: bytes, compiled, repeat: int):
    saved = kernels.compiled
    kernels.compiled = compiled
    try:
        walls, cpus = [], []
        for _ in range(repeat):
            w, c = time.perf_counter(), time.process_time()
            scan = fastread.scan_text(data)
            walls.append(time.perf_counter() - w)
            cpus.append(time.process_time() - c)
        assert scan is not None, "the benchmark body must be the dialect"
        return statistics.median(walls), statistics.median(cpus), min(cpus), len(scan)
    finally:
        kernels.compiled = saved


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--lines", type=int, default=2_000_000)
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--dialect", choices=("old", "armed", "both"), default="both")
    args = ap.parse_args()
    for dialect in (("old", "armed") if args.dialect == "both" else (args.dialect,)):
        data = body(args.lines, dialect == "armed")
        for name, compiled in (("compiled", kernels.compiled), ("numpy", None)):
            if name == "compiled" and compiled is None:
                continue
            try:
                wall, cpu, best, n = timed(data, compiled, args.repeat)
            except AssertionError as exc:
                print(f"{dialect:6s} {name:9s} {exc}")
                continue
            print(f"{dialect:6s} {name:9s} {n:9d} lines  {len(data) / 1e6:6.1f} MB  wall {wall:6.3f} s  "
                  f"cpu {cpu:6.3f} s (min {best:6.3f})  {n / cpu / 1e6:5.2f} M lines/cpu-s")


if __name__ == "__main__":
    main()
