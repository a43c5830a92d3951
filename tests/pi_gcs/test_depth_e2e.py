"""Depth jobs on the PI C-884 rig, end to end through `sim://?machine=pi-c884`: the emulated
controller moves its focus stage as axis 3, the session switches on, references and checks Z,
and a two-plane job streams complete with every mark in the device's own beam history once, at
its own depth. Faults right at the plane change (the Z-only move from the last dot of the lower
plane to the first of the upper, stacked above it) then resume until done, exactly once per
plane, the beam never firing at a depth the job never asked for."""

import json

import numpy as np
import pytest
from click.testing import CliRunner

from drivers.runner import JobRunner
from hardware_sim.device import forget_device, get_device
from lasergen import Job
from lasergen.job import read_job
from lasergen_cli import main
from tests.drivers.test_depth_faults_e2e import assert_exactly_once, exactly_once_per_plane, resume_until_done
from tests.drivers.test_resume_depth import stacked_dots_pattern
from tests.pi_gcs.helpers import PI, lines_taken_by_controller
from tests.test_depth import REPO


def planes_of(history, lit_only=True):
    rows = history.beam_on > 0 if lit_only else np.ones(len(history.z0), bool)
    return sorted(set(np.round(history.z0[rows], 4)) | set(np.round(history.z1[rows], 4)))


def test_the_depth_stack_streams_complete_with_each_mark_once_at_its_depth(tmp_path, rig):
    runner = CliRunner()
    job = tmp_path / "stack.job"
    r = runner.invoke(main, ["pattern", str(REPO / "patterns" / "depth_stack.toml"), "--machine", "pi-c884",
                             "-o", str(job)])
    assert r.exit_code == 0, r.output
    r = runner.invoke(main, ["stream", str(job), "--port", f"sim://?machine=pi-c884&device={rig}",
                             "--machine", "pi-c884", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["status"] == "complete"
    path = read_job(job, PI).toolpath
    history = get_device(rig).ledger()
    wrong, off_plane, verdicts = exactly_once_per_plane(path, history)
    assert off_plane == 0 and wrong == []
    for v in verdicts:
        assert (v.twice, v.skipped, v.stray) == ([], [], 0)
    planned = np.unique(np.round(path.z1[path.is_mark], 4))
    assert len(planned) == 2 and np.allclose(planes_of(history), planned, atol=1e-4)
    lit = history.beam_on > 0
    assert not np.any(lit & (history.z0 != history.z1)), "the beam fired while Z moved"
    for z in planned:  # every planned line of the plane, at that plane's Z, and nothing more
        in_plane = lit & (np.abs(history.z0 - z) < 1e-4)
        marks = path.is_mark & (np.abs(path.z1 - z) < 1e-4)
        assert np.isclose(history.length_mm[in_plane].sum(), path.take(marks).length_mm.sum(), rtol=1e-3)


def test_simulate_of_a_pi_depth_job_renders_each_plane(tmp_path):
    runner = CliRunner()
    job = tmp_path / "stack.job"
    assert runner.invoke(main, ["pattern", str(REPO / "patterns" / "depth_stack.toml"), "--machine", "pi-c884",
                                "-o", str(job)]).exit_code == 0
    r = runner.invoke(main, ["simulate", str(job), "--out", str(tmp_path / "sim"), "--json"])
    assert r.exit_code == 0, r.output
    report = json.loads(r.stdout)
    assert report["depths_um"] == [150.0, 350.0]
    for depth in (150, 350):
        for view in ("daylight", "uv365", "uv365_lp645"):
            assert (tmp_path / "sim" / report["renders"][f"{view}@{depth}um"]).is_file()


@pytest.fixture
def pi_stack(tmp_path, rig, monkeypatch):
    """The stacked ring of dots as a PI job, and the emulator's number of the line of its
    plane change (counted in a clean run: lines count per connection, handshake included)."""
    job = tmp_path / "stack.job"
    job.write_text(Job.plan(stacked_dots_pattern(), PI).text)
    table = JobRunner(job, "sim://?machine=pi-c884", PI).table
    assert table.end_z_mm is not None
    z = table.end_z_mm
    changes = [k for k in range(1, len(z)) if np.isfinite(z[k - 1]) and z[k] != z[k - 1]]
    plane_change = table.texts[changes[-1]]
    assert table.moves[changes[-1]] and np.array_equal(table.start_mm[changes[-1]], table.end_mm[changes[-1]])
    assert table.texts[changes[-1] + 1].startswith("MAC START")  # the stacked dot right after it
    clean = f"{rig}-clean"
    with lines_taken_by_controller(monkeypatch) as taken:
        JobRunner(job, f"sim://?machine=pi-c884&device={clean}", PI).run()
    forget_device(clean)
    forget_device(f"{clean}:attenuator")
    assert taken.count(plane_change) == 1
    return job, taken.index(plane_change) + 1


PLANE_CHANGE_FAULTS = ["error_on={line}:7", "alarm_on={line}", "alarm_at={line}:40", "reset_after={line}",
                       "power_after={line}", "drop_after={line}"]


@pytest.mark.parametrize("fault", PLANE_CHANGE_FAULTS)
def test_pi_depth_job_stopped_at_the_plane_change_resumes_exactly_once(fault, pi_stack, rig):
    job, line = pi_stack
    url = f"sim://?machine=pi-c884&device={rig}"
    result = resume_until_done(job, url, PI, f"{url}&{fault.format(line=line)}")
    assert_exactly_once(job, PI, rig, result)
    history = get_device(rig).ledger()
    assert not np.any((history.beam_on > 0) & (history.z0 != history.z1)), "the beam fired while Z moved"
    assert len(planes_of(history)) == 2


def test_a_resume_at_the_upper_plane_restores_z_before_its_first_dot(tmp_path):
    """The resume plan from the upper plane's first dot: the preamble sets up Z (ACC/DEC/VEL of
    axis 3) and rapids to where the lower plane ended, Z included; the plan's first motion is the
    Z move to the upper plane, sent before that dot's macro."""
    from drivers.pi_gcs.job_table import build_table

    job = tmp_path / "stack.job"
    job.write_text(Job.plan(stacked_dots_pattern(), PI).text)
    table = build_table(str(job), PI)
    upper = table.end_z_mm[table.mark_last]
    done = upper != upper[-1]  # the lower plane written, the upper not yet
    assert done.sum() == 8 and not done[-1]
    plan = table.plan(done)
    sent = [text for text, _ in plan.payload]
    preamble = sent[:int((plan.commands < 0).sum())]
    assert "ACC 1 500 2 500 3 50" in preamble and "VEL 1 20 2 20 3 2" in preamble
    lower_z = table.end_z_mm[table.mark_last[done][-1]]
    assert next(t for t in preamble if t.startswith("MOV ")).endswith(f" 3 {lower_z:.4f}")
    first_dot = sent.index(next(t for t in sent[len(preamble):] if t.startswith("MAC START")))
    z_moves = [t for t in sent[len(preamble):first_dot] if t.startswith("MOV ")]
    assert z_moves and float(z_moves[-1].split()[-1]) == pytest.approx(upper[~done][0], abs=1e-4)
