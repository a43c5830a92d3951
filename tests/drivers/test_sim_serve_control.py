"""`lasergen sim serve` as its own process: the emulated controller outlives its clients, and its
standard-input commands (status, save, reset, power, quit) and SIGUSR1 do what its help says."""

import json
import os
import select
import signal
import subprocess
import sys
import time

import pytest

from drivers.runner import JobRunner
from hardware_sim.ledger import ExposureLedger


def _reply(proc, timeout_s=10.0) -> str:
    ready, _, _ = select.select([proc.stdout], [], [], timeout_s)
    assert ready, "sim serve did not answer"
    return proc.stdout.readline().strip()


def _ask(proc, command: str) -> str:
    proc.stdin.write(command + "\n")
    proc.stdin.flush()
    return _reply(proc)


@pytest.fixture
def served(tmp_path):
    ledger = tmp_path / "served.npz"
    proc = subprocess.Popen([sys.executable, "-m", "lasergen", "sim", "serve", "--tcp", "0", "--json", "--ledger",
                             str(ledger), "--clock", "real", "--speed", "20"], stdin=subprocess.PIPE,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=tmp_path)
    try:
        where = json.loads(_reply(proc, 30.0))["listening"]
        yield proc, where, ledger
    finally:
        if proc.poll() is None:
            proc.kill()
        proc.communicate(timeout=10)


def test_the_served_controller_keeps_its_record_and_obeys_its_commands(served, qr_job, machine, tmp_path):
    proc, where, ledger = served
    first = JobRunner(qr_job, where, machine).run()
    assert first.status == "complete"
    status = _ask(proc, "status")
    assert status.startswith("<Idle|") and "MPos:" in status
    copy = tmp_path / "copy.npz"
    assert _ask(proc, f"save {copy}") == f"saved {copy}"
    rows_after_one = len(ExposureLedger.load(copy))
    assert rows_after_one > 0
    # a second client: the record goes on (the device outlives its clients)
    (qr_job.parent / f"{qr_job.name}.{first.device}.journal").unlink()
    assert JobRunner(qr_job, where, machine).run().status == "complete"
    assert _ask(proc, f"save {copy}") == f"saved {copy}"
    assert len(ExposureLedger.load(copy)) == 2 * rows_after_one
    # SIGUSR1 saves to --ledger
    proc.send_signal(signal.SIGUSR1)
    deadline = time.monotonic() + 10
    while not ledger.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(ExposureLedger.load(ledger)) == 2 * rows_after_one
    assert _ask(proc, "frobnicate").startswith("unknown command 'frobnicate'")
    assert _ask(proc, "quit") == "bye"
    assert proc.wait(timeout=10) == 0


@pytest.mark.parametrize("command, says", [("reset", "reset"), ("power", "power cycled")])
def test_a_reset_or_power_loss_while_serving_halts_the_stream_with_the_beam_off(command, says, served, dots_job,
                                                                               machine):
    """A host crash test needs the controller reset under a running stream: the sender must see
    it (banner), stop at once and leave its journal for --resume."""
    import threading

    from drivers.runner import StreamStopped

    proc, where, ledger = served
    replies, asked = [], []

    def progress(info):  # once the first dot is proven done, reset the controller under the stream
        if not asked:
            asked.append(threading.Thread(target=lambda: replies.append(_ask(proc, command))))
            asked[0].start()
    with pytest.raises(StreamStopped, match="reset"):
        JobRunner(dots_job, where, machine, progress=progress).run()
    asked[0].join()
    assert replies == [says]
    assert _ask(proc, "status").split("|")[0] in ("<Idle", "<Alarm")
    result = JobRunner(dots_job, where, machine).run(resume=True)
    assert result.status == "complete"
    assert _ask(proc, "save") == f"saved {ledger}"
    executed = ExposureLedger.load(ledger)
    assert len(executed) > 0
    os.kill(proc.pid, signal.SIGTERM)
    assert proc.wait(timeout=10) == 0
