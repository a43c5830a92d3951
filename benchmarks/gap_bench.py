"""Raster job time on GRBL's planner model: lasergen's gap and line-change choice against crossing
every gap with a collinear G0, and against lower bounds (issue 13, capability 1).

    python benchmarks/gap_bench.py [--size 1024] [--speed 0.4] [--harness HARNESS]

Jobs: Floyd-Steinberg dithers of two synthetic grey images (a smooth "photo" of several
sinusoids and the gradient of plan_bench.py) and QR codes of versions 2, 10 and 40, 20 um
pixels, at the paper's 0.4 mm/s (and --speed). Strategies, all on the same scan lines:
  lasergen     the planner (every mark at speed, checked on the profile)
  lead turns   lasergen's gaps, every line change by lead-out, G0, lead-in at writing speed
               (the planner before the turn choice of lasergen/turns.py)
  all-G0       every gap inside a line a collinear G0, line changes as lasergen's
  all-G0 bare  every gap a G0 and no run-ups (G0 corner straight into the next line: no
               restart point at speed for a resume, and marks slowed where a turn reverses)
  cross        every gap crossed blank at writing speed (the planner's older default)
Bounds, for a point mass with the axis limits (acceleration, max rate):
  marks+turns  sum of mark length / v plus each line change at its minimum: from v along the
               line to v the other way, displaced by (dx, pitch): max over the axes of
               2 sqrt(v^2 + a |dx|) / a and 2 sqrt(pitch / a); gaps taken as free
  kinematic    the same plus every gap inside a line at its minimum, from v back to v
               (accelerate, decelerate: what GRBL does with one collinear block)
Both include the job's ends: from rest at the job's start (the machine origin) to the first
mark at v, max over the axes of the point mass's minimum, and from the last mark at v to rest
(v / a); the ends are 0.2 s of QR v2's 19.9 s (figures before they were counted left them out).
`turns_s` and `bound_turns_s`: the line changes alone (from a line's last mark to the next
line's first) on the model and at the point mass's minimum. GRBL's junction deviation lets a
corner change direction at a finite speed (2.2 mm/s at 90 deg here), which a point mass with
bounded acceleration cannot: so a line change on GRBL can beat the point-mass minimum (by 1.6 ms
of 20 ms at dx = 0), and the bounds are bounds for the point mass, not for GRBL's model.
The first bound counts gaps as free, which no machine with finite acceleration can reach;
the second is the one a plan can approach. With --harness (grbl_check.py's build of GRBL's
own code), the job files of the 64x64 crop and QR v2 for lasergen, lead turns, all-G0 and
cross are also timed on the firmware, next to lasergen's estimate of each file.
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
    import lasergen.turns as turns

    saved = raster.rapid_gaps, raster.overscan_for, turns.VARIANTS
    try:
        if strategy.startswith("all-G0"):
            raster.rapid_gaps = lambda gap, *a: np.ones(gap.shape, bool)
        if strategy == "cross":
            raster.rapid_gaps = lambda gap, *a: np.zeros(gap.shape, bool)
        if strategy in ("all-G0 bare", "lead turns"):
            turns.VARIANTS = ("lead",)
        if strategy == "all-G0 bare":
            raster.overscan_for = lambda recipe, machine: 0.0
        yield
    finally:
        raster.rapid_gaps, raster.overscan_for, turns.VARIANTS = saved


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
    for strategy in ("lasergen", "lead turns", "all-G0", "cross"):
        with strategy_of(strategy):
            job = Job.plan(pattern, machine)
        file = out / f"{name.replace(' ', '_')}_{strategy}.gcode"
        file.write_text(job.text)
        stripped = file.with_suffix(".nc")
        stripped.write_text("".join(l for l in job.text.splitlines(True) if not l.startswith(";")))
        fields = run_harness(Path(harness), stripped, ["-q", *grbl_settings_args()])["fields"]
        row[strategy + "_grbl_s"] = round(float(fields["time_s"]), 3)
        row[strategy + "_model_s"] = round(estimate_job_file(file, machine)[0]["time_s"], 3)
        row[strategy + "_error_%"] = round(100 * (row[strategy + "_model_s"] / row[strategy + "_grbl_s"] - 1), 3)
    row["vs_all-G0_%"] = round(100 * (row["lasergen_grbl_s"] / row["all-G0_grbl_s"] - 1), 3)
    return row


def bounds(path, machine, v: float) -> dict:
    """The point mass's minima (seconds): marks, line changes, gaps, and the job's two ends."""
    from lasergen.kinematics import trapezoid_times

    marks = np.flatnonzero(path.is_mark)
    mark_s = float(path.length_mm[marks].sum() / v)
    x0, x1, y = path.x0[marks], path.x1[marks], path.y1[marks]
    same_line = y[1:] == y[:-1]
    (ax, ay), (rx, ry) = machine.accel_mm_s2, machine.max_rate_mm_s
    gap = np.abs(x0[1:] - x1[:-1])[same_line]
    gap_s = float(trapezoid_times(gap, v, v, rx, ax)[0].sum())
    dx = (x0[1:] - x1[:-1])[~same_line]
    pitch = np.abs(y[1:] - y[:-1])[~same_line]
    turn_s = float(np.maximum(2 * np.sqrt(v * v + ax * np.abs(dx)) / ax, 2 * np.sqrt(pitch / ay)).sum())
    # from rest at the job's start to the first mark's entry at v along its direction d: Y rest
    # to rest; X to v, overshooting first (then back from rest) when it has to arrive the other way
    d = np.sign(x1[0] - x0[0])
    run_x, run_y = x0[0] - path.x0[0], y[0] - path.y0[0]
    if run_x * d >= 0:
        t_x = trapezoid_times(np.float64(abs(run_x)), 0.0, v, rx, ax)[0]
    else:
        t_x = trapezoid_times(np.float64(abs(run_x) + v * v / (2 * ax)), 0.0, 0.0, rx, ax)[0] + v / ax
    t_y = trapezoid_times(np.float64(abs(run_y)), 0.0, 0.0, ry, ay)[0]
    ends_s = float(max(t_x, t_y)) + v / ax
    return {"marks": mark_s, "turns": turn_s, "gaps": gap_s, "ends": ends_s}


def turn_seconds(path, durations) -> float:
    """The model's time from each line's last mark to the next line's first mark."""
    marks = np.flatnonzero(path.is_mark)
    change = np.flatnonzero(path.y1[marks[1:]] != path.y1[marks[:-1]])
    spent = np.r_[0.0, np.cumsum(durations)]
    return float((spent[marks[change + 1]] - spent[marks[change] + 1]).sum())


