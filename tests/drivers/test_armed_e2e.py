"""Armed raster passes under refusals, end to end through the emulated GRBL controller.

An armed pass (M4; each mark a bare line after the blank `G1 .. S0` that arms it, a G0 before
that) streams its marks without a per-mark barrier, so after a refused line GRBL runs the lines
already in its RX buffer, marks among them. Whichever single line is refused, no beam-on motion
may leave a planned mark, the mark whose arming line was refused is booked unwritten (it ran as
a G0, beam disabled) and is written on resume, and no mark is written twice.
"""

import numpy as np
import pytest

from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import get_device
from lasergen.job import read_job

from .conftest import exposure_counts, on_planned_marks

HANDSHAKE = 5  # lines a fresh emulated controller takes before the job (checked by the match below)


def _plan(job, machine):
    table = JobRunner(job, "sim://", machine).table
    plan = table.plan(np.zeros(table.n_marks, bool))
    return table, plan, [table.text(int(c)) for c in plan.commands]


@pytest.mark.parametrize("which", ["arming", "mark", "disarm", "spindle", "restart"])
def test_a_refused_line_of_an_armed_pass_leaves_every_mark_written_once(which, qr_job, machine, device_name):
    table, plan, texts = _plan(qr_job, machine)
    assert "M4S0" in texts
    arming = [k for k in range(len(plan)) if plan.commands[k] >= 0 and table.arming[plan.commands[k]]]
    k0 = arming[len(arming) // 3]
    pick = {"arming": k0, "mark": k0 + 1, "disarm": next(k for k in range(k0, len(texts)) if texts[k] == "G0"),
            "spindle": texts.index("M4S0"),
            "restart": next(k for k in range(k0, len(texts)) if texts[k].startswith("G0X") and "Y" in texts[k])}[which]
    url = f"sim://?device={device_name}"
    with pytest.raises(StreamStopped, match=f"line {plan.commands[pick] + 1} "):
        JobRunner(qr_job, f"{url}&error_on={HANDSHAKE + pick + 1}:20", machine).run()
    job_path = read_job(qr_job, machine).toolpath
    job_marks = job_path.take(job_path.is_mark)
    first = get_device(device_name).executed_toolpath()
    assert on_planned_marks(first, job_marks)  # nothing written from the wrong place
    written_first = int(first.is_mark.sum())
    if which == "arming":  # the marks after it in the RX buffer ran; the refused one did not
        assert written_first >= 1
    result = JobRunner(qr_job, url, machine).run(resume=True)
    counts, _ = exposure_counts(job_path, get_device(device_name).executed_toolpath())
    counts = np.asarray(counts)
    assert counts.max() <= 1, f"marks written twice: {np.flatnonzero(counts > 1).tolist()}"
    missing = set(np.flatnonzero(counts == 0).tolist())
    assert missing <= set(result.partial) | set(result.uncertain)  # a gap is always listed
    assert not missing, f"a single refused {which} line lost marks {sorted(missing)}"


def test_an_armed_stream_halted_mid_pass_resumes_under_m4(qr_job, machine, device_name):
    """The resume's preamble re-establishes the pass's own spindle mode (M4S0), and its first
    line after it waits for it (a barrier): nothing written twice, nothing lost."""
    table, plan, texts = _plan(qr_job, machine)
    url = f"sim://?device={device_name}"
    with pytest.raises(StreamStopped):
        JobRunner(qr_job, f"{url}&stall_after={HANDSHAKE + len(texts) // 2}", machine).run()
    runner = JobRunner(qr_job, url, machine)
    result = runner.run(resume=True)
    job_path = read_job(qr_job, machine).toolpath
    counts, _ = exposure_counts(job_path, get_device(device_name).executed_toolpath())
    counts = np.asarray(counts)
    assert counts.max() <= 1
    assert set(np.flatnonzero(counts == 0).tolist()) <= set(result.partial) | set(result.uncertain)


def test_a_resume_inside_an_armed_pass_restates_m4_and_waits_for_it(qr_job, machine):
    from drivers.grbl.plan import units

    table, _, _ = _plan(qr_job, machine)
    done = np.zeros(table.n_marks, bool)
    done[: table.n_marks // 2] = True
    plan = table.plan(done)
    assert plan.payload.preamble[-1] == "M4S0" or plan.payload.preamble[-2] == "M4S0"  # (then the start's G0)
    first_real = next(u for u in units(table, plan) if plan.commands[u.first_seq] >= 0)
    assert first_real.barrier
    assert sum(u.barrier for u in units(table, plan)) == 1
