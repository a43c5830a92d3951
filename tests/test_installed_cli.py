"""The installed `lasergen` console script, end to end through a controller error and an alarm.

What a user gets after `pip install .`: the script beside this interpreter, run in a folder of
its own. Each stop must be one line on stderr and exit code 2, the journal must end with the
stop, nothing may be exposed past the stop, and the controller must be left reset with the
beam off. The last is read from the controller itself: the same faults on the emulator
served over TCP (`lasergen sim serve`), asked for its status and parser state afterwards.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import serial

from drivers.journal import read_journal
from hardware_sim.ledger import ExposureLedger
from lasergen.job import read_job
from lasergen import MachineProfile

LASERGEN = Path(sys.executable).with_name("lasergen")
FAULTS = {"error": ("error_on", "80:24", "error:24"), "alarm": ("alarm_on", "80:1", "ALARM:1")}  # mid-job


def lasergen(*args, cwd, timeout=120):
    env = {k: v for k, v in os.environ.items() if k != "LASERGEN_DEBUG"}
    return subprocess.run([str(LASERGEN), *args], cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          stdin=subprocess.DEVNULL, env=env)


@pytest.fixture(scope="module")
def job(tmp_path_factory) -> Path:
    assert LASERGEN.is_file(), "the lasergen console script is not installed beside this Python"
    folder = tmp_path_factory.mktemp("installed")
    done = lasergen("qr", "SN-42", "-o", "q.gcode", cwd=folder)
    assert done.returncode == 0, done.stderr
    return folder / "q.gcode"


def journal_records(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def assert_one_line_stop(done, expected: str):
    assert done.returncode == 2
    assert done.stdout == ""
    lines = done.stderr.splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("lasergen: error: stream stopped") and expected in lines[0]
    assert "beam off, controller reset" in lines[0] and "Traceback" not in done.stderr


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_stream_stops_safely_on_sim(job, fault):
    name, value, expected = FAULTS[fault]
    journal = job.with_name(f"{fault}.journal")
    ledger_path = job.with_name(f"{fault}.ledger.npz")
    done = lasergen("stream", job.name, "--port", f"sim://?{name}={value}", "--journal", journal.name,
                    "--ledger", ledger_path.name, cwd=job.parent)
    assert_one_line_stop(done, expected)

    records = journal_records(journal)
    assert records[-1]["end"] == "halted" and expected in records[-1]["reason"]
    session = read_journal(journal).sessions[-1]
    assert session.stop["reached"]  # the stop path reached the controller: beam off, reset
    if fault == "error":
        assert session.refused is not None and session.code == 24
    # nothing burned after the stop: every exposure the emulator recorded lies on a mark of a
    # line the controller received (at or before the last line written, seq `written`) and,
    # after an error:N, before the refused line (nothing after a refused line may run). GRBL
    # runs what its planner and RX buffer hold before that line (up to 15 blocks: 7 marks
    # here), and how many of those ran before the feed hold is timing: on the fast-forward
    # emulator a status poll that arrives before the hold runs the whole queue at once, as a
    # loaded host makes likely. So the bound is the marks the controller legitimately held, not
    # the count a quiet machine shows. Line numbers are the file's own (row_line counts the
    # header lines too; a body-relative line here once put the bound 7 marks too low).
    lines = job.read_text().splitlines()
    sent = [i for i, line in enumerate(lines) if line and not line.startswith(";")]
    last_line = sent[session.refused] - 1 if fault == "error" else sent[session.written]
    program = read_job(job, MachineProfile.load()).program
    path = program.toolpath
    marks = np.flatnonzero(path.is_mark)
    received = marks[program.row_line[marks] <= last_line]
    ledger = ExposureLedger.load(ledger_path).exposures()  # the beam history: what the beam wrote
    written_marks = set()
    for x0, y0, x1, y1 in zip(ledger.x0, ledger.y0, ledger.x1, ledger.y1):
        on = received[(np.abs(path.y0[received] - y0) < 1e-6) & (np.abs(path.y1[received] - y1) < 1e-6)
                      & (np.minimum(path.x0[received], path.x1[received]) <= min(x0, x1) + 1e-6)
                      & (np.maximum(path.x0[received], path.x1[received]) >= max(x0, x1) - 1e-6)]
        assert on.size, f"beam-on row ({x0}, {y0}) -> ({x1}, {y1}) lies on no mark the controller received"
        written_marks.add(int(on[0]))
    assert 10 < len(written_marks) <= received.size < marks.size


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_controller_is_left_reset_with_the_beam_off(job, fault):
    name, value, expected = FAULTS[fault]
    server = subprocess.Popen([str(LASERGEN), "sim", "serve", "--tcp", "0", "--" + name.replace("_", "-"), value],
                              cwd=job.parent, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                              stdin=subprocess.DEVNULL)
    try:
        url = server.stdout.readline().split()[-1]
        assert url.startswith("socket://127.0.0.1:")
        done = lasergen("stream", job.name, "--port", url, "--journal", f"tcp-{fault}.journal", cwd=job.parent)
        assert_one_line_stop(done, expected)
        with serial.serial_for_url(url, timeout=5) as port:
            port.write(b"?")
            status = port.read_until(b">").decode()
            port.write(b"$G\n")
            modes = port.read_until(b"ok\r\n").decode()
        fields = status.strip().strip("<>").split("|")
        fs = next(f for f in fields if f.startswith("FS:"))
        assert fs.split(",")[1] == "0", status  # laser power 0
        assert fields[0] in ("Idle", "Alarm"), status  # not running, not holding: it was reset
        assert " M5 " in modes and "S" in modes, modes  # the parser's spindle/laser state after reset
    finally:
        server.terminate()
        server.wait(timeout=10)
