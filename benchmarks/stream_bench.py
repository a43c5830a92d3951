"""Streaming throughput of each back-end through its emulator, and each controller's predicted
job time for the same pattern.

GRBL: a 50,000-line raster job to the emulator at 115200 baud, enforced.

The sim:// transport paces both directions at 10 bits per byte, so the bound is
baud / 10 bytes per second of G-code (11,520 B/s at 115200). Link utilisation is the bytes
of the lines sent per second over that bound; character counting within GRBL's 127-byte
window should keep it above 90 %. The emulator runs fast-forward: motion never limits the
stream (GRBL's back-pressure stays in simulated time), only the link does.
PI GCS (C-884): the same stripes planned for `pi-c884`, streamed by the PI session one motion
at a time (each group closed by ERR?, each move proven by #5 / ONT? / POS?), over the same
paced link: commands/s (GCS lines the job sends), and the link's use in each direction. The
link is request/answer, so its utilisation is bounded by the round trips, not by the bytes.
Usage: python benchmarks/stream_bench.py [--lines 50000] [--pi-rows 3000] [--baud 115200] [--backend both]
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


def stripes(target_lines: int) -> Pattern:
    """Stripes: each scan line alternates marks and gaps, so most lines are G1 moves."""
    cols = 120
    rows = max(1, target_lines // (cols + 3))
    mask = np.zeros((rows, cols), bool)
    mask[:, ::2] = True
    return Pattern(20.0, [Layer(mask, "write", "stripes")], (5.0, 5.0), {**PRESETS, "write": Recipe()})


def raster_job(target_lines: int, machine: MachineProfile) -> str:
    pattern = stripes(target_lines)
    return render_job(pattern, plan(pattern, machine), machine)


def predicted_s(pattern: Pattern, machine: MachineProfile) -> float:
    from lasergen.backends import language_for

    return language_for(machine).estimate(plan(pattern, machine), machine)["time_s"]


def pi_bench(rows: int, baud: int):
    from drivers.pi_gcs.session import PiGcsSession
    from drivers.session import StreamHandler

    class Recorder(StreamHandler):
        written = acked = executed = staticmethod(lambda seq: None)

    machine = MachineProfile.load("pi-c884")
    pattern = stripes(rows)
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "bench.job"
        job.write_text(render_job(pattern, plan(pattern, machine), machine))
        session = PiGcsSession(f"sim://?machine=pi-c884&device=bench-{rows}&baud={baud}", machine)
        session.open()
        session.connect()
        table = session.prepare(str(job))
        send = table.plan(np.zeros(table.n_marks, bool))
        out0, in0 = session.client.bytes_out, session.client.bytes_in
        t0 = time.monotonic()
        session.stream(send, Recorder())
        elapsed = time.monotonic() - t0
        out, inn = session.client.bytes_out - out0, session.client.bytes_in - in0
        session.close()
    bound = baud / 10.0
    print(f"PI job: {len(send)} commands, {table.n_marks} marks, {int(table.motion.sum())} motions")
    print(f"streamed in {elapsed:.1f} s: {len(send) / elapsed:.0f} commands/s, "
          f"{int(table.motion.sum()) / elapsed:.0f} motions/s")
    print(f"link: host->controller {100 * out / elapsed / bound:.1f} %, controller->host "
          f"{100 * inn / elapsed / bound:.1f} % of {baud} baud")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--baud", type=int, default=115_200)
    parser.add_argument("--pi-rows", type=int, default=3000, help="PI job size (lines of the stripes pattern)")
    parser.add_argument("--backend", choices=["grbl", "pi", "both"], default="both")
    args = parser.parse_args()
    hardware_sim.urlhandler.register()
    pattern = stripes(args.pi_rows)
    print(f"predicted time of the same {args.pi_rows}-line stripes: GRBL "
          f"{predicted_s(pattern, MachineProfile.load('grbl-default')):.1f} s, "
          f"PI C-884 {predicted_s(pattern, MachineProfile.load('pi-c884')):.1f} s")
    if args.backend in ("pi", "both"):
        pi_bench(args.pi_rows, args.baud)
    if args.backend == "pi":
        return
    machine = MachineProfile.load()
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "bench.gcode"
        job.write_text(raster_job(args.lines, machine))
        runner = JobRunner(job, f"sim://?baud={args.baud}", machine)
        sent = [i for i, text in enumerate(runner.lines.text) if text]
        n_bytes = sum(len(runner.lines.text[i]) + 1 for i in sent)
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
