"""Vector benchmarks: planning a large SVG, and previewing a large raster job.

    python benchmarks/vector_bench.py                    # all cases, each in a fresh process
    python benchmarks/vector_bench.py svg10k --runs 5    # one case (svg10k | preview4096), median of 5

Each case prints wall seconds and CPU seconds of its process (`cpu_s`): on a shared machine
the wall figure includes time spent waiting for a core; `--runs N` prints the median of N.
Targets (issue 15): an SVG of 10,000 paths (half filled arc-bounded shapes with a hole, half
stroked Bezier curves) read, planned and written in < 5 s on one core; `lasergen preview` of
the 4096 x 4096 Floyd-Steinberg bitmap job (made by `lasergen bitmap` as plan_bench's cli4096
does, ~1.1 x 10^7 rows) in < 10 s, the whole process (wall `seconds`, `cpu_s`, `peak_MB`).
"""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parent))


def svg_of_paths(n: int) -> str:
    """n paths on a grid in a 100 mm document: rings with a hole (arcs, evenodd) and S-curves."""
    side = int(n ** 0.5 + 0.999)
    pitch = 100.0 / side
    r = 0.35 * pitch
    items = []
    for i in range(n):
        cx, cy = (i % side + 0.5) * pitch, (i // side + 0.5) * pitch
        if i % 2 == 0:
            items.append(f'<path fill="#000" fill-rule="evenodd" d="M {cx - r:.3f} {cy:.3f} '
                         f'A {r:.3f} {r:.3f} 0 1 0 {cx + r:.3f} {cy:.3f} A {r:.3f} {r:.3f} 0 1 0 {cx - r:.3f} {cy:.3f} Z '
                         f'M {cx - r / 2:.3f} {cy:.3f} A {r / 2:.3f} {r / 2:.3f} 0 1 0 {cx + r / 2:.3f} {cy:.3f} '
                         f'A {r / 2:.3f} {r / 2:.3f} 0 1 0 {cx - r / 2:.3f} {cy:.3f} Z"/>')
        else:
            items.append(f'<path fill="none" stroke="#000" d="M {cx - r:.3f} {cy:.3f} '
                         f'C {cx - r / 3:.3f} {cy - r:.3f} {cx + r / 3:.3f} {cy + r:.3f} {cx + r:.3f} {cy:.3f}"/>')
    return ('<svg xmlns="http://www.w3.org/2000/svg" width="100mm" height="100mm" viewBox="0 0 100 100">'
            + "".join(items) + "</svg>")


def case_svg10k(tmp: Path) -> dict:
    from lasergen.build import plan_to_file, single_layer_pattern
    from lasergen.machine import MachineProfile
    from lasergen.recipe import Recipe
    from lasergen.sources import make_artwork
    from plan_bench import _profile_dict

    (tmp / "many.svg").write_text(svg_of_paths(10_000))
    machine = MachineProfile.from_dict({**_profile_dict(), "travel": {"x_mm": [0, 200], "y_mm": [0, 200]}})
    t0, c0 = time.perf_counter(), time.process_time()
    art = make_artwork({"kind": "svg", "path": str(tmp / "many.svg")})
    t_read, c_read = time.perf_counter() - t0, time.process_time() - c0
    pattern = single_layer_pattern(art, Recipe(hatch_um=50.0), (10.0, 10.0), "svg")
    manifest = plan_to_file(pattern, tmp / "many.gcode", machine)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - c0
    return {"case": "SVG of 10,000 paths (5,000 filled rings with holes, 5,000 Bezier strokes), 50 um hatch",
            "seconds": round(elapsed, 2), "cpu_s": round(cpu, 2), "read_s": round(t_read, 2),
            "read_cpu_s": round(c_read, 2), "marks": manifest["counts"]["marks"],
            "gcode_MB": round((tmp / "many.gcode").stat().st_size / 1e6, 1)}


def case_preview4096(tmp: Path) -> dict:
    from plan_bench import _child, _cli_case

    made = _cli_case(tmp, 4096)  # `lasergen bitmap` of plan_bench's 4096^2 gradient, Floyd-Steinberg
    job = tmp / "bitmap4096.gcode"
    got = _child([sys.executable, "-m", "lasergen", "preview", str(job), "--machine", str(tmp / "wide.toml"),
                  "-o", str(tmp / "bitmap.png")])
    return {"case": f"lasergen preview of the 4096x4096 Floyd-Steinberg bitmap job ({made['gcode_MB']} MB), "
                    "whole process", "seconds": got["wall_s"], **got}


CASES = {"svg10k": case_svg10k, "preview4096": case_preview4096}


def main() -> None:
    args = sys.argv[1:]
    runs = 1
    if "--runs" in args:
        at = args.index("--runs")
        runs, args = int(args[at + 1]), args[:at] + args[at + 2:]
    if args and args[0] in CASES and runs == 1 and "--child" in args:
        with tempfile.TemporaryDirectory() as tmp:
            print(json.dumps(CASES[args[0]](Path(tmp))))
        return
    for name in [a for a in args if a in CASES] or list(CASES):
        results = []
        for _ in range(runs):
            out = subprocess.run([sys.executable, __file__, name, "--child"], capture_output=True, text=True,
                                 check=True, env={**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])})
            results.append(json.loads(out.stdout.strip().splitlines()[-1]))
        summary = dict(results[-1])
        for key, value in results[-1].items():  # medians of the timings
            if key.endswith("_s") or key == "seconds":
                summary[key] = round(statistics.median(r[key] for r in results), 2)
        summary["runs"] = runs
        print(json.dumps(summary))


if __name__ == "__main__":
    main()
