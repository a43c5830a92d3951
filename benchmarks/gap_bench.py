"""Raster job time on GRBL's planner model: lasergen's gap choice against crossing every gap with
a collinear G0, and against lower bounds (issue 13, capability 1).

    python benchmarks/gap_bench.py [--size 1024] [--speed 0.4] [--harness HARNESS]

Jobs: Floyd-Steinberg dithers of two synthetic grey images (a smooth "photo" of several
sinusoids and the gradient of plan_bench.py) and QR codes of versions 2, 10 and 40, 20 um
pixels, at the paper's 0.4 mm/s (and --speed). Strategies, all on the same scan lines:
  lasergen     the planner (every mark at speed, checked on the profile)
  all-G0       every gap inside a line a collinear G0, line changes as lasergen's
  all-G0 bare  the same without run-ups at the line ends (G0 corner straight into the next line)
  cross        every gap crossed blank at writing speed (the planner's older default)
Bounds, for a point mass with the axis limits (acceleration, max rate):
  marks+turns  sum of mark length / v plus each line change at its minimum: from v along the
               line to v the other way, displaced by (dx, pitch): max over the axes of
               2 sqrt(v^2 + a |dx|) / a and 2 sqrt(pitch / a); gaps taken as free
  kinematic    the same plus every gap inside a line at its minimum, from v back to v
               (accelerate, decelerate: what GRBL does with one collinear block)
The first bound counts gaps as free, which no machine with finite acceleration can reach;
the second is the one a plan can approach. With --harness (grbl_check.py's build of GRBL's
own code), the 64x64 crop's job files of lasergen, all-G0 and cross are also timed on the
firmware, next to lasergen's estimate of each file.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import tempfile
import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))  # grbl_check's harness runner


def photo(n: int) -> np.ndarray:
    yy, xx = np.mgrid[0:n, 0:n] / n
    gray = 127 + 70 * np.sin(xx * 7) * np.cos(yy * 5) + 50 * np.sin(xx * 23 + yy * 11) * np.sin(yy * 3)
    return np.clip(gray, 0, 255).astype(np.uint8)


def gradient(n: int) -> np.ndarray:
    yy, xx = np.ogrid[0:n, 0:n]
    return (127 + 100 * np.sin(xx / 97.0) * np.cos(yy / 131.0)).astype(np.uint8)


def dithered(gray: np.ndarray) -> np.ndarray:
    from PIL import Image

    from lasergen.sources.bitmap import gray_to_mask

    return gray_to_mask(Image.fromarray(gray), dither="floyd-steinberg")


def qr(version: int) -> np.ndarray:
    from lasergen.sources.qr import make_qr, qr_mask

    return qr_mask(make_qr("https://example.org/p/0001", error="M", version=version), 4)


@contextlib.contextmanager
def strategy_of(strategy: str):
    """The raster planner with its gap choice (and run-up) replaced by a fixed strategy."""
    import lasergen.raster as raster

    saved = raster.rapid_gaps, raster.overscan_for
    try:
        if strategy.startswith("all-G0"):
            raster.rapid_gaps = lambda gap, *a: np.ones(gap.shape, bool)
        if strategy == "cross":
            raster.rapid_gaps = lambda gap, *a: np.zeros(gap.shape, bool)
        if strategy == "all-G0 bare":
            raster.overscan_for = lambda recipe, machine: 0.0
        yield
    finally:
        raster.rapid_gaps, raster.overscan_for = saved


def plan_with(strategy: str, pattern, machine):
    from lasergen.planner import plan

    with strategy_of(strategy):
        return plan(pattern, machine)


def on_firmware(harness: str, name: str, mask: np.ndarray, speed: float, machine, out: Path) -> dict:
    """Each strategy's job file run on GRBL's own code (the harness of grbl_check.py), comments
    stripped as a sender does, against lasergen's estimate of the same file."""
    from grbl_check import grbl_settings_args, run_harness

    from lasergen import Job
    from lasergen.job import estimate_job_file
    from lasergen.pattern import Layer, Pattern
    from lasergen.recipe import PRESETS, Recipe

    pattern = Pattern(20.0, [Layer(mask, "write", name)], (1.0, 1.0), {**PRESETS, "write": Recipe(speed_mm_s=speed)})
    row = {"job": name + " on GRBL 1.1h", "speed_mm_s": speed}
    for strategy in ("lasergen", "all-G0", "cross"):
        with strategy_of(strategy):
            job = Job.plan(pattern, machine)
        file = out / f"{name.replace(' ', '_')}_{strategy}.gcode"
        file.write_text(job.text)
        stripped = file.with_suffix(".nc")
        stripped.write_text("".join(l for l in job.text.splitlines(True) if not l.startswith(";")))
        fields = run_harness(Path(harness), stripped, ["-q", *grbl_settings_args()])["fields"]
        row[strategy + "_grbl_s"] = round(float(fields["time_s"]), 3)
        row[strategy + "_model_s"] = round(estimate_job_file(file, machine)[0]["time_s"], 3)
    row["vs_all-G0_%"] = round(100 * (row["lasergen_grbl_s"] / row["all-G0_grbl_s"] - 1), 3)
    return row


