"""Line-by-line emulator speed on an armed raster body (M4) against the same body written under M3.

    python benchmarks/m4_emulator_bench.py [--lines 20000] [--repeat 3]
Three bodies of about `--lines` lines each, streamed through the emulated GRBL controller line
by line (`hardware_sim.batch.run_grbl`, fast-forward), as `lasergen simulate` runs a body the
batch path does not take:
  m3      the old form: M3S0, every line a G1 (arming-style blank moves at S0, marks at S), at
          lasergen's writing speed (F24: 0.4 mm/s, a ramp of 0.4 um)
  armed   the same marks in the armed dialect: M4S0, arming lines, bare marks, bare G0
          disarms; every mark at constant speed, so each is one history row as under M3
  ramped  armed at F600 (10 mm/s: a ramp of 0.25 mm, longer than a 50 um mark), every arming
          line coming in at a right angle: each mark accelerates out of a corner and
          decelerates into the next, so M4 writes its ramps as 10 ms staircases
Each M4 body is run twice: as it is, and with the recorder told every block ran under M3
(`flat`: same lines, same planner, one history row per block), so the difference is what M4's
recording itself costs; then the recorder alone: every `move` call of the run replayed into a
fresh recorder, as recorded and flat (CPU us per move). Prints lines/s and marks/s (CPU seconds
of this process, the median of --repeat runs) and history rows.
"""

from __future__ import annotations

import argparse
import statistics
import time

from hardware_sim.batch import run_grbl
from hardware_sim.exposure_record import ExposureRecorder
from lasergen import MachineProfile

MARK_MM, GAP_MM, PITCH_MM, MARKS_PER_ROW = 0.05, 0.05, 0.02, 40
RUN_MM = 0.3  # lead-in and lead-out: longer than a ramp to 10 mm/s (0.25 mm)


def body(n_lines: int, form: str) -> list[str]:
    lines = ["M3S0" if form == "m3" else "M4S0"]
    feed = 600 if form == "ramped" else 24
    g1 = "G1" if form == "m3" else ""
    row = 0
    while len(lines) < n_lines:
        y = 1.0 + row * PITCH_MM
        x = 1.0
        lines.append(f"G0X{x - RUN_MM:.3f}Y{y:.3f}")
        for i in range(MARKS_PER_ROW):
            if form == "ramped":  # reach the mark's start from below: a corner before every mark
                lines += [f"G0X{x:.3f}Y{y - 0.01:.3f}", f"G1Y{y:.3f}F{feed}S0"]
            else:
                lines.append(f"G1X{x:.3f}F{feed}S0")
            lines.append(f"{g1}X{x + MARK_MM:.3f}S{100 + i % 5 * 20}")
            if form != "m3":
                lines.append("G0")
            x += MARK_MM + GAP_MM
        lines.append(f"G1X{x + RUN_MM:.3f}S0")  # lead-out: the last mark ends at full speed
        row += 1
    return lines[:n_lines] + ["M5"]


def measure(lines, machine, repeat, flat=False):
    runs, rows = [], 0
    move = ExposureRecorder.move
    if flat:
        ExposureRecorder.move = lambda self, *a, dynamic=False, **k: move(self, *a, **k)
    try:
        for _ in range(repeat):
            t0 = time.process_time()
            emu = run_grbl(lines, machine)
            runs.append(time.process_time() - t0)
    finally:
        ExposureRecorder.move = move
        rows = len(emu.recorder.segments)
    return statistics.median(runs), rows, emu.recorder.marks()


def recorder_replay(lines, machine, repeat):
    calls = []
    move = ExposureRecorder.move
    ExposureRecorder.move = lambda self, *a, **k: (calls.append((a, k)), move(self, *a, **k))[1]
    try:
        run_grbl(lines, machine)
    finally:
        ExposureRecorder.move = move
    out = []
    for flat in (False, True):
        runs = []
        for _ in range(repeat):
            recorder = ExposureRecorder(machine)
            t0 = time.process_time()
            for a, k in calls:
                move(recorder, *a, **({**k, "dynamic": False} if flat else k))
            runs.append(time.process_time() - t0)
        out.append(statistics.median(runs) / len(calls) * 1e6)
    return out, len(calls)


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--lines", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    machine = MachineProfile.load()
    for form, flat in (("m3", False), ("armed", False), ("armed", True), ("ramped", False), ("ramped", True)):
        lines = body(args.lines, form)
        cpu_s, rows, marks = measure(lines, machine, args.repeat, flat)
        name = form + (" flat" if flat else "")
        print(f"{name:12s} {len(lines):6d} lines  {len(lines) / cpu_s:8.0f} lines/s  {len(marks) / cpu_s:7.0f} marks/s "
              f"({cpu_s:.2f} CPU s, {len(marks)} marks, {rows} history rows)")
    for form in ("armed", "ramped"):
        (m4_us, flat_us), n = recorder_replay(body(args.lines, form), machine, args.repeat)
        print(f"recorder {form:7s} {n} moves: {m4_us:.1f} us/move as M4, {flat_us:.1f} us/move flat")


if __name__ == "__main__":
    main()
