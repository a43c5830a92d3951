"""The emulator answers like GRBL 1.1h for the same bytes."""

import pytest

from hardware_sim.grbl.emulator import GrblEmulator
from lasergen import MachineProfile


@pytest.fixture
def emu():
    e = GrblEmulator(MachineProfile.load())
    e.take_output()
    return e


@pytest.fixture
def realtime_emu():
    e = GrblEmulator(MachineProfile.load(), fast_forward=False)
    e.take_output()
    tx(e, "$X\n")
    return e


def tx(e, text) -> list[str]:
    e.receive(text.encode() if isinstance(text, str) else text)
    return [line for line in e.take_output().decode().split("\r\n") if line]


def test_power_up_locks_until_unlock(emu):
    assert tx(emu, "G0X1\n") == ["error:9"]
    assert tx(emu, "$X\n") == ["[MSG:Caution: Unlocked]", "ok"]
    assert tx(emu, "G0X1\n") == ["ok"]


def test_reports(emu):
    assert tx(emu, "$I\n") == ["[VER:1.1h.20190825:]", "[OPT:VZ,15,128]", "ok"]
    settings = tx(emu, "$$\n")
    assert "$32=1" in settings and "$130=100.000" in settings and settings[-1] == "ok"
    assert tx(emu, "$G\n")[0] == "[GC:G0 G54 G17 G21 G90 G94 M5 M9 T0 F0 S0]"
    assert tx(emu, "?")[0].startswith("<Alarm|MPos:0.000,0.000,0.000|Bf:15,128|FS:0,0")


@pytest.mark.parametrize("line,code", [("G99", 20), ("G1X1", 22), ("X1Y", 2), ("G0G1X1", 24), ("$Q", 2),
                                       ("$100=-1", 4), ("G0X" + "1" * 80, 11), ("$J=X1", 22), ("M3S-1", 4)])
def test_error_codes(emu, line, code):
    tx(emu, "$X\n")
    assert tx(emu, line + "\n") == [f"error:{code}"]


def test_rx_buffer_drops_what_does_not_fit(realtime_emu):
    e = realtime_emu
    for i in range(15):  # planner full: the next line waits, later bytes pile up in the RX ring
        tx(e, f"G1X{i + 1}F60\n")
    tx(e, b"G1X20\n" * 40)
    assert e.dropped_bytes > 0 and 120 <= len(e.rx) <= 127


def test_back_pressure_and_sync(realtime_emu):
    e = realtime_emu
    out = sum((tx(e, f"G1X{i + 1}F600\n") for i in range(20)), [])
    assert out.count("ok") == 15  # 15 blocks fit the planner; the rest wait
    assert "Bf:0," in tx(e, "?")[0]
    e.advance(0.3)
    first = e.take_output().decode().count("ok")
    e.advance(1000.0)
    assert 1 <= first < 5 and first + e.take_output().decode().count("ok") == 5
    out = tx(e, "G0X50\nM3S0\n")
    assert out == ["ok"]  # M3 waits for the planner to empty
    e.advance(2000.0)
    assert e.take_output() == b"ok\r\n"


def test_soft_limit_alarm_needs_reset(emu):
    tx(emu, "$X\n")
    assert tx(emu, "G0X150\n") == ["ALARM:2", "[MSG:Reset to continue]"]
    assert tx(emu, "?") == []  # nothing answered while waiting for the reset
    assert tx(emu, b"\x18") == ["Grbl 1.1h ['$' for help]", "[MSG:'$H'|'$X' to unlock]"]
    assert tx(emu, "?")[0].startswith("<Alarm|")


def test_reset_while_moving_is_alarm_3(realtime_emu):
    tx(realtime_emu, "G1X50F60\n")
    assert tx(realtime_emu, b"\x18")[0] == "ALARM:3"


def test_hold_and_resume(realtime_emu):
    e = realtime_emu
    tx(e, "G1X10F600\n")
    e.advance(0.5)
    assert tx(e, "!?")[0].startswith("<Hold:0|")
    e.advance(100.0)
    x = float(tx(e, "?")[0].split("MPos:")[1].split(",")[0])
    assert 0 < x < 10
    tx(e, "~")
    e.advance(200.0)
    assert tx(e, "?")[0].startswith("<Idle|MPos:10.000")


def test_check_mode_parses_without_moving(emu):
    tx(emu, "$X\n")
    assert tx(emu, "$C\n") == ["[MSG:Enabled]", "ok"]
    assert tx(emu, "G0X5\nG99\n") == ["ok", "error:20"]
    assert tx(emu, "$C\n")[:2] == ["[MSG:Disabled]", "ok"]
    assert "MPos:0.000,0.000" in tx(emu, "?")[0]


def test_laser_records_marks_and_dwells(emu):
    tx(emu, "$H\nG21G90M3S0\nG0X1Y1\nG1X2Y1F60S200\nG1X3Y1S0\nM5\nG0X5Y5\nG1M3S100\nG4P1.5\nM5\n")
    path = emu.recorder.toolpath()
    marks = path.take(path.is_mark)
    assert marks.kind.tolist() == [1, 2]
    assert marks.energy_uJ.tolist() == [200, 100] and float(marks.dwell_s[1]) == pytest.approx(1.5)


def test_jog_refuses_travel_beyond_limits(emu):
    tx(emu, "$H\n")
    assert tx(emu, "$J=G91X-1F100\n") == ["error:15"]
    assert tx(emu, "$J=G91X1F100\n") == ["ok"]
