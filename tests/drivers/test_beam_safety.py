"""Under M3, GRBL keeps the beam at the last block's power when its planner runs dry. A sender
that stalls, crashes or loses its link between writes must therefore never leave a beam-on
line as the last one queued: each write unit ends with the beam off."""

import time

import numpy as np

from drivers.grbl.job_lines import job_lines
from drivers.resume import plan_send
from hardware_sim.device import Device
from lasergen.job import read_job


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
    text = qr_job.read_text()
    jl = job_lines(read_job(text, machine), text.splitlines())
    plan = plan_send(jl, np.zeros(jl.n_marks, dtype=bool))
    return jl, plan, plan.items(jl)


def test_a_queue_ending_on_a_mark_leaves_the_beam_on(qr_job, machine):
    """The hazard is real: cut the stream right after a raster mark line."""
    _, plan, _ = _units(qr_job, machine)
    first_mark = next(k for k, t in enumerate(plan.texts) if t.startswith("G1X") and not t.endswith("S0"))
    prefix = "".join(t + "\n" for t in plan.texts[:first_mark + 1]).encode()
    assert _rest_beam_after(machine, prefix) > 0


def test_every_write_unit_ends_with_the_beam_off(qr_job, machine):
    jl, plan, items = _units(qr_job, machine)
    assert any(len(item.seqs) > 1 for item in items)  # marks travel with the move that ends them
    assert not any(plan._beam_on(jl, item.seqs[-1]) for item in items)
    # and the emulated controller agrees at every unit boundary through the first scan lines
    for k in range(min(40, len(items))):
        sent = b"".join(item.data for item in items[:k + 1])
        assert _rest_beam_after(machine, sent) == 0, f"beam left on after unit {k}: {items[k].data!r}"
