"""Under M3, GRBL keeps the beam at the last block's power when its planner runs dry. A sender
that stalls, crashes or loses its link between writes must therefore never leave a beam-on
line as the last one queued: each write unit ends with the beam off."""

import sys
import time
from pathlib import Path

import numpy as np
import pytest

from drivers.grbl.job_table import job_table
from drivers.grbl.plan import plan, units
from hardware_sim.device import Device


def _rest_beam_after(machine, data: bytes) -> float:
    """Feed a fresh emulated controller these bytes, let its queue drain; the beam level at rest."""
    device = Device(machine)
    try:
        device.send(b"$H\n" + data)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            idle, power = device.call(lambda e: (e.report_state() == "Idle" and e.motion.current is None,
                                                 e.motion.rest_power_s))
            if idle:
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


def test_a_queue_ending_on_a_mark_leaves_the_beam_on(qr_job, machine):
    """The hazard is real: cut the stream right after a raster mark line."""
    table, sent, _ = _units(qr_job, machine)
    texts = _texts(table, sent)
    first_mark = next(k for k, t in enumerate(texts) if t.startswith("G1X") and not t.endswith("S0"))
    prefix = "".join(t + "\n" for t in texts[:first_mark + 1]).encode()
    assert _rest_beam_after(machine, prefix) > 0


def test_every_write_unit_ends_with_the_beam_off(qr_job, machine):
    table, sent, items = _units(qr_job, machine)
    assert any(len(item.seqs) > 1 for item in items)  # marks travel with the move that ends them
    assert not any(table.beam_on[sent.commands[item.seqs[-1]]] for item in items)
    # every unit that turns the beam on waits until all lines before it are answered
    assert all(item.barrier == bool(table.beam_on[sent.commands[item.first_seq]] or
                                    table.mark_of[sent.commands[item.first_seq]] >= 0) for item in items)
    # and the emulated controller agrees at every unit boundary through the first scan lines
    for k in range(min(40, len(items))):
        sent = b"".join(item.data for item in items[:k + 1])
        assert _rest_beam_after(machine, sent) == 0, f"beam left on after unit {k}: {items[k].data!r}"


@pytest.mark.parametrize("args", [["qr", "LG", "--micro", "yes"], ["qr", "LG", "--micro", "yes", "--passes", "2"],
                                  ["qr", "LG", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.05"],
                                  ["bitmap", "IMAGE", "--dither", "floyd-steinberg"], ["pattern", "LEVELS"]])
def test_lasergen_jobs_never_have_two_beam_on_lines_in_a_row(args, tmp_path, machine):
    """A refused line inside a chain of beam-on lines would let the rest of the chain run from the
    wrong place, and a chain longer than one write would end a unit with the beam on: lasergen's
    own jobs have no chains (every mark is one line followed by a beam-off line), so each single
    refused line leaves the beam off (G-code from elsewhere may: see drivers.grbl.plan)."""
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
    on = table.beam_on[np.flatnonzero(table.sendable)]
    assert on.any() or table.n_marks
    assert not np.any(on[1:] & on[:-1])
