"""End to end through the emulated C-884 rig (sim://): whole jobs, every fault type with the
beam off after it, and an exactly-once resume that never writes a mark twice."""

import numpy as np
import pytest

from hardware_sim.device import get_device
from hardware_sim.faults import PARSERS as FAULT_OPTIONS
from tests.pi_gcs.helpers import PI, qr_pattern, stream_once, write_job


def recorded_marks(name):
    path = get_device(name).executed_toolpath()
    return path.take(path.is_mark)


@pytest.mark.parametrize("mode", ["raster", "dots"])
def test_job_through_the_rig_writes_every_mark_once_at_the_attenuator_energy(tmp_path, rig, mode):
    job = write_job(tmp_path, qr_pattern(mode))
    halt, _, table, done = stream_once(f"sim://?machine=pi-c884&device={rig}", job)
    assert halt is None and done.all()
    marks = recorded_marks(rig)
    assert len(marks) == table.n_marks
    assert np.allclose(marks.energy_uJ, 200.0, atol=0.05)  # Malus's law, set through the plate's port
    if mode == "dots":
        assert np.allclose(marks.dwell_s, 0.2)
    else:
        planned = table.machine and np.sort(table.end_mm[table.mark_last][:, 0])
        assert np.allclose(np.sort(marks.x1), planned)


FAULTS = {
    "error": ("error_on=60:7", "error"),
    "alarm": ("alarm_on=80", "alarm"),
    "stall": ("stall_after=70", "stall"),
    "corrupt": ("corrupt=0.05&corrupt_after=60&seed=3", "protocol"),
    "drop": ("drop_after=90", "link"),
}
if "reset_after" in FAULT_OPTIONS:  # the reset and power-loss faults of the shared fault plan
    FAULTS.update({"reset": ("reset_after=85", "reset"), "power": ("power_after=95", "reset")})


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_fault_stops_with_the_beam_off_and_resume_writes_each_mark_once(tmp_path, rig, fault, monkeypatch):
    import drivers.pi_gcs.client as client

    monkeypatch.setattr(client, "DEFAULT_TIMEOUT_S", 0.5)  # the stop path waits less on a hung controller
    option, kind = FAULTS[fault]
    job = write_job(tmp_path, qr_pattern("raster"))
    url = f"sim://?machine=pi-c884&device={rig}"
    uncertain = []
    halt, report, table, done = stream_once(f"{url}&{option}", job, uncertain=uncertain)
    assert halt is not None and halt.kind == kind
    device = get_device(rig)
    assert device.call(lambda emu: emu.line_level(PI.gate_line)) is False or kind == "link"
    if kind != "link":
        assert report.beam_off
    assert not done.all()
    halt2, _, _, done = stream_once(url, job, done=done, uncertain=uncertain)
    assert halt2 is None and done.all()
    marks = recorded_marks(rig)
    key = np.round(np.c_[np.minimum(marks.x0, marks.x1), marks.y0], 4)
    assert len(np.unique(key, axis=0)) == len(key), "a mark was written twice"
    assert len(marks) >= table.n_marks - len(uncertain)
    assert len(uncertain) <= 1


def test_a_hung_controller_is_reset_within_the_answer_timeout_and_keeps_no_beam(tmp_path, rig):
    """A hung C-884 keeps its trigger as it was: the stream declares the stall when an answer is
    ANSWER_TIMEOUT_S late (GRBL's status timeout), not after the client's 2 s default, and the
    stop path's reset ends every beam-on row (real clock, so the record's seconds are the sender's)."""
    from drivers.pi_gcs.streaming import ANSWER_TIMEOUT_S

    job = write_job(tmp_path, qr_pattern("raster"))
    halt, _, _, _ = stream_once(f"sim://?machine=pi-c884&device={rig}&clock=real&speed=1&stall_after=70", job)
    assert halt is not None and halt.kind == "stall"
    log = get_device(rig).emulator.fault_log
    stalled_at = next(t for t, what in log if what == "stall")
    reset_at = next(t for t, what in log if what == "soft_reset" and t > stalled_at)
    assert reset_at - stalled_at < ANSWER_TIMEOUT_S + 0.5 < 2.0  # one poll + the stop path's sends
    history = get_device(rig).ledger()
    ends = history.t_start_s + history.duration_s
    assert not np.any((history.beam_on > 0) & (ends > reset_at + 1e-6))
