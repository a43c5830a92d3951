"""The PI GCS language: what the emitter writes reads back as the same toolpath; the reader
refuses what lasergen's jobs never contain; the motion model times each move point to point."""

from lasergen import Job
import ast
import json
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from lasergen import LasergenError
from lasergen.backends import BACKENDS, language_for
from lasergen.job import read_job, render_job
from lasergen import MachineProfile
from lasergen.planner import plan
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath
from lasergen_cli import main
from tests.pi_gcs.helpers import PI, qr_pattern

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("mode", ["raster", "dots"])
def test_emitted_job_reads_back_as_the_planned_toolpath(mode):
    pattern = qr_pattern(mode)
    path = plan(pattern, PI)
    job = read_job(render_job(pattern, path, PI), PI)
    got = job.toolpath
    assert job.controller == "pi_gcs" and len(got) == len(path)
    for col in ("kind", "x1", "y1", "energy_uJ", "dwell_s", "pass_id"):
        assert np.allclose(getattr(got, col), getattr(path, col), atol=1e-4), col
    writing = path.kind == LINE
    assert np.allclose(got.speed_mm_s[writing], path.speed_mm_s[writing])


def test_a_diagonal_mark_gets_scaled_axis_velocities_and_reads_back_straight():
    path = Toolpath.from_columns(kind=[RAPID, LINE], x1=[10.0, 13.0], y1=[10.0, 14.0], speed_mm_s=[0, 0.5],
                                 energy_uJ=[0, 200.0]).chain()
    body = b"".join(language_for(PI).emit_body(path, PI, {})).decode()
    assert "VEL 1 0.3 2 0.4" in body and "ACC 1 375 2 500" in body and "CTO 1 2 2" in body
    got = language_for(PI).read_body(body.splitlines(), PI).toolpath
    assert np.isclose(got.speed_mm_s[1], 0.5) and got.energy_uJ[1] == 200.0


@pytest.mark.parametrize("line, says", [
    ("FRF 1", "FRF is not a command"),
    ("MOV 4 1.0", "axis '4'"),
    ("MOV 1 nan", "finite"),
    ("MAC START OTHER 1 0", "only lasergen's dot macro"),
    (";@energy -1", "energy must be"),
])
def test_reader_refuses_with_the_line_number(line, says):
    body = Job.plan(qr_pattern("dots"), PI).text.splitlines()
    at = body.index("VEL 1 20 2 20") + 1
    body.insert(at, line)
    with pytest.raises(LasergenError, match=f"line {at + 1}: .*{says}"):
        read_job("\n".join(body), PI, check_sum=False)


def test_a_pi_job_read_with_a_grbl_profile_is_refused():
    text = Job.plan(qr_pattern(), PI).text
    with pytest.raises(LasergenError, match="written for a PI GCS 2.0"):
        read_job(text, MachineProfile.load("default"))
    assert read_job(text).machine.name == "pi-c884"  # no profile given: the job's own


def test_point_to_point_timing_is_a_trapezoid_per_move_plus_fixed_costs():
    lang = language_for(PI)
    path = Toolpath.from_columns(kind=[RAPID, LINE, DWELL], x1=[10.0, 11.0, 11.0], y1=[0.0, 0.0, 0.0],
                                 speed_mm_s=[0, 0.4, 0], dwell_s=[0, 0, 0.5], energy_uJ=[0, 0, 200.0]).chain()
    t = lang.durations(path, PI)
    fixed = (PI.settle_ms + PI.command_overhead_ms) / 1000.0
    v, a = 20.0, 500.0
    rapid = 2 * v / a + (10.0 - v * v / a) / v
    assert np.isclose(t[0], rapid + fixed)
    assert np.isclose(t[1], 2 * 0.4 / a + (1.0 - 0.4 ** 2 / a) / 0.4 + fixed + PI.gate_latency_ms / 1000.0)
    assert np.isclose(t[2], 0.5 + 0.001 + PI.command_overhead_ms / 1000.0 + PI.attenuator_settings["move_s"])
    prof = lang.profile(path, PI)
    assert (prof.v_entry == 0).all() and (prof.v_exit == 0).all()


def test_the_core_reaches_controllers_only_through_the_registry():
    for rel in ("lasergen/job.py", "lasergen/build.py", "lasergen/planner.py", "lasergen_cli/plan.py"):
        tree = ast.parse((REPO / rel).read_text())
        imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
        imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        assert not any(m.startswith("lasergen.backends.") for m in imported), rel
    assert set(BACKENDS) >= {"grbl", "pi_gcs"}


def test_grbl_jobs_keep_their_header():
    machine = MachineProfile.load()
    text = Job.plan(qr_pattern(), machine).text
    assert text.splitlines()[0] == ";@lasergen lasergen-job v1"
    manifest = read_job(text, machine).manifest
    assert manifest["machine"] == {"name": "grbl-fs-default", "rep_rate_kHz": 10.0, "s_per_uJ": 1.0}
    assert manifest["assumes"]["laser_mode"] == "$32=1"


def test_cli_plans_estimates_and_simulates_a_pi_job(tmp_path):
    job = tmp_path / "qr.job"
    r = CliRunner()
    out = r.invoke(main, ["qr", "https://example.org/p/1", "--machine", "pi-c884", "-o", str(job), "--json"])
    assert out.exit_code == 0, out.output
    assert job.read_text().startswith(";@lasergen lasergen-job v1 pi_gcs")
    est = json.loads(r.invoke(main, ["estimate", str(job), "--json"]).output)
    assert est["controller"] == "pi_gcs" and est["mark_count"] > 0
    sim = r.invoke(main, ["verify", str(job), "--no-margin", "--json"])
    assert sim.exit_code == 0, sim.output
    assert json.loads(sim.output)["ok"]
    bad = r.invoke(main, ["estimate", str(job), "--machine", "default"])
    assert bad.exit_code == 2 and "pass a pi_gcs profile" in bad.output
