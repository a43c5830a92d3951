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


# What a stall's beam-off may exceed the status interval by on this shared 2-core machine: the
# stop's #24 write and the device thread's wake (a few ms idle), and time the sender was not
# scheduled (added back to the silence it judges, by design).
STALL_TOLERANCE_S = 0.15


def test_a_controller_hung_mid_mark_has_its_beam_off_within_one_status_interval(tmp_path, rig, monkeypatch):
    """Issue 9 capability 3: the C-884 hangs right after taking a mark's MOV (trigger armed,
    the stage frozen mid-mark, the beam as it was); the device's own record, on its real clock
    (seconds of the sender's clock), shows the beam off within one status interval of the hang
    plus the tolerance above. An answer timeout of 0.6 s kept it on 0.6 s."""
    from drivers.session import STATUS_INTERVAL_S
    from hardware_sim.pi_gcs.emulator import PiGcsEmulator

    job = write_job(tmp_path, qr_pattern("raster"))
    moves = []
    original = PiGcsEmulator._take

    def take(emu, raw):  # hang on the third mark's MOV: the line after an arming TRO
        if raw.startswith("MOV") and emu.tro.get(PI.gate_line):
            moves.append(raw)
            if len(moves) == 3:
                emu.faults.stall_after = emu.lines_taken + 1
        return original(emu, raw)
    monkeypatch.setattr(PiGcsEmulator, "_take", take)
    halt, report, _, _ = stream_once(f"sim://?machine=pi-c884&device={rig}&clock=real&speed=1", job)
    assert halt is not None and halt.kind == "stall" and report.beam_off
    log = get_device(rig).emulator.fault_log
    stalled_at = next(t for t, what in log if what == "stall")
    reset_at = next(t for t, what in log if what == "soft_reset" and t > stalled_at)
    history = get_device(rig).ledger()
    on, ends = history.beam_on > 0, history.t_start_s + history.duration_s
    assert np.any(on & (history.t_start_s <= stalled_at + 1e-6) & (ends > stalled_at)), "the beam stays on in the hang"
    assert not np.any(on & (ends > reset_at + 1e-6))  # off at the reset
    assert reset_at - stalled_at <= STATUS_INTERVAL_S + STALL_TOLERANCE_S

def test_an_answer_whose_end_was_mangled_is_unreadable_not_a_hang(monkeypatch):
    """A corrupted reply that lost its LF ('0d' for '0\\n') never completes: bytes came, so the
    controller lives and the halt is a protocol fault; the fault campaign counted these as
    stalls called with none injected."""
    from types import SimpleNamespace

    from drivers.pi_gcs.client import Silent
    from drivers.pi_gcs.streaming import Streamer
    from drivers.session import StreamHalt

    def silent(heard):
        exc = Silent("no answer to ERR? within 0.198 s" + ("; got b'0d'" if heard else ""))
        exc.heard = heard
        return exc
    session = SimpleNamespace(client=SimpleNamespace(answer_timeout_s=2.0), gate=1, stall_budget_s=0.2)
    for heard, kind in ((True, "protocol"), (False, "stall")):
        streamer = Streamer(session, SimpleNamespace(payload=[]), handler=None)
        monkeypatch.setattr(streamer, "_run", lambda heard=heard: (_ for _ in ()).throw(silent(heard)))
        with pytest.raises(StreamHalt) as halt:
            streamer.run()
        assert halt.value.kind == kind
