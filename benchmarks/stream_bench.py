"""Streaming throughput: a 50,000-line raster job to the emulator at 115200 baud, enforced.

The sim:// transport paces both directions at 10 bits per byte, so the bound is
baud / 10 bytes per second of G-code (11,520 B/s at 115200). Link utilisation is the bytes
of the lines sent per second over that bound; character counting within GRBL's 127-byte
window should keep it above 90 %. The emulator runs fast-forward: motion never limits the
stream (GRBL's back-pressure stays in simulated time), only the link does.
Usage: python benchmarks/stream_bench.py [--lines 50000] [--baud 115200]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np

import hardware_sim.urlhandler
from drivers.runner import JobRunner
from lasergen.job import render_job
from lasergen.machine import MachineProfile
from lasergen.pattern import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import PRESETS, Recipe


def raster_job(target_lines: int, machine: MachineProfile) -> str:
    """Stripes: each scan line alternates marks and gaps, so most lines are G1 moves."""
    cols = 120
    rows = max(1, target_lines // (cols + 3))
    mask = np.zeros((rows, cols), bool)
    mask[:, ::2] = True
    pattern = Pattern(20.0, [Layer(mask, "write", "stripes")], (5.0, 5.0), {**PRESETS, "write": Recipe()})
    return render_job(pattern, plan(pattern, machine), machine)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--baud", type=int, default=115_200)
    args = parser.parse_args()
    hardware_sim.urlhandler.register()
    machine = MachineProfile.load()
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "bench.gcode"
        job.write_text(raster_job(args.lines, machine))
        runner = JobRunner(job, f"sim://?baud={args.baud}", machine)
        table = runner.table
        sent = [i for i in range(table.n_commands) if table.sendable[i]]
        n_bytes = sum(len(table.text(i)) + 1 for i in sent)
        t0 = time.monotonic()
        result = runner.run()
        elapsed = time.monotonic() - t0
    bound_bps = args.baud / 10.0
    stream_s = result.elapsed_s
    print(f"job: {len(sent)} lines, {n_bytes} bytes ({n_bytes / len(sent):.1f} B/line)")
    print(f"streamed in {stream_s:.1f} s ({elapsed:.1f} s with connect/handshake)")
    print(f"throughput: {len(sent) / stream_s:.0f} lines/s; byte-rate bound {bound_bps / (n_bytes / len(sent)):.0f} lines/s")
    print(f"link utilisation: {100.0 * n_bytes / stream_s / bound_bps:.1f} % of {args.baud} baud")


if __name__ == "__main__":
    main()
