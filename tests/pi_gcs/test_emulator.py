"""The emulated C-884 answers GCS as the controller does, and records what the gate let through."""

import dataclasses

import numpy as np
import pytest

from hardware_sim.beam.elliptec import ElliptecEmulator
from hardware_sim.beam.rig import Rig
from hardware_sim.pi_gcs.emulator import PiGcsEmulator
from lasergen.toolpath import DWELL, LINE
from tests.pi_gcs.helpers import PI


def talk(emu, text):
    emu.receive(text.encode() if isinstance(text, str) else text)
    return emu.take_output()


def ready(machine=PI, fast_forward=True, rig=None):
    emu = PiGcsEmulator(machine, fast_forward=fast_forward, rig=rig)
    talk(emu, "SVO 1 1 2 1\nFRF 1 2\n")
    emu.run_until_idle()
    return emu


@pytest.mark.parametrize("command, code", [
    ("FOO 1\n", 2), ("MOV 1 60\n", 7), ("VEL 1 25\n", 8), ("MOV 7 1\n", 15), ("DEL 10\n", 85),
    ("CTO 1 3 0\n", 17), ("MAC START NOPE\n", 20), ("STP\n", 10),
])
def test_refusals_are_silent_and_err_reads_them_once(command, code):
    emu = ready()
    assert talk(emu, command) == b""
    assert talk(emu, "ERR?\n") == f"{code}\n".encode()
    assert talk(emu, "ERR?\n") == b"0\n"


def test_power_up_refuses_motion_until_servo_and_reference():
    emu = PiGcsEmulator(PI)
    talk(emu, "MOV 1 1\n")
    assert talk(emu, "ERR?\n") == b"5\n"
    assert talk(emu, "FRF? 1 2\n") == b"1=0 \n2=0\n"


def test_motion_takes_its_trapezoid_and_on_target_follows_settling():
    emu = ready(fast_forward=False)
    talk(emu, "VEL 1 10\nMOV 1 10\n")
    t0 = emu.now_s
    emu.advance(t0 + 0.5)
    assert talk(emu, b"\x05") == b"1\n" and talk(emu, "ONT? 1\n") == b"1=0\n"
    duration = 2 * 10 / 500 + (10 - 100 / 500) / 10
    emu.advance(t0 + duration + 0.001)
    assert talk(emu, b"\x05") == b"0\n" and talk(emu, "ONT? 1\n") == b"1=0\n"  # still settling
    emu.advance(t0 + duration + PI.settle_ms / 1000 + 0.001)
    assert talk(emu, "ONT? 1\n") == b"1=1\n" and talk(emu, "POS? 1\n") == b"1=10.000000\n"


def test_in_motion_trigger_gates_a_writing_move_and_the_dot_macro_a_dwell():
    rig = Rig(PI)
    emu = ready(rig=rig)
    talk(emu, "CTO 1 3 6\nCTO 1 2 1\nMOV 1 5 2 5\n")
    emu.run_until_idle()
    talk(emu, "TRO 1 1\nVEL 1 0.4\nMOV 1 6 2 5\n")
    emu.run_until_idle()
    talk(emu, "TRO 1 0\nMAC BEG LGDOT\nDIO 1 1\nDEL $1\nDIO 1 0\nDEL $2\nMAC END\nMAC START LGDOT 300 0\n")
    assert talk(emu, b"\x08") == b"0\n"
    path = emu.recorder.toolpath()
    marks = path.take(path.is_mark)
    assert marks.kind.tolist() == [LINE, DWELL]
    assert np.allclose([marks.x0[0], marks.x1[0]], [5.0, 6.0], atol=1e-3)
    assert np.isclose(marks.dwell_s[1], 0.3) and np.allclose(marks.energy_uJ, rig.energy_uJ())
    assert talk(emu, "DIO?\n").startswith(b"1=0")


def test_a_shutter_latency_shifts_the_exposure_and_leaves_a_dwell_at_the_line_end():
    shutter = dataclasses.replace(PI, gate="shutter", gate_latency_ms=5.0)
    emu = ready(shutter)
    talk(emu, "CTO 1 3 6\nCTO 1 2 1\nMOV 1 5 2 5\n")
    emu.run_until_idle()
    talk(emu, "TRO 1 1\nVEL 1 0.4\nMOV 1 6 2 5\n")
    emu.run_until_idle()
    path = emu.recorder.toolpath()
    marks = path.take(path.is_mark)
    assert marks.kind.tolist() == [LINE, DWELL]
    assert 5.0 < marks.x0[0] < 5.002 and np.isclose(marks.dwell_s[1], 0.005)


