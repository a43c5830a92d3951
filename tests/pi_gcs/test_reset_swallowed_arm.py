"""A controller reset that swallows a mark's arming `TRO <gate> 1` on the PI C-884 (a fault
campaign finding: PI run 39, seed 1). The reset lands on the TRO; the MOV sent with it still
runs, with the gate closed, and the stage stops at the mark's end. The stop path reads that
position back, and a position proves the motion, not the beam: the mark must be listed
(uncertain), never booked as exposed in silence. The fault hits that exact command (found by
a clean run of the same job through the real runner, as the emulator counts lines); the
verdict comes from the device's own beam history."""

import sys
from pathlib import Path

import pytest

from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import forget_device, get_device
from lasergen.job import read_job
from tests.pi_gcs.helpers import PI, lines_taken_by_controller, device_name, qr_pattern, write_job

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
from campaign_check import Record, check  # noqa: E402

ARM = f"TRO {PI.gate_line} 1"


def runner_lines(job, monkeypatch) -> list[str]:
    """Every line the controller takes in a clean run of `job` by the runner (line 1 first)."""
    name = device_name()
    with lines_taken_by_controller(monkeypatch) as taken:
        result = JobRunner(job, f"sim://?machine=pi-c884&device={name}", PI,
                           journal_path=job.with_suffix(".clean.journal")).run()
    forget_device(name)
    assert result.status == "complete"
    return taken


@pytest.mark.parametrize("nth_mark", [0, 2])
def test_a_reset_that_swallows_the_arm_lists_the_mark_its_motion_ran_dark(tmp_path, monkeypatch, nth_mark):
    job = write_job(tmp_path, qr_pattern("raster"))
    taken = runner_lines(job, monkeypatch)
    arm_line = [k for k, t in enumerate(taken) if t == ARM][nth_mark] + 1
    assert taken[arm_line].startswith("MOV")  # the mark's MOV goes in the same group
    name = device_name()
    url = f"sim://?machine=pi-c884&device={name}"
    try:
        with pytest.raises(StreamStopped):
            JobRunner(job, f"{url}&reset_after={arm_line}", PI).run()
        final = JobRunner(job, url, PI).run(resume=True)
        assert final.status == "complete"
        history = get_device(name).call(lambda emu: emu.recorder.history())
        verdict = check(read_job(job, PI).toolpath, Record.from_history(history))
        assert verdict.skipped == [nth_mark], "the fault was meant to leave exactly that mark dark"
        assert (verdict.twice, verdict.stray_lines) == ([], 0)
        assert verdict.not_listed(final.uncertain + final.partial) == [], \
            "a mark whose motion ran with the gate closed was booked as exposed"
    finally:
        forget_device(name)


@pytest.mark.parametrize("mode, beam_on, nth_mark", [("raster", ARM, 0), ("raster", ARM, 3),
                                                      ("dots", "MAC START", 2)])
def test_an_error_code_after_a_beam_on_that_ran_never_gets_its_mark_written_twice(tmp_path, monkeypatch, mode,
                                                                                  beam_on, nth_mark):
    """The other way round (a fault campaign finding: PI run 196, seed 12). GCS has no
    checksum: a corrupted digit turns the "0" that answers ERR? after `TRO 1 1` and its MOV
    into "9" (and after a dot's `MAC START`: run 661). ERR? names no command: the controller
    armed and the mark was written, and booking the beam-on as refused wrote it again on
    --resume. The session asks the trigger (`TRO?`) before it blames an arming, and never
    blames a dot's macro (nothing is left to ask once its dwell ran): the dot is listed."""
    import drivers.pi_gcs.client as client

    job = write_job(tmp_path, qr_pattern(mode))
    real_send, real_error = client.GcsClient.send, client.GcsClient.error
    armings, corrupted = [], []

    def send(self, *commands):
        if commands and commands[0].startswith(beam_on):
            armings.append(commands)
        return real_send(self, *commands)

    def error(self, timeout_s=None):
        code = real_error(self, timeout_s)
        if len(armings) == nth_mark + 1 and not corrupted:
            corrupted.append(code)
            return 9
        return code

    monkeypatch.setattr(client.GcsClient, "send", send)
    monkeypatch.setattr(client.GcsClient, "error", error)
    name = device_name()
    url = f"sim://?machine=pi-c884&device={name}"
    try:
        with pytest.raises(StreamStopped):
            JobRunner(job, url, PI).run()
        assert corrupted == [0], "the answer meant to be corrupted was not a clean 0"
        monkeypatch.setattr(client.GcsClient, "error", real_error)
        final = JobRunner(job, url, PI).run(resume=True)
        assert final.status == "complete"
        history = get_device(name).call(lambda emu: emu.recorder.history())
        verdict = check(read_job(job, PI).toolpath, Record.from_history(history))
        assert (verdict.twice, verdict.stray_lines) == ([], 0), "a mark was written twice"
        assert verdict.not_listed(final.uncertain + final.partial) == []
    finally:
        forget_device(name)
