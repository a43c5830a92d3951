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
--barrier-cost: the GRBL stream with and without the rule that a write unit turning the beam
on waits until every earlier line is answered (`drivers.grbl.plan.units`), median of --repeat
runs each: what the rule costs in lines/s and link use when the link is the limit, and in job
time when motion is (a real-clock emulator, stripes written at --real-speed-mm-s).
--cpu: the sender's CPU against a reference character-counting sender written here the way
GRBL's doc/script/stream.py streams (127-byte window, one write per line, count the `ok`s,
nothing else: no status polls, no journal, no proofs). The emulator is `lasergen sim serve
--tcp 0 --baud B --clock ff` in a process of its own (TCP on the loopback paces the host's
bytes at 10 bits each, and each line arrives when its own newline does); each sender runs in
a fresh process of its own, the senders taking turns run by run, and its CPU is that
process's user + system time (`resource.getrusage(RUSAGE_SELF)`, all its threads: valid on a
shared machine) over the stream alone (lasergen: `JobRunner.run()`, the connect handshake and
journal included; the job's table is scanned before, and its CPU reported apart). Idle, and
with two `python -c "while 1: pass"` busy loops holding both cores. The emulator runs at nice
-10 where the benchmark may raise it (`--emulator-nice`): a controller has a processor of its
own, so link use then measures the sender rather than how often the emulator got a core.
lasergen is measured as it ships and, benchmark-only, without the barrier rule, which no
character counter has: the gap between the two is the rule's round trips, not the sender's
CPU. It also prints the link use the barrier's round trips allow on a real link
(`barrier_bound`). --pattern picks the job: stripes (one-pixel marks, two lines per barrier),
rows (full raster rows, one long mark per scan line, three lines per barrier) or dither (a
Floyd-Steinberg dithered grey ramp, as the issue's bitmaps: marks of one to a few pixels);
--dialect m3 streams the job as earlier versions wrote it (M3, a barrier per mark) instead of
armed (M4, a barrier per pass).
Usage: python benchmarks/stream_bench.py [--lines 50000] [--pi-rows 3000] [--baud 115200] [--backend both]
       python benchmarks/stream_bench.py --barrier-cost [--lines 20000] [--repeat 3]
       python benchmarks/stream_bench.py --cpu [--lines 20000] [--repeat 3] [--pattern stripes|rows|dither]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import hardware_sim.urlhandler
from drivers.runner import JobRunner
from lasergen.job import render_job
from lasergen.machine import MachineProfile
from lasergen.pattern import Pattern
from lasergen.planner import plan
from stream_jobs import PATTERNS, raster_job, stripes


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


def grbl_stream(job: Path, baud: int, machine: MachineProfile, barriers: bool = True,
                clock: str = "") -> tuple[int, int, float]:
    """(lines, bytes, seconds) of one stream of the job to a paced sim:// controller."""
    import drivers.grbl.plan as grbl_plan

    units = grbl_plan.units

    def without_barriers(table, plan, **kw):
        for unit in units(table, plan, **kw):
            unit.barrier = False
            yield unit
    grbl_plan.units = units if barriers else without_barriers
    try:
        runner = JobRunner(job, f"sim://?baud={baud}&device=bench-{barriers}-{time.monotonic_ns()}{clock}", machine)
        table = runner.table
        sent = np.flatnonzero(table.sendable)
        n_bytes = int(sum(len(table.text(int(i))) + 1 for i in sent))
        result = runner.run()
    finally:
        grbl_plan.units = units
    return len(sent), n_bytes, result.elapsed_s


def barrier_cost(lines: int, baud: int, repeat: int, real_lines: int, real_speed_mm_s: float):
    """Link-bound (fast-forward emulator): lines/s and link use with and without the rule;
    motion-bound (real clock): the job's time with and without it, at a given writing speed."""
    import statistics

    machine = MachineProfile.load()
    bound_bps = baud / 10.0
    with tempfile.TemporaryDirectory() as tmp:
        job, real_job = Path(tmp) / "bench.gcode", Path(tmp) / "real.gcode"
        job.write_text(raster_job(lines, machine))
        real_job.write_text(raster_job(real_lines, machine, real_speed_mm_s))
        rows = {}
        for barriers in (False, True):
            runs = [grbl_stream(job, baud, machine, barriers) for _ in range(repeat)]
            n, n_bytes = runs[0][0], runs[0][1]
            s = statistics.median(r[2] for r in runs)
            real = statistics.median(grbl_stream(real_job, baud, machine, barriers, "&clock=real")[2]
                                     for _ in range(repeat))
            rows[barriers] = (n / s, 100.0 * n_bytes / s / bound_bps, real)
            print(f"{'with' if barriers else 'without'} the barrier rule: {n} lines in {s:.1f} s: {n / s:.0f} lines/s, "
                  f"{rows[barriers][1]:.1f} % of {baud} baud; real clock, {real_lines}-line stripes at "
                  f"{real_speed_mm_s:g} mm/s: {real:.2f} s (medians of {repeat})", flush=True)
    cost = 100.0 * (1 - rows[True][0] / rows[False][0])
    print(f"cost of the rule: {cost:.1f} % of lines/s ({rows[False][1] - rows[True][1]:.1f} points of link "
          f"utilisation) when the link is the limit; {100.0 * (rows[True][2] / rows[False][2] - 1):+.1f} % job time "
          f"when motion is")


def cpu_s() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def reference_send(job: Path, port: str, window_bytes: int = 127) -> dict:
    """Character counting as GRBL's stream.py does it: per line, strip it, wait while the
    bytes in flight plus this line's would pass the window, reading one answer at a time and
    forgetting the oldest line's bytes at each `ok`/`error`, then write the line."""
    import serial

    s = serial.serial_for_url(port, timeout=5.0)
    s.write(b"\x18")  # wake and reset, unlock: setup, not timed
    time.sleep(0.5)
    s.reset_input_buffer()
    s.write(b"$X\n")
    s.readline()
    time.sleep(0.1)
    s.reset_input_buffer()
    lines = [t for t in (raw.strip() for raw in job.read_bytes().split(b"\n")) if t and not t.startswith(b";")]
    in_flight, errors, answered, n_bytes = [], 0, 0, 0

    def answer_line() -> bool:
        """Read one line; True if it answers a sent line (ok or error:N)."""
        nonlocal errors, answered
        answer = s.readline()
        if not answer:
            raise SystemExit("reference sender: no answer within 5 s")
        if not answer.startswith((b"ok", b"error")):
            return False
        errors += answer.startswith(b"error")
        answered += 1
        return True

    c0, t0 = cpu_s(), time.monotonic()
    for text in lines:
        size = len(text) + 1
        while sum(in_flight) + size > window_bytes or s.in_waiting:
            if answer_line():
                del in_flight[0]
        s.write(text + b"\n")
        in_flight.append(size)
        n_bytes += size
    while answered < len(lines):
        answer_line()
    elapsed, cpu = time.monotonic() - t0, cpu_s() - c0
    s.close()
    return {"lines": len(lines), "bytes": n_bytes, "stream_s": elapsed, "cpu_s": cpu, "errors": errors}


def lasergen_send(job: Path, port: str, barriers: bool = True) -> dict:
    import drivers.grbl.plan as grbl_plan

    units = grbl_plan.units
    if not barriers:
        def without_barriers(table, plan, **kw):
            for unit in units(table, plan, **kw):
                unit.barrier = False
                yield unit
        grbl_plan.units = without_barriers
    c0 = cpu_s()
    with tempfile.TemporaryDirectory() as tmp:
        runner = JobRunner(job, port, MachineProfile.load(), journal_path=Path(tmp) / "bench.journal")
        table = runner.table.complete()
        prepare_cpu = cpu_s() - c0
        sent = np.flatnonzero(table.sendable)
        n_bytes = (int((table.offsets[sent + 1] - table.offsets[sent]).sum()) if table.offsets is not None
                   else sum(len(table.text(int(i))) + 1 for i in sent))  # (a table the interpreter read)
        c0, t0 = cpu_s(), time.monotonic()
        result = runner.run()
        elapsed, cpu = time.monotonic() - t0, cpu_s() - c0
    return {"lines": len(sent), "bytes": n_bytes, "stream_s": result.elapsed_s, "run_s": elapsed, "cpu_s": cpu,
            "prepare_cpu_s": prepare_cpu, "errors": 0}


SENDERS = {"reference": reference_send, "lasergen": lasergen_send,
           "lasergen-no-barrier": lambda job, port: lasergen_send(job, port, barriers=False)}


def process_cpu_s(pid: int) -> float:
    """User + system CPU seconds of another process (its /proc stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def barrier_bound(job: Path) -> tuple[float, float, int]:
    """(bytes sent per barrier unit, the link use the barrier's round trips allow, barriers):
    before a barrier unit may leave, the answer to the line before it must come back over the
    same link (`ok` CR LF, 4 bytes at the same 10 bits a byte), so even with no time at all
    in the controller and the host the link carries B of every B + 4 byte times."""
    import drivers.grbl.plan as grbl_plan

    hardware_sim.urlhandler.register()
    runner = JobRunner(job, "sim://", MachineProfile.load())
    table = runner.table.complete()
    plan = table.plan(None)
    units = list(grbl_plan.units(table, plan))
    barriers = sum(u.barrier for u in units)
    per = sum(len(u.data) for u in units) / max(barriers, 1)
    return per, per / (per + 4), barriers


def _emulator_priority(nice: int):
    """The emulator stands in for a controller, which has a processor of its own: at a higher
    priority than the busy loops and the sender, link use measures the sender, not how often
    the emulator got a core (raising it needs the privilege to; without it, it stays as it is)."""
    def raise_it():
        try:
            os.setpriority(os.PRIO_PROCESS, 0, nice)
        except PermissionError:
            pass
    return raise_it


def cpu_compare(lines: int, baud: int, repeat: int, kind: str = "stripes", emulator_nice: int = -10,
                armed: bool = True):
    """Both senders on the same job through an emulator in another process, idle and with
    both cores busy; medians of `repeat` runs each."""
    bound_bps = baud / 10.0
    with tempfile.TemporaryDirectory() as tmp:
        job = Path(tmp) / "bench.gcode"
        job.write_text(raster_job(lines, MachineProfile.load(), kind=kind, armed=armed))
        per, bound, barriers = barrier_bound(job)
        print(f"{kind} job ({'armed, M4' if armed else 'M3, as earlier versions wrote it'}): {barriers} barrier units, {per:.1f} bytes sent per "
              f"barrier; the barrier's round trips bound link use to {100 * bound:.1f} % on a real link "
              f"(the emulator's answers are not paced, so it only charges its own parse time)", flush=True)
        server = subprocess.Popen([sys.executable, "-m", "lasergen", "sim", "serve", "--tcp", "0", "--baud", str(baud),
                                   "--clock", "ff", "--json"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
                                  preexec_fn=_emulator_priority(emulator_nice) if emulator_nice else None)
        port = json.loads(server.stdout.readline())["listening"]
        print(f"emulator at nice {os.getpriority(os.PRIO_PROCESS, server.pid)}", flush=True)
        busy = []
        try:
            for load in ("idle", "2 busy loops"):
                if load != "idle":
                    busy = [subprocess.Popen([sys.executable, "-c", "while 1: pass"]) for _ in range(2)]
                runs, emulator_cpu = {name: [] for name in SENDERS}, dict.fromkeys(SENDERS, 0.0)
                for _ in range(repeat):  # the senders take turns, so a change in the machine's load hits all alike
                    for name in SENDERS:
                        e0 = process_cpu_s(server.pid)
                        done = subprocess.run([sys.executable, __file__, "--sender", name, "--job", str(job),
                                               "--port", port], capture_output=True, text=True)
                        if done.returncode:  # the sender's own words, not a bare exit status
                            raise SystemExit(f"{load} {name}: exit {done.returncode}: "
                                             f"{(done.stderr.strip().splitlines() or [''])[-1]}")
                        runs[name].append(json.loads(done.stdout.strip().splitlines()[-1]))
                        emulator_cpu[name] += (process_cpu_s(server.pid) - e0) / repeat
                for name, each in runs.items():
                    n, n_bytes = each[0]["lines"], each[0]["bytes"]
                    s = statistics.median(r["stream_s"] for r in each)
                    cpus = sorted(1000 * r["cpu_s"] / n for r in each)
                    prep = f"; table scan {each[0]['prepare_cpu_s']:.2f} s CPU" if "prepare_cpu_s" in each[0] else ""
                    print(f"{load:>12} {name:>20}: {statistics.median(cpus):.3f} s CPU per 1,000 lines "
                          f"({cpus[0]:.3f}-{cpus[-1]:.3f}), {n / s:.0f} lines/s, {100.0 * n_bytes / s / bound_bps:.1f} % "
                          f"of {baud} baud (medians of {repeat}, taking turns; {n} lines, "
                          f"{sum(r['errors'] for r in each)} errors{prep}; the emulator's process "
                          f"{1000 * emulator_cpu[name] / n:.3f} s CPU per 1,000 lines)", flush=True)
                for proc in busy:
                    proc.kill()
                    proc.wait()
        finally:
            for proc in busy:
                proc.kill()
            server.stdin.write("quit\n")
            server.stdin.close()
            try:
                server.wait(timeout=10)
            except subprocess.TimeoutExpired:
                server.kill()


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=50_000)
    parser.add_argument("--baud", type=int, default=115_200)
    parser.add_argument("--pi-rows", type=int, default=3000, help="PI job size (lines of the stripes pattern)")
    parser.add_argument("--backend", choices=["grbl", "pi", "both"], default="both")
    parser.add_argument("--barrier-cost", action="store_true", help="GRBL with and without the barrier rule")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--real-lines", type=int, default=1000, help="--barrier-cost: lines of the real-clock job")
    parser.add_argument("--real-speed-mm-s", type=float, default=2.0, help="--barrier-cost: its writing speed")
    parser.add_argument("--cpu", action="store_true", help="sender CPU against a stream.py-style reference")
    parser.add_argument("--pattern", choices=sorted(PATTERNS), default="stripes",
                        help="--cpu: the job (stripes of one-pixel marks, full raster rows, a dithered ramp)")
    parser.add_argument("--emulator-nice", type=int, default=-10,
                        help="--cpu: the emulator's priority (a controller has its own processor; 0: as the others)")
    parser.add_argument("--dialect", choices=["armed", "m3"], default="armed",
                        help="--cpu: the job as lasergen writes it (armed raster passes, M4) or as earlier versions did (M3)")
    parser.add_argument("--sender", choices=sorted(SENDERS), help=argparse.SUPPRESS)
    parser.add_argument("--job", help=argparse.SUPPRESS)
    parser.add_argument("--port", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.sender:
        print(json.dumps(SENDERS[args.sender](Path(args.job), args.port)))
        return
    if args.cpu:
        cpu_compare(args.lines, args.baud, args.repeat, args.pattern, args.emulator_nice, args.dialect == "armed")
        return
    hardware_sim.urlhandler.register()
    if args.barrier_cost:
        barrier_cost(args.lines, args.baud, args.repeat, args.real_lines, args.real_speed_mm_s)
        return
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