def test_the_attenuator_port_sets_the_rig_energy_by_malus_law():
    rig = Rig(PI)
    mount = ElliptecEmulator(PI, rig=rig)
    mount.receive(b"0ma00000800")  # 2048 pulses = 5.14 deg
    assert mount.take_output() == b"0PO00000800\r\n"
    angle = 2048 * 360 / 143360
    expected = 0.5 + (400 - 0.5) * np.cos(np.radians(2 * angle)) ** 2
    assert np.isclose(rig.energy_uJ(), expected) and rig.plate_commands == 1


def test_the_focus_stage_is_axis_3_with_its_own_limits_state_and_trapezoid():
    emu = PiGcsEmulator(PI, fast_forward=False)
    assert talk(emu, "SAI?\n") == b"1 \n2 \n3\n"
    assert talk(emu, "TMX? 3\n") == b"3=10.000000\n" and talk(emu, "VEL? 3\n") == b"3=2.000000\n"
    talk(emu, "MOV 3 1\n")
    assert talk(emu, "ERR?\n") == b"5\n"  # unreferenced at power-up, like X and Y
    talk(emu, "SVO 1 1 2 1 3 1\nFRF 1 2 3\n")
    emu.run_until_idle()
    talk(emu, "VEL 3 2.5\n")
    assert talk(emu, "ERR?\n") == b"8\n"  # above the profile's z_max_rate_mm_s
    talk(emu, "MOV 3 11\n")
    assert talk(emu, "ERR?\n") == b"7\n"  # beyond [travel] z_mm
    talk(emu, "MOV 1 1 3 1\n")
    t0 = emu.now_s
    duration_z = 2 * 2 / 50 + (1 - 4 / 50) / 2  # 2 mm/s, 50 mm/s2
    emu.advance(t0 + duration_z - 0.01)
    assert talk(emu, b"\x05") == b"4\n"  # X long done, Z still running
    emu.advance(t0 + duration_z + PI.settle_ms / 1000 + 0.001)
    assert talk(emu, "ONT? 1 2 3\n") == b"1=1 \n2=1 \n3=1\n"
    assert talk(emu, "POS? 3\n") == b"3=1.000000\n"


def test_a_motion_error_partway_through_a_z_move_cuts_it_there_and_drops_every_servo():
    from hardware_sim.faults import FaultPlan

    emu = PiGcsEmulator(PI, faults=FaultPlan(alarm_at=(3, 400.0, 1)))
    talk(emu, "SVO 1 1 2 1 3 1\nFRF 1 2 3\nMOV 1 0 2 0 3 1\n")
    assert talk(emu, "POS? 3\n") == b"3=0.400000\n"
    assert talk(emu, "SVO? 1 2 3\n") == b"1=0 \n2=0 \n3=0\n" and talk(emu, "ERR?\n") == b"-1024\n"
    assert [what for _, what in emu.fault_log] == ["alarm:-1024"]


def test_a_motion_error_drawn_on_a_line_that_moves_nothing_cuts_the_next_move():
    """The fault campaign draws alarm_at on a random line; on a C-884 most lines are queries
    and settings, so a motion error armed there strikes the next move, D um into it."""
    from hardware_sim.faults import FaultPlan

    emu = PiGcsEmulator(PI, faults=FaultPlan(alarm_at=(3, 400.0, 1)))
    talk(emu, "SVO 1 1 2 1 3 1\nFRF 1 2 3\nERR?\n")  # line 3 is a query: nothing to cut yet
    assert emu.fault_log == []
    talk(emu, "MOV 1 0 2 0 3 1\n")
    assert talk(emu, "POS? 3\n") == b"3=0.400000\n"
    assert talk(emu, "ERR?\n") == b"-1024\n" and [what for _, what in emu.fault_log] == ["alarm:-1024"]


def test_the_dot_macro_body_run_outside_a_macro_never_opens_the_gate():
    """A `MAC BEG` lost on the link (refused, or corrupted into a line the controller rejects)
    leaves the controller not recording, so it runs the macro's body as the lines arrive. The
    prologue's body must then be refused too: the gate line is the macro's argument `$3`, never
    a literal. Each line arrives 1 ms after the last (115200 baud), as on a real link."""
    from lasergen.backends.pi_gcs.emit import prologue

    emu = ready(fast_forward=False)
    lines = prologue(PI)
    begin = lines.index("MAC BEG LGDOT")
    for line in lines[:begin] + lines[begin + 1:]:  # the MAC BEG never reached the controller
        talk(emu, line + "\n")
        emu.advance(emu.now_s + 0.001)
    assert talk(emu, "DIO? 1\n").startswith(b"1=0")
    assert not emu.recorder.history().beam_on.any(), "the gate opened while no macro was recorded"
    assert emu.recording is None and "LGDOT" not in emu.macros