def run(name: str, mask: np.ndarray, speed: float, machine) -> dict:
    from lasergen.backends.grbl import motion
    from lasergen.pattern import Layer, Pattern
    from lasergen.recipe import PRESETS, Recipe

    pattern = Pattern(20.0, [Layer(mask, "write", name)], (1.0, 1.0), {**PRESETS, "write": Recipe(speed_mm_s=speed)})
    row = {"job": name, "pixels": f"{mask.shape[1]}x{mask.shape[0]}", "speed_mm_s": speed}
    for strategy in ("lasergen", "lead turns", "all-G0", "all-G0 bare", "cross"):
        path = plan_with(strategy, pattern, machine)
        prof = motion.profile(path, machine)
        row[strategy] = round(prof.total_s, 2)
        m = path.is_mark
        off = int((np.abs(np.c_[prof.v_entry[m], prof.v_peak[m], prof.v_exit[m]]
                          - np.float32(speed)) > 1e-6 * speed).any(axis=1).sum())
        if strategy == "lasergen":
            row["marks_off_speed"] = off
            row["marks"] = int(m.sum())
            row["turns_s"] = round(turn_seconds(path, prof.duration_s), 3)
            b = bounds(path, machine, float(np.float32(speed)))
        elif strategy == "all-G0 bare":
            row["bare_marks_off_speed"] = off
        elif strategy == "lead turns":
            row["lead_turns_s"] = round(turn_seconds(path, prof.duration_s), 3)
    lb_literal = b["marks"] + b["turns"] + b["ends"]
    lb_kin = lb_literal + b["gaps"]
    row["bound_turns_s"] = round(b["turns"], 3)
    row["bound_ends_s"] = round(b["ends"], 3)
    row["bound_marks+turns"] = round(lb_literal, 2)
    row["bound_kinematic"] = round(lb_kin, 2)
    row["vs_all-G0_%"] = round(100 * (row["lasergen"] / row["all-G0"] - 1), 3)
    row["vs_lead_turns_%"] = round(100 * (row["lasergen"] / row["lead turns"] - 1), 3)
    row["vs_all-G0_bare_%"] = round(100 * (row["lasergen"] / row["all-G0 bare"] - 1), 3)
    row["over_kinematic_%"] = round(100 * (row["lasergen"] / lb_kin - 1), 3)
    row["over_kinematic_no_ends_%"] = round(100 * (row["lasergen"] / (lb_kin - b["ends"]) - 1), 3)  # as first reported
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
            out = Path(tempfile.mkdtemp(prefix="gap_bench_"))
            for name in ("photo FS 64 crop", "QR v2"):
                print(json.dumps(on_firmware(args.harness, name, jobs[name], speed, MachineProfile.load(), out)))


if __name__ == "__main__":
    main()
