"""Planning benchmarks: time and peak memory of planning + writing G-code, and dot ordering.

    python benchmarks/plan_bench.py            # all cases
    python benchmarks/plan_bench.py bitmap     # one case: bitmap | qr40 | dots | cli4096 | cli8192 | estimate
    python benchmarks/plan_bench.py cli4096 --repeat 5 --numpy   # median of 5; numpy references too

Each case runs in a fresh process so peak memory (ru_maxrss) is its own.
`bitmap` times planning + writing inside the process (imports and the input PNG excluded).
`cli4096` / `cli8192` time the whole process, as a user runs it: `python -m lasergen bitmap
IMAGE --pixel-um 20 --dither floyd-steinberg -o JOB` on a 4096^2 / 8192^2 grey gradient (PNG
made beforehand), wall and CPU seconds (user + sys) and peak RSS, one core (OMP/BLAS threads 1).
`estimate` is `python -m lasergen estimate` of the 4096^2 job so made.
Targets (issue 13): 4096^2 whole process < 5 s, 8192^2 < 25 s and < 6 GB; estimate of the
4096^2 job < 2 GB; dot-job travel at or below a plain greedy nearest-neighbour order.
"""

from __future__ import annotations

import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0


def case_bitmap(tmp: Path) -> dict:
    import numpy as np
    from PIL import Image

    from lasergen.build import plan_to_file, single_layer_pattern
    from lasergen.machine import MachineProfile
    from lasergen.recipe import Recipe
    from lasergen.sources import make_artwork

    size = 4096
    yy, xx = np.ogrid[0:size, 0:size]  # broadcast, so the input costs ~17 MB, not the peak we measure
    gray = (127 + 100 * np.sin(xx / np.float32(97.0)) * np.cos(yy / np.float32(131.0))).astype(np.uint8)
    Image.fromarray(gray).save(tmp / "gradient.png")
    del gray, yy, xx
    machine = MachineProfile.from_dict({**_profile_dict(), "travel": {"x_mm": [0, 200], "y_mm": [0, 200]}})
    t0 = time.perf_counter()
    art = make_artwork({"kind": "bitmap", "path": str(tmp / "gradient.png"), "pixel_um": 20.0,
                        "dither": "floyd-steinberg"})
    pattern = single_layer_pattern(art, Recipe(), (10.0, 10.0), "bitmap")
    manifest = plan_to_file(pattern, tmp / "bitmap.gcode", machine)
    elapsed = time.perf_counter() - t0
    return {"case": "4096x4096 Floyd-Steinberg bitmap, 20 um pixels", "seconds": round(elapsed, 2),
            "peak_MB": round(peak_mb()), "marks": manifest["counts"]["marks"],
            "gcode_MB": round((tmp / "bitmap.gcode").stat().st_size / 1e6, 1),
            "estimated_job_h": round(manifest["estimate"]["time_s"] / 3600, 1)}


def case_qr40(tmp: Path) -> dict:
    from lasergen.build import plan_to_file, single_layer_pattern
    from lasergen.machine import MachineProfile
    from lasergen.recipe import Recipe
    from lasergen.sources import make_artwork

    t0 = time.perf_counter()
    art = make_artwork({"kind": "qr", "data": "x" * 2000, "version": 40, "error": "L", "module_um": 20.0})
    pattern = single_layer_pattern(art, Recipe(), (10.0, 10.0), "qr")
    manifest = plan_to_file(pattern, tmp / "qr40.gcode", MachineProfile.load())
    elapsed = time.perf_counter() - t0
    return {"case": "version-40 QR, 20 um modules", "seconds": round(elapsed, 2), "peak_MB": round(peak_mb()),
            "marks": manifest["counts"]["marks"], "estimated_job_min": round(manifest["estimate"]["time_s"] / 60, 1)}


def case_dots(tmp: Path) -> dict:
    import numpy as np

    from lasergen.ordering import greedy_order, order_points, path_length

    rng = np.random.default_rng(7)
    # 20,000 dots: a dithered-looking scatter on a 20 um grid (clusters and gaps, not a full grid)
    grid = rng.random((400, 400)) < (0.05 + 0.2 * np.add.outer(np.sin(np.arange(400) / 30) ** 2,
                                                               np.cos(np.arange(400) / 45) ** 2))
    rows, cols = np.nonzero(grid)
    pick = rng.choice(rows.size, 20_000, replace=False)
    points = np.column_stack([cols[pick] * 0.02, rows[pick] * 0.02])
    file_order = np.lexsort((points[:, 0], -points[:, 1]))  # as a file lists them: row by row
    start = (0.0, 0.0)
    t0 = time.perf_counter()
    greedy = greedy_order(points, start)
    t_greedy = time.perf_counter() - t0
    t0 = time.perf_counter()
    ours = order_points(points, start, grid_pitch=0.02)
    t_ours = time.perf_counter() - t0
    lengths = {name: path_length(points, o, start) for name, o in
               (("file_order", file_order), ("greedy", greedy), ("lasergen", ours))}
    return {"case": "20,000 dots, travel ordering", "seconds": round(t_ours, 2), "greedy_seconds": round(t_greedy, 2),
            "peak_MB": round(peak_mb()), **{f"travel_{k}_mm": round(v, 1) for k, v in lengths.items()},
            "vs_greedy": round(lengths["lasergen"] / lengths["greedy"], 3),
            "vs_file_order": round(lengths["lasergen"] / lengths["file_order"], 3)}


