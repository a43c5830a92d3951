"""What a halted PI stream tells the user when the stop cannot be read back (a fault campaign
finding: PI run 110, seed 22). Every answer after the fault arrives mangled, so the stop path's
`ERR?`, `DIO?` and `POS?` never read; the stop byte and the gate close went out all the same.
The message says that, and not GRBL's "beam off once the controller's queue ends" (a C-884
has no queue), and the gate is indeed closed."""

import pytest

from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import forget_device, get_device
from tests.pi_gcs.helpers import PI, device_name, qr_pattern, write_job


def test_a_stop_that_cannot_be_read_back_says_what_was_sent(tmp_path):
    job = write_job(tmp_path, qr_pattern("raster"))
    name = device_name()
    try:
        with pytest.raises(StreamStopped) as stopped:
            JobRunner(job, f"sim://?machine=pi-c884&device={name}&corrupt=1.0&corrupt_after=40&seed=3", PI).run()
        message = str(stopped.value)
        assert "stop and gate close sent, not read back" in message, message
        assert "queue" not in message
        gate_open = get_device(name).call(lambda emu: (emu.run_until_idle(), emu.line_level(PI.gate_line))[1])
        assert not gate_open, "the gate is open after the stop"
    finally:
        forget_device(name)
