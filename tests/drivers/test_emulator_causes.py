"""Issue 9's emulator causes: the emulated controller must do what the real one does in time,
or the record the campaign checks cannot show a fault's effect. Only the Device API that every
version has is used, so the same file runs against an older hardware_sim."""

import time


from hardware_sim.device import Device
from hardware_sim.faults import FaultPlan


class _Link:
    def __init__(self):
        self.data = b""

    def deliver(self, data: bytes):
        self.data += data


def test_cause6_a_stalled_controller_keeps_its_beam_on_in_the_record(machine):
    """The emulator used to freeze its clock in a stall, so its record never showed the beam a
    hung GRBL keeps at the level it had (here the dot's, during its dwell) until a reset."""
    device = Device(machine, clock="real", speed=1.0)
    link = _Link()
    try:
        device.attach(link, FaultPlan.from_options({"stall_after": "5"}))  # the G4: its dwell has begun
        device.send(b"$X\nG21G90G94\nG0X10Y10\nG1F600M3S100\nG4P2\nM5\n", link=link)
        time.sleep(1.0)
        device.send(b"\x18", link=link)  # the sender's reset
        time.sleep(0.3)
        path = device.executed_toolpath()
        rest_s = float(path.dwell_s[(path.kind == 2) & (path.energy_uJ > 0)].sum())
        assert 0.4 < rest_s < 1.2, rest_s  # burning from the stall until the reset, not after it
    finally:
        device.stop()


def test_cause8_a_late_device_thread_never_lets_the_planner_run_dry(qr_job, machine):
    """A device thread that woke late ran all due motion before taking the next lines from its
    RX buffer, so the planner ran dry after a mark and the record showed the beam resting on
    there (a false 1.24 s dwell). Advancing event by event, the gap line after each mark is
    taken in time: a raster job's record has no dwell at all."""
    import threading

    import hardware_sim.urlhandler
    from drivers.runner import JobRunner
    from hardware_sim.device import forget_device, open_device

    hardware_sim.urlhandler.register()
    device = open_device(machine, "late-thread", clock="real", speed=1.0)
    try:
        late = [threading.Timer(t, lambda: device.call(lambda e: time.sleep(0.8))) for t in (1.0, 2.1, 3.3, 4.6, 5.8, 7.1)]
        for timer in late:
            timer.start()
        JobRunner(qr_job, "sim://?device=late-thread", machine, stall_s=5.0).run()  # lateness is no stall here
        path = device.executed_toolpath()
        rests = path.dwell_s[(path.kind == 2) & (path.energy_uJ > 0)]
        assert rests.size == 0, f"the beam rested on {rests.round(3)} s where the job has no dot"
    finally:
        forget_device("late-thread")
