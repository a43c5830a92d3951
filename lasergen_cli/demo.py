"""`lasergen demo`: the main job end to end on built-in defaults.

For each shipped demo pattern (a QR code, the paper's three-level E/F mark): plan it, write
the job, stream it through `sim://` to the emulated GRBL controller exactly as to a real one,
predict the glass from what the emulated laser did (its exposure ledger), render daylight /
365 nm UV / UV behind the 645 nm filter, and check every view against what the job promises.
Part of the CLI: it imports `drivers` and `hardware_sim` lazily.
"""

from __future__ import annotations

from pathlib import Path

import click

import lasergen
from lasergen.machine import MachineProfile
from lasergen_cli.common import emit, json_option, main

PATTERN_DIR = Path(lasergen.__file__).resolve().parent / "patterns"  # the repository's patterns/, shipped inside
DEMO_SPECS = ("qr_demo.toml", "three_level_EF.toml")


def demo_specs() -> list[Path]:
    return [PATTERN_DIR / name for name in DEMO_SPECS]


def stream_to_simulator(job: Path, machine: MachineProfile, material: str, name: str):
    """Stream a job to an in-process emulated controller; (run result, exposure ledger)."""
    import hardware_sim.urlhandler
    from drivers.runner import JobRunner
    from hardware_sim.device import forget_device, get_device

    hardware_sim.urlhandler.register()
    url = f"sim://?material={material}&device={name}"
    journal = job.with_suffix(".journal")
    journal.unlink(missing_ok=True)  # every demo run writes a fresh simulated sample: nothing to resume
    try:
        result = JobRunner(job, url, machine, journal_path=journal, show_bar=False).run()
        return result, get_device(name).ledger()
    finally:
        forget_device(name)


def run_demo(out_dir: Path) -> dict:
    from hardware_sim.glass.simulate import simulate, write_outputs
    from hardware_sim.glass.verify import check_job, describe
    from lasergen.build import plan_to_file  # here, not at import: the planner's imports cost every command ~2 s
    from lasergen.spec import pattern_from_file

    out_dir.mkdir(parents=True, exist_ok=True)
    machine = MachineProfile.load()
    log, jobs, all_ok = [], {}, True
    for spec in demo_specs():
        pattern = pattern_from_file(spec)
        material = pattern.meta.get("material") or "BrI"
        job = out_dir / f"{spec.stem}.gcode"
        manifest = plan_to_file(pattern, job, machine, material)
        log.append(f"{spec.stem}: planned {manifest['counts']['marks']} marks in {manifest['counts']['passes']} "
                   f"pass(es), estimated {manifest['estimate']['time_s']:.1f} s -> {job}")
        run, ledger = stream_to_simulator(job, machine, material, f"demo-{spec.stem}")
        log.append(f"  streamed to sim:// ({run.status}): {run.lines_sent} lines, {run.exposed_now} marks exposed")
        prediction = simulate(ledger, machine, material)
        report = write_outputs(prediction, out_dir / spec.stem)
        green, red = report["phases"]["green"], report["phases"]["red"]
        log.append(f"  predicted on {material}: green {green['peak_nm']:.1f} nm, red {red['peak_nm']:.1f} nm, "
                   f"{report['crystallized_area_um2'] / 1e6:.3f} mm^2 crystallized -> "
                   f"{', '.join(str(out_dir / spec.stem / f) for f in report['renders'].values())}")
        checks = check_job(prediction, manifest)
        log.extend(f"  {describe(c)}" for c in checks)
        all_ok &= all(c["ok"] for c in checks) and run.status == "complete"
        jobs[spec.stem] = {"job": str(job), "marks": manifest["counts"]["marks"],
                           "estimated_time_s": manifest["estimate"]["time_s"], "stream": run.status,
                           "renders": {k: str(out_dir / spec.stem / v) for k, v in report["renders"].items()},
                           "report": str(out_dir / spec.stem / "report.json"), "checks": checks}
    log.append("demo passed: every view shows what its job promises" if all_ok else "demo FAILED: see above")
    return {"out": str(out_dir), "ok": all_ok, "jobs": jobs, "log": log}


@main.command()
@click.option("--out", default="demo_out", show_default=True, help="Folder for the jobs, renders and report.")
@json_option
def demo(out, as_json):
    """The main job on built-in defaults: QR + three-level pattern, end to end on the simulator."""
    result = run_demo(Path(out))
    emit(result, as_json, "\n".join(result["log"]))
