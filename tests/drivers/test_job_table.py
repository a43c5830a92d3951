"""The runner's GRBL job table: the dialect scan, the interpreter and a scan in pieces agree;
a big job streams before its scan ends, and a piece that is not the dialect halts it safely."""

import json

import numpy as np
import pytest

from drivers import journal as jn
from drivers.grbl import job_table as jt
from drivers.grbl.plan import plan, units
from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import get_device
from lasergen.job import header_text, parse_header

COLUMNS = ["start_mm", "end_mm", "moves", "mark_of", "mark_first", "mark_last", "sendable", "blocks", "sync",
           "laser_on_before", "rapid", "beam_on"]


def _same(a, b, columns=COLUMNS):
    for name in columns:
        x, y = getattr(a, name), getattr(b, name)
        assert x.shape == y.shape and np.array_equal(x, y), name


@pytest.mark.parametrize("job", ["qr_job", "dots_job", "depth_job"])
def test_dialect_scan_interpreter_and_pieces_agree(job, request, machine):
    path = request.getfixturevalue(job)
    whole = jt.job_table(path, machine, planner=plan)
    interpreted = jt.job_table(path, machine, planner=plan, dialect=False)
    pieces = jt.job_table(path, machine, planner=plan, piece_bytes=60)
    assert whole.texts is None and interpreted.texts is not None and pieces.scan is not None
    pieces.complete()
    _same(whole, interpreted)
    _same(whole, pieces)
    for other in (interpreted, pieces):  # Z from the job's first Z word on, NaN before it
        assert np.array_equal(whole.end_z_mm, other.end_z_mm, equal_nan=True)
    assert np.isnan(whole.end_z_mm).all() != (job == "depth_job")
    assert np.allclose(whole.duration_s, interpreted.duration_s)
    sent = np.flatnonzero(whole.sendable)
    assert [whole.text(i) for i in sent] == [interpreted.text(i) for i in sent]
    # the fresh plan needs no finished scan and is the plan of "nothing done"
    fresh, zeros = whole.plan(None), whole.plan(np.zeros(whole.n_marks, bool))
    assert np.array_equal(fresh.commands, zeros.commands) and fresh.first_command == zeros.first_command
    written = [(u.first_seq, u.data, u.barrier) for u in units(whole, fresh)]
    assert written == [(u.first_seq, u.data, u.barrier) for u in units(pieces, pieces.plan(None))]


def _resigned(path, body_edit, generator=None):
    """The job with its body edited and its manifest checksum recomputed (as if planned so)."""
    lines = path.read_text().splitlines()
    manifest, first = parse_header(lines)
    body = body_edit("\n".join(lines[first:]) + "\n")
    import hashlib

    manifest["body_sha256"] = hashlib.sha256(body.encode()).hexdigest()
    if generator:
        manifest["generator"] = generator
    path.write_text(header_text(manifest) + body)
    return path


def _foreign_last_gap(body: str) -> str:
    """Rewrite the last gap move (`G1X..S0`) in a form GRBL accepts but the dialect does not."""
    lines = body.split("\n")
    k = max(i for i, line in enumerate(lines) if line.startswith("G1X") and line.endswith("S0"))
    lines[k] = lines[k].replace("G1X", "G1 X")
    return "\n".join(lines)


def test_a_piece_that_is_not_the_dialect_halts_the_stream_with_the_beam_off(qr_job, machine, device_name,
                                                                            monkeypatch):
    """Only this lasergen's own jobs stream before their scan ends; if a later piece still is
    not its dialect, the stream stops before it: beam off, journal closed."""
    _resigned(qr_job, _foreign_last_gap)
    monkeypatch.setattr(jt, "PIECE_BYTES", 200)
    runner = JobRunner(qr_job, f"sim://?device={device_name}", machine)
    assert runner.table.scan is not None  # streaming starts from the first piece
    with pytest.raises(StreamStopped, match="dialect"):
        runner.run()
    s = jn.read_journal(runner.journal_path).sessions[-1]
    assert s.end == "halted" and s.stop["reached"] and s.stop["kind"] == "job"
    assert get_device(device_name).call(lambda e: (e.motion.rest_power_s, e.motion.current)) == (0.0, None)


def test_a_job_of_another_version_is_scanned_whole_and_interpreted(qr_job, machine, device_name, monkeypatch):
    _resigned(qr_job, _foreign_last_gap, generator="lasergen 0.0.1")
    monkeypatch.setattr(jt, "PIECE_BYTES", 200)
    runner = JobRunner(qr_job, f"sim://?device={device_name}", machine)
    assert runner.table.scan is None and runner.table.texts is not None
    result = runner.run()
    assert result.status == "complete" and result.exposed_now == result.marks


def test_journal_header_names_the_job_by_its_checksum(qr_job, machine, device_name):
    runner = JobRunner(qr_job, f"sim://?device={device_name}", machine)
    runner.run()
    head = json.loads(runner.journal_path.read_text().splitlines()[0])
    assert head["body_sha256"] == runner.table.body_sha256 and head["commands"] == runner.table.n_commands
