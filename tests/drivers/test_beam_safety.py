"""The beam at rest when a stream stops between writes. Under M3, GRBL keeps the beam at the
last block's power when its planner runs dry, so a sender that stalls, crashes or loses its link
between writes must never leave an M3 beam-on line as the last one queued: each write unit of
an M3 pass ends with the beam off. lasergen's raster passes are armed under M4 (the beam is off
at rest whatever line was queued last), so their units may end anywhere and their marks need no
barrier; the first unit after the pass's `M4S0` still waits for it."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from drivers.grbl.job_table import job_table
from drivers.grbl.plan import plan, units
from hardware_sim.device import Device
from lasergen.backends.grbl.gcode.emit import emit_body
from lasergen.job import read_job


def _rest_beam_after(machine, data: bytes) -> float:
    """Feed a fresh emulated controller these lines as a sender would (never more than its RX
    buffer holds), let its queue drain; the beam level at rest."""
    device = Device(machine)
    try:
        device.send(b"$H\n")
        for line in data.splitlines(keepends=True):
            deadline = time.monotonic() + 10
            while device.call(lambda e: len(e.rx)) + len(line) > 127:
                assert time.monotonic() < deadline, "the emulated controller stopped reading"
                time.sleep(0.002)
            device.send(line)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            idle, power, dropped = device.call(lambda e: (e.report_state() == "Idle" and e.motion.current is None
                                                         and not e.rx and not e.steps, e.motion.rest_power_s,
                                                         e.dropped_bytes))
            if idle:
                assert dropped == 0
                return power
            time.sleep(0.01)
        raise AssertionError("the emulated controller never went idle")
    finally:
        device.stop()


def _units(qr_job, machine):
    table = job_table(qr_job, machine, planner=plan)
    sent = table.plan(np.zeros(table.n_marks, dtype=bool))
    return table, sent, list(units(table, sent))


def _texts(table, sent):
    return [table.text(int(c)) for c in sent.commands]


def _m3_job(qr_job, machine, tmp_path):
    """The same job written as earlier versions did: every lit pass under M3, no arming."""
    path = read_job(qr_job, machine).program.toolpath
    out = tmp_path / "m3.gcode"
    out.write_bytes(b"".join(emit_body(path, machine, {}, armed=False)))
    return out


def test_under_m3_a_queue_ending_on_a_mark_leaves_the_beam_on(qr_job, machine, tmp_path):
    """The hazard is real: cut an M3 stream right after a raster mark line."""
    table, sent, _ = _units(_m3_job(qr_job, machine, tmp_path), machine)
    texts = _texts(table, sent)
    first_mark = next(k for k, t in enumerate(texts) if t.startswith("G1X") and not t.endswith("S0"))
    prefix = "".join(t + "\n" for t in texts[:first_mark + 1]).encode()
    assert _rest_beam_after(machine, prefix) > 0


def test_under_m4_a_queue_ending_on_a_mark_leaves_the_beam_off(qr_job, machine):
    table, sent, _ = _units(qr_job, machine)
    texts = _texts(table, sent)
    assert "M4S0" in texts
    first_mark = next(k for k, t in enumerate(texts) if t.startswith("X") and not t.endswith("S0"))
    prefix = "".join(t + "\n" for t in texts[:first_mark + 1]).encode()
    assert _rest_beam_after(machine, prefix) == 0


def test_every_m3_write_unit_ends_with_the_beam_off(qr_job, machine, tmp_path):
    table, sent, items = _units(_m3_job(qr_job, machine, tmp_path), machine)
    assert any(len(item.seqs) > 1 for item in items)  # marks travel with the move that ends them
    assert not any(table.beam_on[sent.commands[item.seqs[-1]]] for item in items)
    # every unit that turns the beam on waits until all lines before it are answered, as does
    # the first after M3S0
    texts = _texts(table, sent)
    for item in items:
        line = sent.commands[item.first_seq]
        after_on = item.first_seq > 0 and texts[item.first_seq - 1] == "M3S0"
        assert item.barrier == bool(table.beam_on[line] or table.mark_of[line] >= 0 or after_on)
    # and the emulated controller agrees at every unit boundary through the first scan lines
    for k in range(min(40, len(items))):
        data = b"".join(item.data for item in items[:k + 1])
        assert _rest_beam_after(machine, data) == 0, f"beam left on after unit {k}: {items[k].data!r}"


def test_an_armed_pass_streams_its_marks_without_barriers(qr_job, machine):
    table, sent, items = _units(qr_job, machine)
    texts = _texts(table, sent)
    barriers = [item for item in items if item.barrier]
    assert [texts[item.first_seq - 1] for item in barriers] == ["M4S0"]  # one per pass: after its M4S0
    assert sum(1 for t in texts if t.startswith("X")) == table.n_marks > 100
    for k in range(min(40, len(items))):  # the beam is off at rest after any unit
        data = b"".join(item.data for item in items[:k + 1])
        assert _rest_beam_after(machine, data) == 0, f"beam left on after unit {k}: {items[k].data!r}"


@pytest.mark.parametrize("args", [["qr", "LG", "--micro", "yes"], ["qr", "LG", "--micro", "yes", "--passes", "2"],
                                  ["qr", "LG", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.05"],
                                  ["bitmap", "IMAGE", "--dither", "floyd-steinberg"], ["pattern", "LEVELS"]])
def test_lasergen_jobs_never_chain_raster_marks_and_arm_every_one(args, tmp_path, machine):
    """A refused line inside a chain of beam-on lines would let the rest of the chain run from the
    wrong place: lasergen's raster and dot jobs have no chains (every mark is one line with a
    beam-off line on each side), and in an armed pass every mark line comes right after the line
    that arms it, which comes right after a G0 (so a single refused line never writes a mark
    from the wrong place: drivers.grbl.plan)."""
    from click.testing import CliRunner
    from PIL import Image

    from lasergen_cli import main

    sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
    from fault_campaign import THREE_LEVEL

    yy, xx = np.mgrid[0:16, 0:16]
    Image.fromarray((16 * (xx + yy) // 2).astype(np.uint8)).save(tmp_path / "g.png")
    (tmp_path / "levels.toml").write_text(THREE_LEVEL)
    args = [{"IMAGE": str(tmp_path / "g.png"), "LEVELS": str(tmp_path / "levels.toml")}.get(a, a) for a in args]
    job = tmp_path / "j.gcode"
    assert CliRunner().invoke(main, args + ["-o", str(job)]).exit_code == 0
    table = job_table(job, machine, planner=plan)
    assert table.n_marks
    sendable = np.flatnonzero(table.sendable)
    mark_line = np.zeros(table.n_commands, bool)
    mark_line[table.mark_last] = True
    assert not np.any(mark_line[sendable][1:] & mark_line[sendable][:-1])
    texts = [table.text(int(line)) for line in sendable]
    for k, text in enumerate(texts):
        if text.startswith("X"):  # an armed mark: its arming line, and a G0 before that
            assert table.arming[sendable[k - 1]] and texts[k - 1].startswith("G1X") and texts[k - 1].endswith("S0")
            assert texts[k - 2] == "G0" or texts[k - 2].startswith("G0X")
            assert table.dynamic_before[sendable[k]]
