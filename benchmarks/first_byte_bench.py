"""First byte on the link for a big job, and the sender's peak memory.

The job: plan_bench's 4096^2 Floyd-Steinberg bitmap at 20 um (13.8 M lines, ~176 MB of
G-code), planned once into a temporary folder (or `--job FILE`). The controller: an emulated
GRBL behind TCP on 127.0.0.1 in this process. The sender: `lasergen stream` as a separate
process, so its Python start-up, imports, job preparation and the connect handshake all count.
"First byte" is the moment the emulator receives the job's first line, on the system's
monotonic clock, from the sender's start. The sender is then stopped with SIGINT (its safe
stop path must end it with exit 2). Its peak resident memory (VmHWM) is read at the first
byte. A second measurement runs `JobRunner`'s preparation alone in a fresh process: time to
the first piece, time until the whole job is scanned, and the peak memory then.
Usage: python benchmarks/first_byte_bench.py [--job FILE] [--repeat 3]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FIRST_JOB_LINE = b"G21G90G94"


def vm_hwm_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def first_byte(job: Path) -> dict:
    from hardware_sim.device import Device
    from hardware_sim.transport import TcpServer
    from lasergen.machine import MachineProfile

    device = Device(MachineProfile.load())
    arrived = []
    original = device.send

    def send(data, *args, **kw):
        if not arrived and FIRST_JOB_LINE in data:
            arrived.append(time.monotonic())
        return original(data, *args, **kw)

    device.send = send
    server = TcpServer(device)
    work = Path(tempfile.mkdtemp(prefix="lasergen-firstbyte-"))
    try:
        t0 = time.monotonic()
        proc = subprocess.Popen([sys.executable, "-m", "lasergen", "stream", str(job), "--port",
                                 f"socket://127.0.0.1:{server.port}", "--no-progress",
                                 "--journal", str(work / "bench.journal")],
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=work)
        while not arrived and proc.poll() is None and time.monotonic() - t0 < 600:
            time.sleep(0.01)
        if not arrived:
            raise SystemExit(f"the sender never wrote the job: {proc.communicate()[1].strip()[-300:]}")
        peak = vm_hwm_mb(proc.pid)
        time.sleep(1.0)
        proc.send_signal(signal.SIGINT)
        _, stderr = proc.communicate(timeout=120)
        return {"first_byte_s": round(arrived[0] - t0, 2), "peak_MB_at_first_byte": round(peak),
                "exit_after_sigint": proc.returncode, "stop_message": stderr.strip().splitlines()[-1][:120]}
    finally:
        server.close()
        device.stop()


def prepare_only(job: str) -> dict:
    """In a fresh process: the runner's preparation, first piece and whole table."""
    from drivers.grbl.job_table import job_table
    from drivers.grbl.plan import plan
    from lasergen.machine import MachineProfile

    t0 = time.perf_counter()
    table = job_table(job, MachineProfile.load(), planner=plan)
    first = table.plan(None)
    t_first = time.perf_counter() - t0
    table.complete()
    t_all = time.perf_counter() - t0
    return {"prepared_for_first_byte_s": round(t_first, 2), "whole_table_s": round(t_all, 1),
            "lines": table.n_commands, "marks": table.n_marks, "plan_lines": len(first),
            "peak_MB_whole_table": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--job", default=None, help="a job file (default: plan the 4096^2 bitmap)")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--prepare-only", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.prepare_only:
        print(json.dumps(prepare_only(args.prepare_only)))
        return
    with tempfile.TemporaryDirectory(prefix="lasergen-firstbyte-job-") as tmp:
        job = Path(args.job) if args.job else None
        if job is None:
            sys.path.insert(0, str(Path(__file__).resolve().parent))
            import plan_bench

            print(json.dumps(plan_bench.case_bitmap(Path(tmp))), flush=True)
            job = Path(tmp) / "bitmap.gcode"
        runs = [first_byte(job) for _ in range(args.repeat)]
        for r in runs:
            print(json.dumps(r), flush=True)
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[1])}
        prep = json.loads(subprocess.run([sys.executable, __file__, "--prepare-only", str(job)], capture_output=True,
                                         text=True, check=True, env=env).stdout.strip().splitlines()[-1])
        print(json.dumps(prep))
        print(f"first byte: median {statistics.median(r['first_byte_s'] for r in runs):.2f} s over {len(runs)} runs "
              f"(max {max(r['first_byte_s'] for r in runs):.2f} s), sender peak "
              f"{max(r['peak_MB_at_first_byte'] for r in runs)} MB then; whole job read in {prep['whole_table_s']} s, "
              f"peak {prep['peak_MB_whole_table']} MB")


if __name__ == "__main__":
    main()
