"""A refused beam-off on the PI C-884 (issue 9 cause 5, for GCS): the gate's `TRO <gate> 0`
after a mark is refused while the gap's `MOV` is already in flight. GCS runs every command
as it arrives, so unless the disarm is proven before the gap's move is sent, the trigger stays
armed and the beam writes the gap. The fault hits that exact command (found by a clean run of
the same job, as the emulator counts lines); the verdict comes from the device's own beam
history: no beam-on row where no mark was planned, nothing written twice after the resume."""

import sys
from pathlib import Path


from hardware_sim.device import forget_device, get_device
from lasergen.job import read_job
from tests.pi_gcs.helpers import PI, lines_taken_by_controller, device_name, qr_pattern, stream_once, write_job

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from campaign_check import Record, check  # noqa: E402

GATE = PI.gate_line


def lines_taken(job, monkeypatch) -> list[str]:
    """Every line the controller takes in a clean run of `job`, in order (line 1 first)."""
    name = device_name()
    with lines_taken_by_controller(monkeypatch) as taken:
        halt, _, _, done = stream_once(f"sim://?machine=pi-c884&device={name}", job)
    forget_device(name)
    assert halt is None and done.all()
    return taken


def verdict(name, job):
    history = get_device(name).call(lambda emu: emu.recorder.history())
    return check(read_job(job, PI).toolpath, Record.from_history(history))


def resumed_verdict(url, name, job, done, uncertain):
    """Resume the job to its end on the same device; the verdict of the device's whole record."""
    halt, _, _, done = stream_once(url, job, done=done, uncertain=uncertain)
    assert halt is None and done.all()
    return verdict(name, job)


def test_a_refused_disarm_halts_before_the_gap_move_and_the_beam_never_writes_the_gap(tmp_path, monkeypatch):
    job = write_job(tmp_path, qr_pattern("raster"))
    taken = lines_taken(job, monkeypatch)
    first_arm = taken.index(f"TRO {GATE} 1")
    disarm = taken.index(f"TRO {GATE} 0", first_arm)
    assert taken[disarm - 1].startswith("MOV") or taken[disarm - 1].endswith("?")  # right after the mark
    name = device_name()
    url = f"sim://?machine=pi-c884&device={name}"
    try:
        uncertain = []
        halt, report, table, done = stream_once(f"{url}&error_on={disarm + 1}:7", job, uncertain=uncertain)
        assert halt is not None and halt.kind == "error"
        assert report.beam_off
        after_fault = verdict(name, job)
        assert after_fault.stray_lines == 0, "the beam wrote a gap after the refused TRO 0"
        assert done[0] and not done.all()
        final = resumed_verdict(url, name, job, done, uncertain)
        assert (final.stray_lines, final.twice, final.stray_rests_s) == (0, [], [])
        assert final.not_listed(uncertain) == []
    finally:
        forget_device(name)


def test_a_refused_mac_end_leaves_no_controller_recording_for_ever(tmp_path, monkeypatch):
    """The dot macro's `MAC END` refused: the controller goes on recording every line (ERR? and
    *IDN? too, answering none). The stop path and the next connect end the recording, and the
    resume writes every dot once."""
    import drivers.pi_gcs.client as client

    job = write_job(tmp_path, qr_pattern("dots"))
    taken = lines_taken(job, monkeypatch)
    monkeypatch.setattr(client, "DEFAULT_TIMEOUT_S", 0.5)
    name = device_name()
    url = f"sim://?machine=pi-c884&device={name}"
    try:
        uncertain = []
        halt, _, _, done = stream_once(f"{url}&error_on={taken.index('MAC END') + 1}:17", job, uncertain=uncertain)
        assert halt is not None and not done.any()
        assert get_device(name).call(lambda emu: emu.recording) is None
        final = resumed_verdict(url, name, job, done, uncertain)
        assert (final.stray_lines, final.twice, final.stray_rests_s, final.skipped) == (0, [], [], [])
    finally:
        forget_device(name)


def test_a_power_loss_that_swallows_a_dots_macro_start_lists_the_dot(tmp_path, monkeypatch):
    """The controller restarts on a dot's `MAC START`: afterwards #8 says no macro runs and ERR?
    says 0, as after a dot that ran. The dot's execution is unproven (the axes lost their
    reference): it is listed, not booked as exposed in silence, and never written twice."""
    job = write_job(tmp_path, qr_pattern("dots"))
    taken = lines_taken(job, monkeypatch)
    starts = [k for k, t in enumerate(taken) if t.startswith("MAC START")]
    name = device_name()
    url = f"sim://?machine=pi-c884&device={name}"
    try:
        uncertain = []
        halt, _, _, done = stream_once(f"{url}&power_after={starts[3] + 1}", job, uncertain=uncertain)
        assert halt is not None and halt.kind == "reset"
        assert uncertain == [3]
        final = resumed_verdict(url, name, job, done, uncertain)
        assert (final.stray_lines, final.twice, final.stray_rests_s) == (0, [], [])
        assert final.skipped == [3] and final.not_listed(uncertain) == []
    finally:
        forget_device(name)


def test_a_refused_mac_beg_leaves_the_macro_body_harmless(tmp_path, monkeypatch):
    """The dot macro's `MAC BEG` refused (a corrupted line, as GCS reports it: an error code):
    the controller records nothing and runs the macro's body as it arrives. The body names the
    gate line only as the macro's argument `$3`, so run outside a macro it is refused too and the
    gate never opens (timed line by line in test_emulator.py); the stream stops on the error, and
    the resume writes every dot once."""
    job = write_job(tmp_path, qr_pattern("dots"))
    taken = lines_taken(job, monkeypatch)
    name = device_name()
    url = f"sim://?machine=pi-c884&device={name}"
    try:
        uncertain = []
        halt, report, _, done = stream_once(f"{url}&error_on={taken.index('MAC BEG LGDOT') + 1}:17", job,
                                            uncertain=uncertain)
        assert halt is not None and halt.kind == "error" and report.beam_off and not done.any()
        history = get_device(name).call(lambda emu: emu.recorder.history())
        assert Record.from_history(history).beam_on.sum() == 0, "the gate opened while the macro was not recorded"
        final = resumed_verdict(url, name, job, done, uncertain)
        assert (final.stray_lines, final.twice, final.stray_rests_s, final.skipped) == (0, [], [], [])
    finally:
        forget_device(name)
