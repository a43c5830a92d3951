"""The project's GRBL code table: one entry for every code lasergen's interpreter and emulator
can produce, every setting and build option the emulator reports, and messages that read well."""

import re

import pytest

from hardware_sim.grbl.emulator import GrblEmulator
from hardware_sim.faults import FaultPlan
from lasergen.backends.grbl import codes
from lasergen.backends.grbl.gcode import STATUS, GcodeError, Interpreter
from lasergen import MachineProfile

from .test_grbl_error_paths import CASES, prepared, run


def tx(e, text: str) -> list[str]:
    e.receive(text.encode())
    return [line for line in e.take_output().decode().split("\r\n") if line]


def emulator_answers() -> list[str]:
    """What the emulator says to a tour of bad and alarming input."""
    out = []
    e = GrblEmulator(MachineProfile.load())
    out += tx(e, "G0X1\n$X\n$Q\n$100=-1\n$0=1\n$20=1\n$H\n$J=X1\n$J=X999F100\n" + "G0X" + "1" * 90 + "\n")
    out += tx(e, "$22=1\n$20=1\nG0X999\n")  # soft limit: a critical alarm, then a reset
    e.soft_reset()
    out += tx(e, "$X\nG1F100\nG38.2X1\n$X\nG38.4X2\n$X\nG1X50F10\n")
    e.soft_reset()  # while moving: ALARM:3
    out += [line for line in e.take_output().decode().split("\r\n") if line]
    for faults in (FaultPlan(alarm_on=(1, 1)), FaultPlan(error_on=(1, 20))):
        f = GrblEmulator(MachineProfile.load(), faults=faults)
        out += tx(f, "$X\nG0X1\n")
    return out


def produced_codes() -> set[tuple[str, int]]:
    found = set()
    for setup, block, _ in CASES:
        try:
            run(prepared(setup), block)
        except GcodeError as exc:
            found.add(("error", exc.code))
    for line in emulator_answers():
        if m := re.fullmatch(r"error:(\d+)", line):
            found.add(("error", int(m[1])))
        elif m := re.fullmatch(r"ALARM:(\d+)", line):
            found.add(("alarm", int(m[1])))
    return found


def test_every_code_lasergen_produces_has_an_entry():
    found = produced_codes()
    assert {("alarm", 1), ("alarm", 2), ("alarm", 3), ("alarm", 4), ("alarm", 5), ("error", 24), ("error", 9)} <= found
    missing = sorted(f"{kind}:{code}" for kind, code in found if codes.lookup(kind, code) is None)
    assert not missing
    assert set(STATUS.values()) <= {int(row.code) for row in codes.table() if row.kind == "error"}


def test_every_setting_and_build_option_the_emulator_reports_has_an_entry():
    e = GrblEmulator(MachineProfile.load())
    e.take_output()
    settings = [int(line[1:].split("=")[0]) for line in tx(e, "$$\n") if line.startswith("$")]
    assert settings and all(codes.lookup("setting", n) for n in settings)
    options = tx(e, "$I\n")[1].removeprefix("[OPT:").split(",")[0]
    assert all(codes.lookup("option", letter) for letter in options)


def test_the_table_is_well_formed_and_reads_well():
    rows = codes.table()
    assert {row.kind for row in rows} == set(codes.KINDS)
    for kind in codes.KINDS:
        mine = [row for row in rows if row.kind == kind]
        assert len({row.code for row in mine}) == len(mine) and len({row.key for row in mine}) == len(mine)
    for row in rows:
        assert re.fullmatch(r"[a-z][a-z0-9_]*", row.key), row
        assert 2 <= len(row.name) <= 32 and row.name == row.name.strip(), row
        assert (row.description[0].isupper() or row.description[0] == "$") and row.description.endswith("."), row
        assert 15 <= len(row.description) <= 160 and "  " not in row.description, row
        assert "Grbl" not in row.description, row  # our words, about lasergen's users' machines


@pytest.mark.parametrize("text, expected", [
    (codes.error_text(24), "error:24 two axis commands: Two commands in the block both use the axis words"),
    (codes.alarm_text(5), "ALARM:5 probe never touched: G38.2 or G38.4 moved its full distance"),
    (codes.setting_name(130), "$130 (X travel (mm))"),
    (codes.error_text(99), "error:99 (unknown error code)"),
])
def test_messages(text, expected):
    assert text.startswith(expected)


def test_interpreter_codes_come_from_the_table():
    with pytest.raises(GcodeError) as err:
        Interpreter().execute("G0G1X1")
    assert err.value.code == codes.keyed("error")["axis_command_conflict"]
