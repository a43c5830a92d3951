"""Simulator benchmark: a QR job over a 10 mm x 10 mm field at 2 um per pixel (25 M pixels).

Plans a QR code (default recipe: 200 uJ, 10 kHz, 0.4 mm/s, 20 um line pitch) sized to fill
the field, simulates it (ledger, residence, incubation, Arrhenius dose, Avrami, phases) and
renders the three views plus report.json, then prints wall and CPU time per stage and the peak
resident memory (ru_maxrss). Target: < 10 s and < 3 GB on one core. On a shared machine the
process CPU time (user + system) is the figure that stands for one idle core. The simulate
stage includes the dry run: the job's G-code through the emulated controller's batch path
(`hardware_sim.grbl.batch`), so the glass model reads a beam history, as from a stream.

With `--planes N` the same code is written in N depth planes 150 um apart (150, 300, ... um
below the surface, deepest first), and every view is also rendered focused at each depth (the
3-plane 5 x 5 mm case: `--field-mm 5 --planes 3`; target: under 3x the 1-plane figures; run each
case in its own process, since peak RSS is per process). `--planes 1 --depth-um 150` writes the
one plane 150 um deep, as a job planned in depth: it renders each view at that depth too, as the
3-plane case does at each of its depths (the like-for-like 1-plane figure; a flat job renders
the plain views only). The job is simulated as `Job.simulate` does it (`GlassSimulator`, with the
job's depths and focus model), so each plane is simulated at the depth the job wrote it.

    python benchmarks/sim_bench.py [--out DIR] [--field-mm 10] [--pitch-um 2] [--planes 1] [--depth-um D]
"""

from __future__ import annotations

import argparse
import os
import resource
import sys
import tempfile
import time

for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(var, "1")

from hardware_sim.glass.plugin import GlassSimulator  # noqa: E402
from hardware_sim.glass.simulate import write_outputs  # noqa: E402
from hardware_sim.glass.verify import decode_qr  # noqa: E402
from lasergen.job import depth_planes  # noqa: E402
from lasergen.machine import MachineProfile  # noqa: E402
from lasergen.pattern import Layer, Pattern  # noqa: E402
from lasergen.planner import plan  # noqa: E402
from lasergen.recipe import Recipe  # noqa: E402
from lasergen.sources import make_artwork  # noqa: E402


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", default=None, help="folder for the renders (default: a temporary one)")
    ap.add_argument("--field-mm", type=float, default=10.0)
    ap.add_argument("--pitch-um", type=float, default=2.0)
    ap.add_argument("--planes", type=int, default=1, help="depth planes, 150 um apart (1: flat)")
    ap.add_argument("--depth-um", type=float, default=None, help="with --planes 1: write the plane this deep")
    args = ap.parse_args(argv)
    if args.depth_um is not None and args.planes > 1:
        ap.error("--depth-um is for --planes 1; --planes N writes its planes 150 um apart from 150 um")

    t0 = time.perf_counter()
    cpu = lambda: sum(os.times()[:2])
    c0 = cpu()
    machine = MachineProfile.load()
    art = make_artwork({"kind": "qr", "data": "lasergen benchmark " + "0123456789" * 12, "error": "M",
                        "quiet_zone": 0, "module_um": 1.0})
    modules = art.mask.shape[0]
    module_um = round(0.9 * args.field_mm * 1000.0 / modules / 20.0) * 20.0  # a whole number of 20 um lines
    recipes = {"write": Recipe(line_pitch_um=20.0)}
    if args.planes > 1:
        layers = [Layer(art.mask, "write", f"qr@{150 * (i + 1)}um", depth_um=150.0 * (i + 1)) for i in range(args.planes)]
    elif args.depth_um is not None:
        layers = [Layer(art.mask, "write", f"qr@{args.depth_um:g}um", depth_um=args.depth_um)]
    else:
        layers = [Layer(art.mask, "write", "qr")]
    pattern = Pattern(module_um, layers, (10.0, 10.0), recipes, art.meta)
    path = plan(pattern, machine)
    t_plan, c_plan = time.perf_counter(), cpu()

    size_mm = modules * module_um / 1000.0
    margin_um = (args.field_mm - size_mm) / 2 * 1000.0
    manifest = depth_planes(pattern, path, machine)  # a job in depth: its depths and focus model
    prediction = GlassSimulator().simulate(path, machine, "BrI", manifest=manifest, pitch_um=args.pitch_um,
                                           margin_um=margin_um)
    t_sim, c_sim = time.perf_counter(), cpu()

    out = args.out or tempfile.mkdtemp(prefix="sim_bench_")
    report = write_outputs(prediction, out, whole_mark=True, max_px=2048)
    t_render, c_render = time.perf_counter(), cpu()

    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    ny, nx = prediction.grid.shape
    decoded = decode_qr(os.path.join(out, report["renders"]["uv365"]))
    depths = ", ".join(f"{d:g}" for d in report.get("depths_um", []))
    print(f"{args.planes} plane(s) {f'at {depths} um' if depths else 'flat'}; {len(report['renders'])} renders")
    print(f"QR version {art.meta['version']} ({modules} modules of {module_um:g} um), "
          f"{len(prediction.ledger)} laser-on segments, {prediction.ledger.stats()['mark_length_mm']:.0f} mm of marks")
    print(f"field {nx} x {ny} px at {args.pitch_um:g} um = {nx * ny / 1e6:.1f} M pixels")
    print(f"plan {t_plan - t0:.2f} s | simulate {t_sim - t_plan:.2f} s | render + report {t_render - t_sim:.2f} s")
    print(f"cpu: plan {c_plan - c0:.2f} s | simulate {c_sim - c_plan:.2f} s | render + report {c_render - c_sim:.2f} s")
    print(f"simulate + render: {t_render - t_plan:.2f} s wall, {c_render - c_plan:.2f} s CPU, peak RSS {peak_mb:.0f} MB")
    print(f"renders in {out}; UV render decodes: {decoded == [art.meta['payload']]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
