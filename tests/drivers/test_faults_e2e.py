"""Issue 9's causes end to end through the emulator, and issue 8's journal-per-device rules."""

import os
import signal
import socket
import threading
import time

import numpy as np
import pytest

from drivers import journal as jn
from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import Device, get_device
from hardware_sim.transport import BUSY_REPLY, TcpServer
from lasergen import LasergenError
from lasergen.job import read_job

from .conftest import exposure_counts, on_planned_marks


def _counts(job, machine, name):
    counts, _ = exposure_counts(read_job(job, machine).toolpath, get_device(name).executed_toolpath())
    return np.asarray(counts)


@pytest.mark.parametrize("fault", ["reset_after=25", "power_after=25"])
def test_a_reset_mid_stream_halts_at_once_position_unknown(fault, dots_job, machine, device_name):
    """Cause 4: the banner after a reset must halt the stream (it used to wait forever during a
    dwell, and book the error:9 that follows a power loss against a written line)."""
    url = f"sim://?device={device_name}"
    t0 = time.monotonic()
    with pytest.raises(StreamStopped, match="reset|ALARM:3"):
        JobRunner(dots_job, f"{url}&{fault}", machine).run()
    assert time.monotonic() - t0 < 10
    result = JobRunner(dots_job, url, machine).run(resume=True)
    counts = _counts(dots_job, machine, device_name)
    assert counts.max() <= 1
    assert set(np.flatnonzero(counts == 0)) <= set(result.uncertain) | set(result.partial)


def test_a_refused_move_before_a_mark_never_lets_the_mark_run(qr_job, machine, device_name):
    """Cause 5: GRBL runs what is in its RX buffer after an error:N; a refused S0 move used to
    let the next mark start from the wrong place (the beam wrote the gap)."""
    probe = JobRunner(qr_job, "sim://", machine)
    table = probe.table
    plan = table.plan(np.zeros(table.n_marks, bool))
    handshake = 5  # lines before the job on a fresh emulated controller; checked by the match below
    marks = table.mark_of[plan.commands] >= 0  # (armed marks leave no beam on after them: not `beam_on`)
    gaps = [k for k in range(1, len(plan) - 1) if marks[k + 1] and not marks[k] and table.moves[plan.commands[k]]][:3]
    assert len(gaps) == 3
    for k in gaps:
        name = f"{device_name}-{k}"
        with pytest.raises(StreamStopped, match=f"line {plan.commands[k] + 1} "):
            JobRunner(qr_job, f"sim://?device={name}&error_on={handshake + k + 1}:20", machine).run()
        job = read_job(qr_job, machine).toolpath
        assert on_planned_marks(get_device(name).executed_toolpath(), job.take(job.is_mark))
        from hardware_sim.device import forget_device
        forget_device(name)


def test_a_stalled_controller_keeps_its_beam_until_the_sender_resets_it(tmp_path, machine, device_name):
    """Cause 6: the emulator froze its clock in a stall, so its record never showed the beam
    the real controller keeps; the sender now resets within its status timeout."""
    from lasergen_cli import main
    from click.testing import CliRunner

    job = tmp_path / "d.gcode"
    assert CliRunner().invoke(main, ["qr", "A", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.3",
                                     "-o", str(job)]).exit_code == 0
    url = f"sim://?device={device_name}&clock=real&speed=1"
    with pytest.raises(StreamStopped, match="stopped responding"):
        JobRunner(job, f"{url}&stall_after=30", machine).run()
    emu = get_device(device_name).emulator
    stalled_at = next(t for t, what in emu.fault_log if what == "stall")
    reset_at = next(t for t, what in emu.fault_log if what == "soft_reset" and t > stalled_at)
    assert reset_at - stalled_at < 1.5  # status timeout 0.6 s + one poll + scheduling
    history = get_device(device_name).ledger()
    ends = history.t_start_s + history.duration_s
    assert not np.any((history.beam_on > 0) & (ends > reset_at + 1e-6))  # beam off at the reset


def test_ctrl_c_during_start_up_resets_and_leaves_no_journal(qr_job, machine, device_name):
    """Cause 7: Ctrl-C during start-up gave click's 'Aborted!', exit 1, no end record."""
    runner = JobRunner(qr_job, f"sim://?device={device_name}&baud=2400", machine)
    threading.Timer(0.15, lambda: os.kill(os.getpid(), signal.SIGINT)).start()
    with pytest.raises(StreamStopped, match="interrupted"):
        runner.run()
    assert not jn.job_journals(qr_job)


def test_two_ctrl_c_while_streaming_still_close_the_journal(qr_job, machine, device_name):
    runner = JobRunner(qr_job, f"sim://?device={device_name}&clock=real&speed=2", machine)
    calls = []

    def progress(info):
        calls.append(info)
        if len(calls) in (2, 3):
            os.kill(os.getpid(), signal.SIGINT)

    runner.progress = progress
    with pytest.raises(StreamStopped, match="interrupted"):
        runner.run()
    s = jn.read_journal(runner.journal_path).sessions[-1]
    assert s.end == "halted" and s.stop["reached"]
    assert get_device(device_name).call(lambda e: (e.motion.rest_power_s, e.motion.current)) == (0.0, None)


