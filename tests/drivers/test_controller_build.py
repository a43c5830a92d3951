"""A GRBL controller built with other buffers than GRBL's default (grbl-Mega: a 35-block planner,
a 256-byte receive buffer), end to end: the emulator is built as the profile (or the sim://
URL) says and reports it in `$I` and `Bf:`; the session streams with the controller's sizes,
so a power cut with 35 blocks queued neither doubles nor silently loses a mark."""

import dataclasses
import re

import numpy as np
import pytest
from serial import serial_for_url
from serial.serialutil import SerialException

from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import get_device
from hardware_sim.grbl.emulator import GrblEmulator
from lasergen import MachineProfile
from lasergen.job import read_job
from lasergen.machine import PROFILE_DIR

from .conftest import exposure_counts

MEGA = "planner_blocks=35&rx_buffer_bytes=256"


def _tx(emu, text):
    emu.receive(text.encode())
    out = emu.out.decode().split("\r\n")
    emu.out.clear()
    return [line for line in out if line]


def test_the_emulator_is_built_with_its_profiles_buffers(machine):
    built = dataclasses.replace(machine, settings=tuple(sorted({**dict(machine.settings), "planner_blocks": 35,
                                                                 "rx_buffer_bytes": 256}.items())))
    emu = GrblEmulator(built)
    emu.receive(b"$X\n")
    emu.out.clear()
    assert _tx(emu, "$I\n")[1] == "[OPT:VZ,35,256]"
    assert "|Bf:35,256|" in _tx(emu, "?")[0]
    default = GrblEmulator(machine)
    default.out.clear()
    assert "[OPT:VZ,15,128]" in _tx(default, "$I\n")


@pytest.mark.parametrize("query,message", [
    ("planner_blocks=0", "planner_blocks must be a whole number > 0"),
    ("rx_buffer_bytes=64", "rx_buffer_bytes must be at least 81"),
    ("rx_buffer_bytes=x", "rx_buffer_bytes must be a whole number > 0"),
    ("machine=pi-c884&planner_blocks=35", "planner_blocks applies to a GRBL controller"),
])
def test_a_build_the_emulator_cannot_be_is_one_line(query, message):
    with pytest.raises(SerialException, match=message):
        serial_for_url(f"sim://?{query}")


def test_a_mega_build_streams_with_its_own_buffers_and_says_the_profile_differs(qr_job, machine, device_name):
    runner = JobRunner(qr_job, f"sim://?device={device_name}&{MEGA}", machine)
    result = runner.run()
    assert result.status == "complete"
    assert any("35-block planner and a 256-byte receive buffer" in w for w in result.warnings)
    assert (runner.session.streamer.window, runner.session.streamer.planner_blocks) == (255, 35)
    counts, _ = exposure_counts(read_job(qr_job, machine).toolpath, get_device(device_name).executed_toolpath())
    assert np.all(np.asarray(counts) == 1)


def test_a_profile_that_says_mega_builds_a_mega_and_needs_no_warning(qr_job, tmp_path, device_name):
    text = (PROFILE_DIR / "grbl-default.toml").read_text()
    mega_toml = tmp_path / "mega.toml"
    mega_toml.write_text(re.sub(r"(?m)^rx_buffer_bytes = 128", "rx_buffer_bytes = 256",
                                re.sub(r"(?m)^planner_blocks = 15", "planner_blocks = 35", text)))
    mega = MachineProfile.load(mega_toml)
    assert (mega.planner_blocks, mega.rx_buffer_bytes) == (35, 256)
    runner = JobRunner(qr_job, f"sim://?device={device_name}&machine={mega_toml}", mega)
    result = runner.run()
    assert result.status == "complete"
    assert not any("receive buffer" in w for w in result.warnings)
    assert (runner.session.streamer.window, runner.session.streamer.planner_blocks) == (255, 35)


@pytest.mark.parametrize("cut", [120, 260])
def test_a_power_cut_on_a_mega_build_never_doubles_or_silently_loses_a_mark(cut, qr_job, machine, device_name):
    """A real-time clock, so the 35-block planner and the 255-byte window are full when the
    power goes (the marks still queued are lost with it); the resume writes every mark at
    most once and lists each mark it could not prove."""
    url = f"sim://?device={device_name}&clock=real&speed=20&{MEGA}"
    with pytest.raises(StreamStopped):
        JobRunner(qr_job, f"{url}&power_after={cut}", machine).run()
    result = JobRunner(qr_job, url, machine).run(resume=True)
    counts, _ = exposure_counts(read_job(qr_job, machine).toolpath, get_device(device_name).executed_toolpath())
    counts = np.asarray(counts)
    assert counts.max() <= 1
    assert set(np.flatnonzero(counts == 0)) <= set(result.uncertain) | set(result.partial)

