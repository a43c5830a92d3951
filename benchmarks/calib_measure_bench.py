"""Grid-photo measurement benchmark: a 12 x 12 dot grid photographed at 4000 x 3000 px.

Plans `calibrate grid --energies 130:240:10 --dwells 0.5:6:0.5` (144 cells), simulates it,
renders the UV view at 2 um/px and photographs it into a 4000 x 3000 px image (rotated 8
degrees, in perspective, unevenly lit, with sensor noise; about 1.3 um per photo pixel), saved
as PNG. Then times `measure_photo` from the PNG file (decode, fiducials, 144 cells resampled and
measured) over several runs and prints the median and each run, plus the largest size error
against the simulator's own dot diameters. Target: < 5 s.

    python benchmarks/calib_measure_bench.py [--runs 5] [--out DIR]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from click.testing import CliRunner  # noqa: E402
from PIL import Image  # noqa: E402

from lasergen.calib.measure import measure_photo  # noqa: E402
from lasergen_cli import main as cli  # noqa: E402
from tests.calib.photos import photograph, pose, render_grid, truth_by_cell, vignette  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--out", default=None, help="folder for the job and the photo (default: a temporary one)")
    ap.add_argument("--reuse", action="store_true", help="reuse the job and photo already in --out")
    args = ap.parse_args(argv)
    out = Path(args.out or tempfile.mkdtemp(prefix="calib_bench_"))
    out.mkdir(parents=True, exist_ok=True)
    job = out / "dots12.gcode"
    photo_path = out / "photo_4000x3000.png"
    if args.reuse and job.is_file() and photo_path.is_file():
        from hardware_sim.glass.simulate import simulate_job
        prediction, manifest = simulate_job(job)
        return _time(photo_path, manifest, truth_by_cell(prediction, manifest), args.runs)
    t0 = time.perf_counter()
    result = CliRunner().invoke(cli, ["calibrate", "grid", "--energies", "130:240:10", "--dwells", "0.5:6:0.5",
                                      "-o", str(job)])
    if result.exit_code:
        print(result.output)
        return 1
    prediction, manifest, rgb, _ = render_grid(job, 2.0)
    truth = truth_by_cell(prediction, manifest)
    t1 = time.perf_counter()
    h, w = rgb.shape[:2]
    scale = 0.9 * 3000 / max(h, w) * 1.0
    H = pose(angle_deg=8.0, scale=scale, centre=(w / 2, h / 2), shift=(2000 - w / 2, 1500 - h / 2),
             tilt=(2e-5, -1e-5))
    Image.fromarray(photograph(rgb, H, (3000, 4000), light=vignette, noise=0.01)).save(photo_path, compress_level=1)
    t2 = time.perf_counter()
    print(f"setup: grid + simulate + render {t1 - t0:.1f} s, photograph {t2 - t1:.1f} s ({photo_path})")
    return _time(photo_path, manifest, truth, args.runs)


def _time(photo_path, manifest, truth, runs) -> int:
    times, cpu, measured = [], [], None
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.process_time()
        measured = measure_photo(photo_path, manifest["promises"])
        times.append(time.perf_counter() - start)
        cpu.append(time.process_time() - start_cpu)
    errors = [abs(r["diameter_um"] - truth[r["cell"]]) for r in measured.rows if r["present"] and truth[r["cell"]]]
    lit = sum(1 for v in truth.values() if v)
    print(f"measure 12 x 12 grid, 4000 x 3000 px: median {statistics.median(times):.2f} s "
          f"(runs: {', '.join(f'{t:.2f}' for t in times)}; CPU median {statistics.median(cpu):.2f} s), "
          f"target < 5 s; load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"cells lit: {measured.info['present']} measured / {lit} simulated; {measured.info['um_per_px']:.3f} um/px; "
          f"diameter error vs simulator: max {max(errors):.2f} um, median {statistics.median(errors):.2f} um")
    return 0


if __name__ == "__main__":
    sys.exit(main())
