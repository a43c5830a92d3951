"""Seeded fault campaign: does a stream survive faults with every mark exposed exactly once?

Each run: a fresh emulated controller of the run's back-end (`--machine`: a GRBL board, a PI
C-884, or `mixed`, the default: blocks of four runs alternate between them), real clock at
--speed x, behind TCP on 127.0.0.1 (the same device `lasergen sim serve` runs), one of four
small jobs planned for that machine (QR raster, QR
dots, dithered bitmap, three-level E/F), 1 to 3 faults at random moments, each in its own
sender session, then `--resume` until the job is done. The sender is `lasergen stream`, a
separate process. Faults: every kind the back-end's emulator injects (`FAULTS`: link drop, a
refused command, an alarm on a line or part-way through its motion, corrupt replies,
stall), the controller's soft reset and power loss (each after a random line), and SIGKILL or
SIGINT of the sender (after a random time). Invariants come from the
device's own exposure record (`campaign_check`): marks exposed twice, skipped marks the
sender did not list, stray beam-on rows, hung sessions (no line reached the device for 20 s
of wall time, or a session past a backstop limit), the time from each fault until the
beam was off (emulator seconds / --speed, i.e. seconds of the sender's clock), and false
stalls: sessions the sender stopped as a stall (its journal's stop record) in which no stall
was injected (a budget too tight for the loaded host running the emulator).
Each run draws from its own generator, seeded by (seed, run number): run N is the same
whatever else runs, so two versions see the same jobs and first faults, and runs can be
spread over worker processes (`--workers`).
Usage: python benchmarks/fault_campaign.py --runs 100 --seed 1 [--speed 20] [--workers 2]
       [--machine mixed|grbl-default|pi-c884] [--json OUT] [--markdown OUT]
       [--sender-python OTHER_VENV/bin/python]   (measure another version's sender)
       [--results RUNS.jsonl]   (each run appended as it ends; a re-run skips the runs in it;
                                 Ctrl-C or --report-only writes the tables of the runs done)
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from campaign_check import Record, beam_off_times, check, split_rests  # noqa: E402
from campaign_report import DEVICE_FAULTS, KINDS, SENDER_FAULTS, RunOutcome, load_results, report  # noqa: E402
from campaign_sessions import Sender, stream_here, wait_alive  # noqa: E402

from hardware_sim.beam.rig import forget_rig  # noqa: E402
from hardware_sim.device import Device  # noqa: E402
from hardware_sim.faults import FaultPlan  # noqa: E402
from hardware_sim.transport import TcpServer  # noqa: E402
from lasergen.job import read_job  # noqa: E402
from lasergen.machine import PROFILE_DIR, MachineProfile  # noqa: E402

FAULTS = {  # controller family -> the faults its emulator takes through sim:// (+ the sender's)
    "grbl": KINDS,
    "pi_gcs": KINDS,  # alarm_mid: a motion error part-way through the line's move (or the move running then)
}
ERROR_CODES = {"grbl": [20, 22, 33], "pi_gcs": [5, 7, 17]}  # refusals the controller really gives
MACHINES = ["grbl-default", "pi-c884"]  # `mixed` alternates blocks of len(RECIPES) runs
MAX_RESUMES = 8
THREE_LEVEL = """[pattern]
origin_mm = [10.0, 10.0]
[recipes.write]
energy_uJ = 200.0
speed_mm_s = 2.0
[recipes.rewrite]
energy_uJ = 200.0
speed_mm_s = 2.0
[levels]
daylight = "nothing"
accept_leak = false
[levels.uv365]
source = { kind = "text", text = "E", height_um = 280.0, pitch_um = 20.0 }
[levels.uv365_lp645]
source = { kind = "text", text = "F", height_um = 280.0, pitch_um = 20.0 }
"""


RECIPES = {  # job name -> planning command (FOLDER: where the inputs are)
    "qr_raster": ["qr", "LG", "--speed-mm-s", "2", "--micro", "yes"],
    "qr_dots": ["qr", "LG", "--mode", "dots", "--dwell-s", "0.05", "--micro", "yes"],
    "bitmap": ["bitmap", "FOLDER/grad.png", "--dither", "floyd-steinberg", "--speed-mm-s", "2"],
    "three_level": ["pattern", "FOLDER/levels.toml"],
}


def make_jobs(folder: Path, plan, recipes: dict | None = None, image_px: int = 20,
              machine: str = "grbl-default") -> dict[str, Path]:
    """The campaign's jobs for `machine` in `folder`; plan(args) runs a `lasergen` command
    (-> returncode, stderr)."""
    from PIL import Image

    yy, xx = np.mgrid[0:image_px, 0:image_px]
    c = image_px / 2
    Image.fromarray((255 * np.hypot(xx - c, yy - c) / (0.7 * image_px)).clip(0, 255).astype(np.uint8)).save(
        folder / "grad.png")
    (folder / "levels.toml").write_text(THREE_LEVEL)
    jobs = {}
    for name, args in (recipes or RECIPES).items():
        out = folder / (f"{name}.gcode" if machine == "grbl-default" else f"{name}.{machine}.job")
        chosen = [] if machine == "grbl-default" else ["--machine", machine]  # older senders: only a default
        code, err = plan([a.replace("FOLDER", str(folder)) for a in args] + chosen + ["-o", str(out)])
        if code:
            raise SystemExit(f"cannot plan {name}: {err.strip()}")
        jobs[name] = out
    return jobs


def machine_of_run(index: int, machines: str) -> str:
    """The machine profile of run `index` (`mixed`: blocks of len(RECIPES) runs alternate)."""
    return MACHINES[(index // len(RECIPES)) % len(MACHINES)] if machines == "mixed" else machines


def _beam_side(machine, speed: float, rig: str, folder: Path):
    """A machine whose energy is set by an attenuator gets that mount's emulator on its own TCP
    port, on the stage's rig, and a copy of its profile naming that port (the sender is given
    it with --machine). -> (closers, machine to use, extra stream arguments)."""
    if machine.energy_mode != "attenuator":
        return [], machine, []
    mount = Device(machine, clock="real", speed=speed, name=rig, port="attenuator")
    server = TcpServer(mount)
    text = (PROFILE_DIR / f"{machine.name}.toml").read_text()
    text = text.replace("[beam.attenuator]", f'[beam.attenuator]\nport = "socket://127.0.0.1:{server.port}"', 1)
    profile = folder / f"{machine.name}.toml"
    profile.write_text(text)
    return [server.close, mount.stop], MachineProfile.load(profile), ["--machine", str(profile)]


def _fault_plan(kind: str, rng, lines: int, family: str = "grbl") -> FaultPlan:
    at = int(rng.integers(8, max(9, lines)))
    options = {"drop": {"drop_after": at}, "error": {"error_on": f"{at}:{int(rng.choice(ERROR_CODES[family]))}"},
               "alarm": {"alarm_on": f"{at}:{int(rng.choice([1, 2]))}"}, "stall": {"stall_after": at},
               "alarm_mid": {"alarm_at": f"{at}:{float(rng.uniform(0.0, 60.0)):.2f}:1"},
               "corrupt": {"corrupt": 0.02, "corrupt_after": at, "seed": int(rng.integers(1 << 30))},
               "power": {"power_after": at}, "reset": {"reset_after": at}}
    return FaultPlan.from_options(options.get(kind, {}))


def stall_stops(folder: Path) -> int:
    """Stops of kind "stall" in the journals of a run's folder (the sender's own account)."""
    count = 0
    for journal in folder.glob("*.journal"):
        for line in journal.read_text(errors="replace").splitlines():
            try:
                count += json.loads(line).get("stop", {}).get("kind") == "stall"
            except (json.JSONDecodeError, AttributeError):
                continue  # a torn last line
    return count


def run_one(index: int, seed: int, jobs: dict, sender: Sender, machine, speed: float, folder: Path,
            in_process: bool = False) -> RunOutcome:
    """One run. in_process: the sessions whose fault is not the sender's own run the runner in
    this process (faster); SIGKILL and SIGINT always hit a separate `lasergen stream`."""
    rng = np.random.default_rng([seed, index])
    name = list(jobs)[index % len(jobs)]
    work = folder / f"run{index}"
    work.mkdir()
    job = work / jobs[name].name
    job.write_text(jobs[name].read_text())
    parsed = read_job(job, machine)
    n_lines = len(job.read_text().splitlines())
    est_wall_s = parsed.manifest.get("estimate", {}).get("time_s", 60.0) / speed
    limit_s = 10 * (30.0 + 4.0 * est_wall_s)  # a backstop: a hang is a session without progress
    kinds = FAULTS[machine.controller]
    faults = [str(rng.choice(kinds)) for _ in range(int(rng.integers(1, 4)))]
    out = RunOutcome(index, name, faults, machine.name)
    rig = f"campaign-{os.getpid()}-{index}"  # the stage and its beam side share one emulated rig
    device = Device(machine, clock="real", speed=speed, name=rig)
    server = TcpServer(device)
    port = f"socket://127.0.0.1:{server.port}"
    beam_side, machine, extra = _beam_side(machine, speed, rig, work)
    fault_times = []  # (kind, emulator seconds) for sender faults
    session_starts = []  # emulator seconds at which each sender session started
    last, last_err = None, []
    try:
        plan = list(faults) + [None] * MAX_RESUMES
        stalls_seen = 0
        for k, kind in enumerate(plan):
            if (now_seen := stall_stops(work)) > stalls_seen:  # the previous session stopped on a stall
                out.false_stalls += (now_seen - stalls_seen) * (plan[k - 1] != "stall")
                stalls_seen = now_seen
            server.faults = _fault_plan(kind, rng, n_lines, machine.controller) if kind in DEVICE_FAULTS else FaultPlan()
            out.sessions += 1
            t0 = time.monotonic()
            session_starts.append(device.sim_time_s())
            if in_process and kind not in SENDER_FAULTS:
                got = stream_here(job, port, k > 0, machine, limit_s, device)
                if got is None:
                    out.hangs += 1
                    out.notes.append(f"session {k} ({kind}) hung")
                    break
                code, stdout, stderr = got
                if code not in (0, 2):
                    out.unclean += 1
                    out.notes.append(f"session {k} ({kind}): {stderr[-200:]}")
                last_err = stderr.strip().splitlines()[-1:] if stderr.strip() else []
                if code == 0:
                    last = json.loads(stdout)
                    if last.get("status") == "complete":
                        out.complete = True
                        if kind is None or k >= len(faults) - 1:
                            break
                continue
            proc = sender.start(job, port, resume=k > 0, extra=extra)
            if kind in SENDER_FAULTS:
                delay = float(rng.uniform(0.8, 1.2 + est_wall_s))
                try:
                    proc.wait(timeout=delay)
                except subprocess.TimeoutExpired:
                    fault_times.append((kind, device.sim_time_s()))
                    proc.send_signal(signal.SIGKILL if kind == "sigkill" else signal.SIGINT)
            try:
                if not wait_alive(lambda: proc.poll() is not None, device, limit_s - (time.monotonic() - t0)):
                    raise subprocess.TimeoutExpired(proc.args, limit_s)
                stdout, stderr = proc.communicate(timeout=30.0)
            except subprocess.TimeoutExpired:
                out.hangs += 1
                os.killpg(proc.pid, signal.SIGKILL)
                stdout, stderr = proc.communicate()
                out.notes.append(f"session {k} ({kind}) hung")
            if proc.returncode not in (0, 2, -signal.SIGKILL) or "Traceback" in stderr:
                out.unclean += 1
                out.notes.append(f"session {k} ({kind}) exit {proc.returncode}: {stderr.strip()[-1500:]}")
            last_err = stderr.strip().splitlines()[-1:] if stderr.strip() else []
            if proc.returncode == 0:
                try:
                    last = json.loads(stdout.strip().splitlines()[-1])
                except (json.JSONDecodeError, IndexError):
                    last = None
                if last and last.get("status") == "complete":
                    out.complete = True
                    if kind is None or k >= len(faults) - 1:
                        break
        if (now_seen := stall_stops(work)) > stalls_seen:  # the last session
            out.false_stalls += (now_seen - stalls_seen) * (plan[k] != "stall")
        time.sleep(0.2)
        history, log = device.call(lambda e: (e.recorder.history(), list(e.fault_log)))
    finally:
        server.close()
        device.stop()
        for closer in beam_side:
            closer()
        forget_rig(rig)
    record = Record.from_history(history)
    verdict = check(parsed.toolpath, record)
    listed = set((last or {}).get("uncertain", [])) | set((last or {}).get("partial", []))
    out.twice, out.stray, out.listed = len(verdict.twice), verdict.stray_lines, len(listed)
    stalls = [t for t, what in log if what == "stall"]
    defect, minor, stall = split_rests(verdict, stalls, speed)
    out.stray_rest_ms, out.minor_rest_ms, out.stall_rest_ms = 1000.0 * defect, 1000.0 * minor, 1000.0 * stall
    out.skipped_not_listed = len(verdict.not_listed(listed)) if out.complete else 0
    if not out.complete:
        out.notes.append(f"never completed ({' '.join(last_err)[:160]})")
    out.beam_off_s = beam_off_times(record, log, fault_times, session_starts, speed)
    return out


def _worker(args):
    index, seed, jobs, python, speed, folder, machines = args
    name = machine_of_run(index, machines)
    return run_one(index, seed, jobs[name], _sender(python), MachineProfile.load(name), speed, folder)


_SENDERS: dict = {}


def _sender(python):
    if python not in _SENDERS:
        _SENDERS[python] = Sender(python)
    return _SENDERS[python]


def campaign(runs, seed: int, speed: float = 20.0, sender_python: str | None = None, progress=None,
             workers: int = 1, machines: str = "mixed"):
    """Outcomes of the given runs (a count, or an iterable of run numbers), in run order."""
    indices = list(range(runs)) if isinstance(runs, int) else list(runs)
    outcomes = []
    with tempfile.TemporaryDirectory(prefix="lasergen-campaign-") as tmp:
        folder = Path(tmp)
        sender = _sender(sender_python)

        def plan(args):
            res = sender.run(args)
            return res.returncode, res.stderr
        names = sorted({machine_of_run(i, machines) for i in indices})
        jobs = {name: make_jobs(folder, plan, machine=name) for name in names}
        tasks = [(i, seed, jobs, sender_python, speed, folder, machines) for i in indices]
        if workers <= 1:
            results = map(_worker, tasks)
        else:
            import multiprocessing

            pool = multiprocessing.get_context("spawn").Pool(workers)
            results = pool.imap_unordered(_worker, tasks)
        try:
            for outcome in results:
                outcomes.append(outcome)
                if progress:
                    progress(outcome)
        except KeyboardInterrupt:  # Ctrl-C: the runs done so far are the campaign's result
            if workers > 1:
                pool.terminate()
            return sorted(outcomes, key=lambda o: o.run)
        if workers > 1:
            pool.close()
            pool.join()
    return sorted(outcomes, key=lambda o: o.run)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--speed", type=float, default=20.0, help="emulator clock: simulated s per wall s")
    parser.add_argument("--machine", default="mixed", choices=["mixed", *MACHINES],
                        help="the back-end every run uses, or mixed (blocks of runs alternate)")
    parser.add_argument("--sender-python", default=None,
                        help="the Python whose lasergen streams (default: this one), e.g. another version's venv")
    parser.add_argument("--only", default=None, help="run numbers to run (comma-separated), e.g. to replay one")
    parser.add_argument("--workers", type=int, default=1, help="runs in parallel (each run is its own device)")
    parser.add_argument("--json", default=None, help="write every run's outcome here")
    parser.add_argument("--markdown", default=None, help="write the report (tables) here")
    parser.add_argument("--results", default=None,
                        help="append each run's outcome here as it ends (JSON lines); runs already in it are "
                             "not run again, and the report covers every run in it")
    parser.add_argument("--report-only", action="store_true", help="only write the report of the --results file")
    args = parser.parse_args()
    t0 = time.monotonic()
    results = Path(args.results) if args.results else None
    earlier = load_results(results) if results else []
    sender_name = "this version" if not args.sender_python else "another version"
    if args.report_only:
        text = report(earlier, args.seed, args.speed, "as recorded", sender_name, list(RECIPES))
        print(text)
        if args.markdown:
            Path(args.markdown).write_text(text)
        return
    seen = {(o.machine, o.run) for o in earlier}

    def progress(o):
        bad = o.twice or o.skipped_not_listed or o.hangs or o.stray or o.stray_rest_ms or o.unclean or not o.complete
        print(f"run {o.run:4d} {o.machine:12s} {o.job:11s} {','.join(o.faults):24s} "
              f"{'FAIL ' + '; '.join(o.notes) if bad else 'ok'}"
              f"{f' twice={o.twice} skipped={o.skipped_not_listed} gap={o.stray} rest={o.stray_rest_ms:.1f}ms' if bad else ''}"
              f"{f' FALSE STALL x{o.false_stalls}' if o.false_stalls else ''}", flush=True)
        if results:
            with results.open("a") as f:
                f.write(json.dumps(asdict(o)) + "\n")
    runs = [int(v) for v in args.only.split(",")] if args.only else range(args.runs)
    profile_name = {name: MachineProfile.load(name).name for name in MACHINES + [args.machine] if name != "mixed"}
    runs = [i for i in runs if (profile_name[machine_of_run(i, args.machine)], i) not in seen]  # outcomes name the profile
    signal.signal(signal.SIGINT, signal.default_int_handler)
    outcomes = campaign(runs, args.seed, args.speed, args.sender_python, progress, args.workers, args.machine)
    outcomes = sorted(earlier + outcomes, key=lambda o: (o.machine, o.run))
    text = report(outcomes, args.seed, args.speed, args.machine, sender_name, list(RECIPES))
    print(f"\n{args.workers} worker(s), {time.monotonic() - t0:.0f} s\n\n{text}")
    if args.json:
        Path(args.json).write_text(json.dumps([asdict(o) for o in outcomes], indent=1))
    if args.markdown:
        Path(args.markdown).write_text(text)


if __name__ == "__main__":
    main()