def _profile_dict() -> dict:
    import tomllib

    from lasergen.machine import PROFILE_DIR

    return tomllib.loads((PROFILE_DIR / "grbl-default.toml").read_text())


def gradient_png(path: Path, size: int) -> None:
    import numpy as np
    from PIL import Image

    yy, xx = np.ogrid[0:size, 0:size]
    gray = (127 + 100 * np.sin(xx / np.float32(97.0)) * np.cos(yy / np.float32(131.0))).astype(np.uint8)
    Image.fromarray(gray).save(path)


def _child(cmd: list[str]) -> dict:
    """Run a whole process; its wall and CPU seconds and peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            env={**os.environ, "OMP_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"})
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    if status:
        raise SystemExit(f"{' '.join(cmd)} failed: {proc.stderr.read().decode()}")
    del before
    return {"wall_s": round(wall, 2), "cpu_s": round(usage.ru_utime + usage.ru_stime, 2),
            "peak_MB": round(usage.ru_maxrss / 1024.0)}


def _cli_case(tmp: Path, size: int) -> dict:
    png, job, profile = tmp / f"gradient{size}.png", tmp / f"bitmap{size}.gcode", tmp / "wide.toml"
    gradient_png(png, size)
    profile.write_text((_profile_text()).replace("x_mm = [0.0, 100.0]", "x_mm = [0.0, 400.0]")
                       .replace("y_mm = [0.0, 100.0]", "y_mm = [0.0, 400.0]"))
    got = _child([sys.executable, "-m", "lasergen", "bitmap", str(png), "--pixel-um", "20", "--dither",
                  "floyd-steinberg", "--machine", str(profile), "-o", str(job)])
    return {"case": f"{size}x{size} bitmap, whole process", **got, "gcode_MB": round(job.stat().st_size / 1e6, 1)}


def case_cli4096(tmp: Path) -> dict:
    return _cli_case(tmp, 4096)


def case_cli8192(tmp: Path) -> dict:
    return _cli_case(tmp, 8192)


def case_estimate(tmp: Path) -> dict:
    made = _cli_case(tmp, 4096)
    got = _child([sys.executable, "-m", "lasergen", "estimate", str(tmp / "bitmap4096.gcode")])
    return {"case": f"estimate of the 4096x4096 job ({made['gcode_MB']} MB)", **got}


def _profile_text() -> str:
    from lasergen.machine import PROFILE_DIR

    return (PROFILE_DIR / "grbl-default.toml").read_text()


CASES = {"bitmap": case_bitmap, "qr40": case_qr40, "dots": case_dots, "cli4096": case_cli4096,
         "cli8192": case_cli8192, "estimate": case_estimate}
DEFAULT = ("bitmap", "qr40", "dots", "cli4096", "estimate")


def main() -> None:
    args = sys.argv[1:]
    repeat = int(args[args.index("--repeat") + 1]) if "--repeat" in args else 1
    numpy_too = "--numpy" in args
    names = [a for a in args if a in CASES]
    if len(args) == 2 and args[0] == "--one":
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(CASES[args[1]](Path(tmp))))
        return
    for name in names or DEFAULT:
        for kernels in ("compiled", "numpy") if numpy_too else ("compiled",):
            runs = []
            for _ in range(repeat):
                env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
                if kernels == "numpy":
                    env["LASERGEN_KERNELS"] = "numpy"
                out = subprocess.run([sys.executable, __file__, "--one", name], capture_output=True, text=True,
                                     check=True, env=env)
                runs.append(json.loads(out.stdout.strip().splitlines()[-1]))
            row = dict(runs[0])
            for key in ("seconds", "wall_s", "cpu_s", "peak_MB"):
                if key in row:
                    row[key] = sorted(r[key] for r in runs)[len(runs) // 2]
                    if repeat > 1:
                        row[key + "_runs"] = [r[key] for r in runs]
            print(json.dumps({"kernels": kernels, **row}))


if __name__ == "__main__":
    main()
