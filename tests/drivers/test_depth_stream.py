"""Streams at depth: a two-plane job streamed through `sim://` predicts what its dry run does at
each depth, and a stop during the Z-only move between the planes resumes with every mark
exposed exactly once (a Z move never fires the beam)."""

import json

import numpy as np
import pytest
from click.testing import CliRunner
from PIL import Image

from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import forget_device, get_device
from hardware_sim.glass.verify import decode_qr
from lasergen.job import read_job, render_job
from lasergen.pattern import Layer, Pattern
from lasergen.planner import plan
from lasergen.recipe import PRESETS
from lasergen_cli import main

from ..test_depth import REPO
from .conftest import exposure_counts

HANDSHAKE = 5  # lines a fresh emulated controller takes before the job (as in test_faults_e2e)


def test_a_depth_job_streamed_through_sim_decodes_at_each_depth_as_its_dry_run(tmp_path, device_name):
    runner = CliRunner()
    job = tmp_path / "stack.gcode"
    assert runner.invoke(main, ["pattern", str(REPO / "patterns" / "depth_stack.toml"), "-o", str(job)]).exit_code == 0
    r = runner.invoke(main, ["stream", str(job), "--port", f"sim://?device={device_name}", "--json"])
    assert r.exit_code == 0, r.output
    ledger = json.loads(r.stdout)["ledger"]
    reports = {}
    for name, source in (("stream", ledger), ("dry", str(job))):
        r = runner.invoke(main, ["simulate", source, "--out", str(tmp_path / name), "--json"])
        assert r.exit_code == 0, r.output
        reports[name] = json.loads(r.stdout)
    assert reports["stream"]["depths_um"] == reports["dry"]["depths_um"] == [150.0, 350.0]
    for depth, payload in ((150, "https://example.org/p/0003"), (350, "https://example.org/decoy")):
        read = {name: decode_qr(np.asarray(Image.open(tmp_path / name / rep["renders"][f"uv365@{depth}um"])
                                           .convert("RGB"))) for name, rep in reports.items()}
        assert read["stream"] == read["dry"] == [payload]


@pytest.fixture
def two_plane_job(tmp_path, machine):
    """Two planes with disjoint marks (so each mark is told apart by X, Y alone)."""
    top, bottom = np.zeros((6, 8), bool), np.zeros((6, 8), bool)
    top[1:5, 1:4], bottom[1:5, 5:7] = True, True
    layers = [Layer(top, "write", "top", depth_um=150.0), Layer(bottom, "write", "bottom", depth_um=350.0)]
    pattern = Pattern(20.0, layers, (10.0, 10.0), dict(PRESETS), {})
    path = tmp_path / "planes.gcode"
    path.write_text(render_job(pattern, plan(pattern, machine), machine))
    return path


def _plane_change(job, machine):
    """Sequence number (in a fresh plan) of the Z-only move between the two planes."""
    table = JobRunner(job, "sim://", machine).table
    fresh = table.plan(np.zeros(table.n_marks, bool))
    z_only = [k for k, c in enumerate(fresh.commands) if c >= 0 and table.text(c).startswith("G0Z")]
    assert len(z_only) == 2 and table.moves[fresh.commands[z_only[1]]]  # down to 350 um, then up to 150 um
    return z_only[1]


@pytest.mark.parametrize("fault", ["alarm_at={line}:40", "drop_after={line}"])
def test_a_stop_on_the_z_move_between_planes_resumes_exactly_once(fault, two_plane_job, machine, device_name):
    seq = _plane_change(two_plane_job, machine)
    url = f"sim://?device={device_name}"
    with pytest.raises(StreamStopped):
        JobRunner(two_plane_job, f"{url}&{fault.format(line=HANDSHAKE + seq + 1)}", machine).run()
    result = JobRunner(two_plane_job, url, machine).run(resume=True)
    path = read_job(two_plane_job, machine).toolpath
    counts, _ = exposure_counts(path, get_device(device_name).executed_toolpath())
    assert result.status == "complete" and not result.uncertain and not result.partial
    assert counts == [1] * int(path.is_mark.sum())  # none rewritten, none skipped
    history = get_device(device_name).ledger()
    lit = history.beam_on.astype(bool)
    assert not np.any(lit & (history.z0 != history.z1))  # the beam never fires while Z moves
    planes = sorted(set(np.round(path.z1[path.is_mark].astype(float), 4).tolist()))
    assert sorted(set(np.round(history.z1[lit], 4).tolist())) == planes
    forget_device(device_name)
