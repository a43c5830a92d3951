"""`lasergen demo`: the main job end to end on built-in defaults.

Plans the two shipped patterns (a QR code and the paper's three-level E/F mark), writes the
jobs, and estimates them. This module sits at CLI level: the steps that stream to the
simulated device and predict the glass import `drivers` and `hardware_sim` lazily.
"""

from __future__ import annotations

from pathlib import Path

from .build import plan_to_file
from .machine import MachineProfile
from .spec import pattern_from_file

PATTERN_DIR = Path(__file__).resolve().parent.parent / "patterns"
DEMO_SPECS = ("qr_demo.toml", "three_level_EF.toml")


def demo_specs() -> list[Path]:
    """The shipped demo specs: from the source tree, else the copies inside the package."""
    here = PATTERN_DIR if PATTERN_DIR.is_dir() else Path(__file__).resolve().parent / "data" / "patterns"
    return [here / name for name in DEMO_SPECS]


def run_demo(out_dir: Path) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    machine = MachineProfile.load()
    log, jobs = [], {}
    for spec in demo_specs():
        pattern = pattern_from_file(spec)
        job = out_dir / f"{spec.stem}.gcode"
        manifest = plan_to_file(pattern, job, machine)
        jobs[spec.stem] = {"job": str(job), "marks": manifest["counts"]["marks"],
                           "estimated_time_s": manifest["estimate"]["time_s"]}
        log.append(f"planned {spec.stem}: {manifest['counts']['marks']} marks, "
                   f"{manifest['counts']['passes']} pass(es), estimated {manifest['estimate']['time_s']:.1f} s -> {job}")
    return {"out": str(out_dir), "jobs": jobs, "log": log}