def bounds(path, machine, v: float) -> tuple[float, float]:
    marks = np.flatnonzero(path.is_mark)
    mark_s = float(path.length_mm[marks].sum() / v)
    x0, x1, y = path.x0[marks], path.x1[marks], path.y1[marks]
    same_line = y[1:] == y[:-1]
    ax, ay = machine.accel_mm_s2
    gap = np.abs(x0[1:] - x1[:-1])[same_line]
    from lasergen.kinematics import trapezoid_times

    gap_s = float(trapezoid_times(gap, v, v, machine.max_rate_mm_s[0], ax)[0].sum())
    dx = (x0[1:] - x1[:-1])[~same_line]
    pitch = np.abs(y[1:] - y[:-1])[~same_line]
    turn_s = float(np.maximum(2 * np.sqrt(v * v + ax * np.abs(dx)) / ax, 2 * np.sqrt(pitch / ay)).sum())
    return mark_s + turn_s, mark_s + turn_s + gap_s


def run(name: str, mask: np.ndarray, speed: float, machine) -> dict:
    from lasergen.backends.grbl import motion
    from lasergen.pattern import Layer, Pattern
    from lasergen.recipe import PRESETS, Recipe

    pattern = Pattern(20.0, [Layer(mask, "write", name)], (1.0, 1.0), {**PRESETS, "write": Recipe(speed_mm_s=speed)})
    row = {"job": name, "pixels": f"{mask.shape[1]}x{mask.shape[0]}", "speed_mm_s": speed}
    for strategy in ("lasergen", "all-G0", "all-G0 bare", "cross"):
        path = plan_with(strategy, pattern, machine)
        row[strategy] = round(motion.estimate(path, machine)["time_s"], 2)
        if strategy == "lasergen":
            prof = motion.profile(path, machine)
            m = path.is_mark
            row["marks_off_speed"] = int((np.abs(np.c_[prof.v_entry[m], prof.v_peak[m], prof.v_exit[m]]
                                                 - np.float32(speed)) > 1e-6 * speed).any(axis=1).sum())
            row["marks"] = int(m.sum())
            lb_literal, lb_kin = bounds(path, machine, float(np.float32(speed)))
    row["bound_marks+turns"] = round(lb_literal, 2)
    row["bound_kinematic"] = round(lb_kin, 2)
    row["vs_all-G0_%"] = round(100 * (row["lasergen"] / row["all-G0"] - 1), 3)
    row["vs_all-G0_bare_%"] = round(100 * (row["lasergen"] / row["all-G0 bare"] - 1), 3)
    row["over_kinematic_%"] = round(100 * (row["lasergen"] / lb_kin - 1), 3)
    row["over_marks+turns_%"] = round(100 * (row["lasergen"] / lb_literal - 1), 2)
    return row


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=1024, help="side of the dithered images in pixels")
    ap.add_argument("--speed", type=float, action="append", help="scan speed(s) in mm/s (default 0.4)")
    ap.add_argument("--harness", help="also run the 64x64 photo crop's job files on GRBL's own code "
                                      "(the harness binary of grbl_check.py)")
    args = ap.parse_args()
    from lasergen.machine import MachineProfile

    base = MachineProfile.load()
    machine = MachineProfile(**{**base.__dict__, "x_range_mm": (0.0, 400.0), "y_range_mm": (0.0, 400.0)})
    jobs = {f"photo FS {args.size}": dithered(photo(args.size)), "photo FS 64 crop": dithered(photo(args.size))[:64, :64],
            f"gradient FS {args.size}": dithered(gradient(args.size)),
            "QR v2": qr(2), "QR v10": qr(10), "QR v40": qr(40)}
    for speed in args.speed or [0.4]:
        for name, mask in jobs.items():
            print(json.dumps(run(name, mask, speed, machine)))
        if args.harness:
            crop = jobs["photo FS 64 crop"]
            print(json.dumps(on_firmware(args.harness, "photo FS 64 crop", crop, speed, MachineProfile.load(),
                                         Path(tempfile.mkdtemp(prefix="gap_bench_")))))


if __name__ == "__main__":
    main()
