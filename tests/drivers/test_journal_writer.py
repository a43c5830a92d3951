"""The journal's writer: records through a memory map of the file survive a killed sender
(SIGKILL, no close), the next run appends after them, and a file that cannot be mapped is
written record by record with the same result."""

import json
import signal
import subprocess
import sys

import pytest

from drivers import journal as jn

KILLED_WRITER = """
import os, signal, sys
from drivers import journal as jn
w = jn.JournalWriter(sys.argv[1], jn.header("ab" * 32, "job.gcode", 5000))
w.write({"session": 1, "port": "sim://", "device": {}, "first_command": 0, "n_sent": 5000, "t": 0})
for seq in range(3000):
    w.written(seq)
w.executed_through(2500, force=True)
os.kill(os.getpid(), signal.SIGKILL)
"""


def test_a_killed_writer_leaves_every_record_and_the_next_run_appends_after_them(tmp_path):
    path = tmp_path / "job.gcode.dev.journal"
    done = subprocess.run([sys.executable, "-c", KILLED_WRITER, str(path)], capture_output=True, cwd=tmp_path)
    assert done.returncode == -signal.SIGKILL
    data = path.read_bytes()
    assert len(data) == jn.GROW_BYTES and data.endswith(b"\0")  # the room ahead, never cut
    assert jn.started(path)
    session = jn.read_journal(path).sessions[0]
    assert (session.written, session.executed) == (2999, 2500)

    writer = jn.JournalWriter(path)  # the resume's writer: after the last whole record
    writer.written(3000)
    writer.close()
    data = path.read_bytes()
    assert b"\0" not in data and data.endswith(b'{"x":2500}\n{"w":3000}\n')
    assert jn.read_journal(path).sessions[0].written == 3000


@pytest.mark.parametrize("mapped", [True, False])
def test_records_read_back_as_written_mapped_or_not(tmp_path, monkeypatch, mapped):
    monkeypatch.setattr(jn, "MAPPED", mapped)
    monkeypatch.setattr(jn, "GROW_BYTES", 4096)  # several growths of the map
    path = tmp_path / "j.journal"
    writer = jn.JournalWriter(path, jn.header("cd" * 32, "job.gcode", 10))
    writer.write({"session": 1, "port": "sim://", "device": {}, "first_command": 0, "n_sent": 10, "t": 0})
    for seq in range(2000):
        writer.written(seq)
    writer.write({"end": "complete", "reason": ""}, sync=True)
    writer.close()
    lines = path.read_text().splitlines()
    assert len(lines) == 2 + 2000 + 1 and json.loads(lines[-1]) == {"end": "complete", "reason": ""}
    assert jn.read_journal(path).sessions[0].written == 1999


def test_a_page_a_power_cut_lost_ends_the_journal_there(tmp_path):
    """The page cache may write a later page before an earlier one: after a power cut the
    records after a lost (zero) page are of the last FSYNC_S, the documented window."""
    path = tmp_path / "j.journal"
    head = (json.dumps(jn.header("ef" * 32, "job.gcode", 10)) + "\n"
            + '{"session":1,"port":"sim://","device":{},"first_command":0,"n_sent":10,"t":0}\n{"w":4}\n')
    path.write_bytes(head.encode() + b"\0" * 4096 + b'{"w":9}\n' + b"\0" * 100)
    assert jn.read_journal(path).sessions[0].written == 4
    writer = jn.JournalWriter(path)
    writer.close()
    assert path.read_bytes() == head.encode()


def test_a_disk_with_no_room_for_the_map_falls_back_to_writes_mid_run(tmp_path, monkeypatch):
    """Growing the map allocates its blocks first: a full disk is an OSError there (then each
    record is written), never a SIGBUS at a store into an unallocated page."""
    monkeypatch.setattr(jn, "GROW_BYTES", 4096)
    calls = []

    def allocate(fd, size):
        calls.append(size)
        if len(calls) > 1:
            raise OSError(28, "No space left on device")
        return real(fd, size)

    real = jn._allocate
    monkeypatch.setattr(jn, "_allocate", allocate)
    path = tmp_path / "j.journal"
    writer = jn.JournalWriter(path, jn.header("ab" * 32, "job.gcode", 10))
    writer.write({"session": 1, "port": "sim://", "device": {}, "first_command": 0, "n_sent": 10, "t": 0})
    for seq in range(1000):  # ~9 KB: past the first 4 KiB of map
        writer.written(seq)
    assert writer._map is None and len(calls) == 2
    writer.close()
    data = path.read_bytes()
    assert b"\0" not in data and len(data.splitlines()) == 1002
    assert jn.read_journal(path).sessions[0].written == 999
