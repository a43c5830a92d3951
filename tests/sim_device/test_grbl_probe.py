"""G38.x on the emulator, a GRBL 1.1h with no probe wired: what real firmware does then."""

import pytest

from hardware_sim.grbl.emulator import GrblEmulator
from lasergen import MachineProfile


@pytest.fixture
def emu():
    e = GrblEmulator(MachineProfile.load())
    e.take_output()
    assert tx(e, "$X\n")[-1] == "ok" and tx(e, "G1F600\n") == ["ok"]
    return e


def tx(e, text: str) -> list[str]:
    e.receive(text.encode())
    return [line for line in e.take_output().decode().split("\r\n") if line]


def mpos(e) -> str:
    return tx(e, "?")[0].split("|")[1]


def test_probe_toward_that_never_touches_runs_out_its_move_and_alarms(emu):
    assert tx(emu, "M3S200\nG38.2X5\n") == ["ok", "ALARM:5", "[PRB:0.000,0.000,0.000:0]", "ok"]
    assert tx(emu, "?")[0].startswith("<Alarm|MPos:5.000,0.000,0.000")
    assert tx(emu, "G0X0\n") == ["error:9"]  # locked until $X, like any alarm
    assert len(emu.recorder.marks()) == 0  # the probe move never fires the laser
    assert tx(emu, "$X\n")[-1] == "ok" and tx(emu, "G0X0\n") == ["ok"]


def test_probe_toward_without_error_reports_where_it_stopped(emu):
    assert tx(emu, "G38.3X2Y1\n") == ["[PRB:2.000,1.000,0.000:0]", "ok"]
    assert mpos(emu) == "MPos:2.000,1.000,0.000"
    assert "[PRB:2.000,1.000,0.000:0]" in tx(emu, "$#\n") and tx(emu, "G0X0\n") == ["ok"]


@pytest.mark.parametrize("code", ["G38.4", "G38.5"])
def test_probe_away_alarms_before_moving(emu, code):
    assert tx(emu, f"{code}X5\n") == ["ALARM:4", "ok"]
    assert mpos(emu) == "MPos:0.000,0.000,0.000"
    assert tx(emu, "$G\n")[0].startswith(f"[GC:{code} ")


def test_check_mode_parses_probes_without_running_them(emu):
    assert tx(emu, "$C\n")[-1] == "ok"
    assert tx(emu, "G38.2X5\n") == ["ok"]
