"""A depth job stopped right at its plane change, then resumed until done: every mark exposed
exactly once, in its own plane, read from the device's own beam history (GRBL; the same
faults on the PI C-884 rig are in tests/pi_gcs/test_depth_e2e.py, which reuses these checks).

The job is the same ring of dots at 350 um and at 150 um; dots are ordered nearest first, so
the first dot of the upper plane sits right above the last of the lower one and is reached by
the Z-only move alone. Faults hit that move: refused (`error:N`), an alarm halfway through it,
a soft reset, a power loss, a link drop. Two things used to go wrong there:
  - the GRBL resume's preamble restored X, Y but not Z, so the stacked dot was written at
    whatever Z the stop left: on the lower dot (written twice) after a refused Z move, at the
    surface after a reset (booked done either way);
  - reconcile compared X, Y only, so a stop inside the Z move (or a settled position above the
    lower plane's last dot) also fit the lower plane's commands: the stacked dot was listed
    uncertain and never written, or a written dot listed as a gap.
"""

import sys
from pathlib import Path

import numpy as np
import pytest

from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import get_device
from lasergen import Job
from lasergen.job import read_job
from lasergen.toolpath import DWELL
from tests.drivers.test_resume_depth import stacked_dots_pattern

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from campaign_check import Record, check  # noqa: E402

HANDSHAKE = 5  # lines a fresh emulated GRBL takes before the job (as in test_faults_e2e)


def exactly_once_per_plane(job_toolpath, history):
    """(dots exposed other than once, beam-on rows at no planned depth, campaign verdicts):
    the campaign's checks run plane by plane (they compare X, Y), and each planned dot's
    beam-on time in its own plane divided by its dwell (two dwells back to back at one spot,
    as a resume at the same place writes them, merge into one rest the interval count misses)."""
    lit = (history.beam_on > 0) & (history.energy_uJ > 0) & (history.duration_s > 0)
    planes = np.unique(np.round(job_toolpath.z1[job_toolpath.is_mark], 4))
    in_plane = [(np.abs(history.z0 - z) < 1e-4) & (np.abs(history.z1 - z) < 1e-4) for z in planes]
    off_plane = int((lit & ~np.any(in_plane, axis=0)).sum())
    wrong, verdicts = [], []
    for z, rows in zip(planes, in_plane):
        planned = job_toolpath.take(np.abs(job_toolpath.z1 - z) < 1e-4)
        verdicts.append(check(planned, Record.from_history(history.take(rows))))
        dots = np.flatnonzero(planned.is_mark & (planned.kind == DWELL))
        for m in dots:
            at = rows & lit & (np.abs(history.x0 - planned.x0[m]) < 1e-6) & (np.abs(history.y0 - planned.y0[m]) < 1e-6)
            times = history.duration_s[at].sum() / planned.dwell_s[m]
            if abs(times - 1.0) > 1e-3:
                wrong.append((float(z), float(planned.x0[m]), float(planned.y0[m]), round(float(times), 3)))
    return wrong, off_plane, verdicts


def resume_until_done(job, url, machine, fault_url):
    with pytest.raises(StreamStopped):
        JobRunner(job, fault_url, machine).run()
    for _ in range(4):
        try:
            return JobRunner(job, url, machine).run(resume=True)
        except StreamStopped:
            continue
    raise AssertionError("the resume did not finish in 4 sessions")


def assert_exactly_once(job, machine, name, result):
    path = read_job(job, machine).toolpath
    wrong, off_plane, verdicts = exactly_once_per_plane(path, get_device(name).ledger())
    assert result.status == "complete"
    assert off_plane == 0, "the beam fired at a depth the job never asked for"
    assert wrong == [], "dots exposed other than once in their own plane"
    for v in verdicts:
        assert (v.twice, v.skipped, v.stray) == ([], [], 0)
    assert (result.uncertain, result.partial) == ([], [])  # nothing lost to a listed gap


@pytest.fixture
def grbl_stack(tmp_path, machine):
    job = tmp_path / "stack.gcode"
    job.write_text(Job.plan(stacked_dots_pattern(), machine).text)
    table = JobRunner(job, "sim://", machine).table
    fresh = table.plan(np.zeros(table.n_marks, bool))
    z_only = [k for k, c in enumerate(fresh.commands) if c >= 0 and table.text(c).startswith("G0Z")]
    assert len(z_only) == 2 and table.text(fresh.commands[z_only[1] + 1]).startswith("G1F")  # a dot right after
    return job, HANDSHAKE + z_only[1] + 1  # the emulator's number of the plane change's line


@pytest.mark.parametrize("fault", ["error_on={line}:20", "alarm_at={line}:60", "reset_after={line}",
                                   "power_after={line}", "drop_after={line}"])
def test_grbl_depth_job_stopped_at_the_plane_change_resumes_exactly_once(fault, grbl_stack, machine, device_name):
    job, line = grbl_stack
    url = f"sim://?device={device_name}"
    result = resume_until_done(job, url, machine, f"{url}&{fault.format(line=line)}")
    assert_exactly_once(job, machine, device_name, result)