def test_fast_reader_leaves_f0_to_the_interpreter():
    """Cause 9: the fast reader accepted F0 (GRBL's error:22)."""
    from lasergen.backends.grbl.gcode.fastread import scan_text

    assert scan_text("G21G90G94\nM3S0\nG1X1Y1F0S10\nM5\n") is None
    assert scan_text("G21G90G94\nM3S0\nG1X1Y1F60S10\nM5\n") is not None


def test_a_journal_belongs_to_one_device(qr_job, machine, device_name):
    """Issue 8 section 2: a run interrupted on one controller is not resumed on another unless
    the user names the first; a dry run never blocks the real one."""
    with pytest.raises(StreamStopped):
        JobRunner(qr_job, f"sim://?device={device_name}&error_on=60", machine).run()
    first = jn.job_journals(qr_job)
    assert len(first) == 1
    key = jn.read_journal(first[0]).device["key"]
    other = f"{device_name}-b"
    try:
        # a resume on another device is refused, naming both devices ...
        with pytest.raises(LasergenError) as refused:
            JobRunner(qr_job, f"sim://?device={other}", machine).run(resume=True)
        message = str(refused.value)
        assert key in message and "--resume-on" in message and "\n" not in message
        # ... and a fresh run there is not blocked by the first device's journal
        assert JobRunner(qr_job, f"sim://?device={other}", machine).run().status == "complete"
    finally:
        from hardware_sim.device import forget_device
        forget_device(other)
    third = f"{device_name}-c"
    try:
        result = JobRunner(qr_job, f"sim://?device={third}", machine, resume_on=key).run(resume=True)
        assert result.status == "complete" and result.skipped > 0
    finally:
        from hardware_sim.device import forget_device
        forget_device(third)


def test_a_stream_refused_at_connect_leaves_no_journal(qr_job, machine):
    with pytest.raises(LasergenError):
        JobRunner(qr_job, "socket://127.0.0.1:1", machine).run()
    assert not jn.job_journals(qr_job)


def test_a_torn_last_record_is_ignored(qr_job, machine, device_name):
    url = f"sim://?device={device_name}"
    with pytest.raises(StreamStopped):
        JobRunner(qr_job, f"{url}&drop_after=80", machine).run()
    path = jn.job_journals(qr_job)[0]
    with open(path, "a") as f:
        f.write('{"w": 12')  # the sender died mid-write
    result = JobRunner(qr_job, url, machine).run(resume=True)
    assert result.status == "complete"
    assert _counts(qr_job, machine, device_name).max() == 1


@pytest.mark.parametrize("resume", [False, True])
def test_a_journal_torn_in_its_header_blocks_nothing(qr_job, machine, device_name, resume):
    """SIGKILL while the header was written (the header precedes the first byte: nothing was
    sent); neither a new run nor --resume may be refused for it, and each mark is written once."""
    url = f"sim://?device={device_name}"
    with pytest.raises(StreamStopped):
        JobRunner(qr_job, f"{url}&drop_after=8", machine).run()  # a journal, no mark written yet
    path = jn.job_journals(qr_job)[0]
    assert _counts(qr_job, machine, device_name).max() == 0
    path.write_bytes(path.read_bytes().split(b"\n")[0][:30])  # the header cut mid-write
    assert jn.job_journals(qr_job) == []
    result = JobRunner(qr_job, url, machine).run(resume=resume)
    assert result.status == "complete"
    counts = _counts(qr_job, machine, device_name)
    assert counts.min() == counts.max() == 1


def test_tcp_emulator_serves_one_client_and_tells_the_second(machine):
    device = Device(machine)
    server = TcpServer(device)
    try:
        first = socket.create_connection(("127.0.0.1", server.port))
        time.sleep(0.1)
        second = socket.create_connection(("127.0.0.1", server.port))
        second.settimeout(2)
        assert second.recv(200) == BUSY_REPLY
        first.close()
    finally:
        server.close()
        device.stop()


def test_cli_resume_without_a_value_takes_the_jobs_own_journal(qr_job, device_name):
    from click.testing import CliRunner

    from lasergen_cli import main

    url = f"sim://?device={device_name}"
    first = CliRunner().invoke(main, ["stream", str(qr_job), "--port", f"{url}&error_on=60"])
    assert first.exit_code == 2 and "--resume" in first.stderr
    again = CliRunner().invoke(main, ["stream", str(qr_job), "--port", url, "--json", "--resume"])
    assert again.exit_code == 0, again.stderr
    import json
    assert json.loads(again.stdout)["skipped"] > 0
    assert "p  pause" in CliRunner().invoke(main, ["stream", "--help"]).output
