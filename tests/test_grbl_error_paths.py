"""The interpreter answers every error path of GRBL 1.1h's parser (gcode.c) with GRBL's own code.

Each case is (lines run first, block, GRBL's status). The expected codes were read off
gcode.c's checks and confirmed by running GRBL's own parser on the same lines
(`benchmarks/grbl_parser_check.py` repeats that comparison over tens of thousands of blocks).
Order matters: GRBL stops at the first failing check, so several cases pin which of two
faults of one block wins.
"""

import math

import pytest

from lasergen.backends.grbl.gcode import GcodeError, Interpreter

CASES = [
    # two commands that both use the axis words: error:24, checked before anything else about the word
    ("", "G0G1X1", 24), ("", "G1G0X1", 24), ("", "G0G28", 24), ("", "G28G0X1", 24), ("", "G10G92X1", 24),
    ("", "G0G43.1Z1", 24), ("", "G49G1X1", 24), ("", "G0G38.1X1", 24), ("", "G2G38.2X1F10", 24),
    # two commands of one modal group: error:21
    ("", "G17G18", 21), ("", "G90G91", 21), ("", "M3M5", 21), ("", "G4G53P1", 21), ("", "G28G92.1", 21),
    ("", "G54G55", 21), ("", "M8M9", 21),
    # probing is part of GRBL 1.1, with its own checks
    ("", "G38.2X1F100", 0), ("", "G38.3X1F100", 0), ("", "G38.4X1F100", 0), ("", "G38.5X1F100", 0),
    ("", "G38.2X1", 22), ("", "G38.2F100", 26), ("", "G38.2X0F100", 33), ("G91", "G38.2X0F100", 33),
    ("", "G38.1X1F100", 20), ("", "G38X1", 20), ("", "G38.6X1F10", 20),
    # decimals: error:20 where GRBL parses the decimals of that number, error:23 elsewhere
    ("", "G17.1", 23), ("", "G10.1", 23), ("", "G4.5P1", 23), ("", "G1.1X1F1", 23), ("", "G59.1", 23),
    ("", "G90.1", 20), ("", "G91.2", 20), ("", "G91.1", 0), ("", "G61.1", 20), ("", "G28.2", 20),
    ("", "G43", 20), ("", "G43.2Z1", 20), ("", "G49.5", 0), ("", "G5X1", 20), ("", "G41", 20),
    ("", "M3.5", 23), ("", "M7", 20), ("", "M6", 20),
    # command numbers live in 8 bits: G300 is G44.xx, M999 an M with a decimal, G256 a G0 with one
    ("", "G300", 20), ("", "M999", 23), ("", "G256X1", 23),
    # value words, checked as they are read
    ("", "T300", 38), ("", "T1T300", 38), ("", "T1T1", 25), ("", "F-1", 4), ("", "F1F-1", 25), ("", "S-1", 4),
    ("", "P-1G4", 4), ("", "N10000001", 27), ("", "N-1", 4), ("", "A1", 20), ("", "X1Y", 2), ("", "1X", 1),
    # feed rate: G93 needs F on every feed motion; leaving G93 forgets the G94 feed
    ("G93", "G1X1", 22), ("G93", "G1X1F0", 22), ("G93", "G0X1", 0), ("G93", "G1X1F10", 0),
    ("G1X1F100\nG93\nG1X2F10", "G94G1X3", 22), ("G1X1F100", "G1X3", 0),
    ("", "G1X1", 22), ("", "G1M3S200", 22), ("", "G2", 22), ("G1F10", "G2", 26), ("", "G0", 0), ("", "G1F10", 0),
    # dwell, tool length
    ("", "G4", 28), ("", "G4P1X1", 0), ("", "G4P1", 0),
    ("", "G43.1", 37), ("", "G43.1X1", 37), ("", "G43.1Z1X1", 37), ("", "G43.1Z1", 0), ("", "G49Z1", 0),
    # G10: axis words, then P/L (only both missing is error:28), then P, then L
    ("", "G10X1", 28), ("", "G10L2X1", 0), ("", "G10P1X1", 20), ("", "G10L2P1", 26), ("", "G10L2P7X1", 29),
    ("", "G10L3P7X1", 29), ("", "G10L2P1R1X1", 20), ("", "G10L20P1R1X1", 36), ("", "G10L20P1X1", 0),
    # G92, G28/G30, G53
    ("", "G92", 26), ("", "G92X0", 0), ("", "G28", 0), ("", "G28X1", 0), ("", "G28.1X1", 0),
    ("", "G53X1", 0), ("", "G2G53X1", 30), ("G80", "G53X1", 30),
    # G80 refuses axis words, even those of G10/G28/G92
    ("G80", "X1", 31), ("G80", "G92X1", 31), ("G80", "G10L2P1X1", 31), ("G80", "G28X1", 31), ("G80", "G4P1", 0),
    # unused words
    ("", "G0X1P2", 36), ("", "G1X1F10I1", 36), ("G1F10", "G2X1R1I1", 36), ("", "G0L2", 36), ("", "R1", 36),
    # arcs, in the selected plane
    ("G1F10", "G2X1Y1", 35), ("G1F10", "G2Z1I1", 32), ("G1F10", "G2I1", 26), ("G1F10", "G2X0R1", 33),
    ("G1F10", "G2X4R1", 34), ("G1F10", "G2X1I5", 33), ("G1F10", "G2X2I1", 0), ("G1F10", "G3X2Y2R2", 0),
    ("G18\nG1F10", "G2X1J1", 35), ("G18\nG1F10", "G2Y1I1", 32), ("G18\nG1F10", "G2X2I1", 0),
    ("G19\nG1F10", "G2Y2J1", 0), ("G19\nG1F10", "G2X1J1", 32), ("G1F10", "G18G2X2K1", 33),
    ("G1F10", "G18G2Z2K1", 0),
    # jogs: the feed first, the jog rules last
    ("", "$J=X1", 22), ("", "$J=G1X1F100", 16), ("", "$J=G1X1", 22), ("", "$J=X1F100S5", 36),
    ("", "$J=G4P1F100", 16), ("", "$J=G91X1F100", 0), ("", "$J=G53X1F100", 0), ("", "$J=G20X1F10", 0),
    ("", "$J=M3X1F100", 16), ("", "$J=X1F0", 22), ("", "$J=F100", 0), ("", "$J=G93X1F100", 16),
]


def run(interp: Interpreter, block: str):
    if block.startswith("$J="):
        return interp.execute(block[3:], jog=True)
    return interp.execute(block)


def prepared(setup: str) -> Interpreter:
    interp = Interpreter()
    for line in filter(None, setup.split("\n")):
        run(interp, line)
    return interp


@pytest.mark.parametrize("setup, block, code", CASES, ids=[f"{s.replace(chr(10), ';')}|{b}" for s, b, _ in CASES])
def test_grbl_status_code(setup, block, code):
    interp = prepared(setup)
    if code == 0:
        run(interp, block)
        return
    before = interp.state.position, interp.state.motion, interp.state.feed_mm_min
    with pytest.raises(GcodeError) as err:
        run(interp, block)
    assert err.value.code == code
    assert (interp.state.position, interp.state.motion, interp.state.feed_mm_min) == before  # nothing changed


def test_probe_moves_with_the_beam_off_and_synchronises():
    interp = prepared("G1F100\nM3S200")
    (probe,) = interp.execute("G38.2X5")
    assert probe.kind == "probe" and probe.code == "G38.2" and probe.power_s == 0
    assert probe.end == (5.0, 0.0, 0.0) and math.isclose(probe.feed_mm_s, 100 / 60)
    assert interp.synced  # GRBL empties its planner before a probing cycle
    assert interp.state.motion == "G38.2"


def test_g28_with_axis_words_sends_only_those_axes_home():
    interp = prepared("G0X3Y4Z1\nG28.1\nG0X5Y6Z2")
    moves = interp.execute("G28X7")
    assert [m.end for m in moves] == [(7.0, 6.0, 2.0), (3.0, 6.0, 2.0)]  # via X7, then X home; Y, Z stay


def test_g92_and_g10_l20_take_the_tool_length_offset_into_account():
    interp = prepared("G43.1Z2\nG0X1Y1Z5\nG92Z0")
    assert interp.state.work_position()[2] == pytest.approx(0.0)
    interp = prepared("G43.1Z2\nG0X1Y1Z5\nG10L20P1Z0")
    assert interp.state.work_position()[2] == pytest.approx(0.0)


def test_program_end_keeps_g92_offsets():
    interp = prepared("G0X2\nG92X0\nG91\nM2")
    assert interp.state.g92 == [2.0, 0.0, 0.0] and interp.state.absolute and interp.state.motion == "G1"


def test_a_jog_changes_no_modes_and_without_axis_words_goes_to_the_machine_origin():
    interp = prepared("G0X2Y2")
    run(interp, "$J=G91G20X1F10")
    assert interp.state.position == pytest.approx([27.4, 2.0, 0.0])
    assert interp.state.absolute and interp.state.mm  # the jog's G91/G20 were for the jog only
    (move,) = run(interp, "$J=F100")
    assert move.end == (0.0, 0.0, 0.0)


def test_inverse_time_feed_covers_the_block_in_one_over_f_minutes():
    interp = prepared("G93")
    (move,) = interp.execute("G1X3Y4F2")  # 5 mm in half a minute
    assert move.feed_mm_s * 60 == pytest.approx(10.0)  # mm/min
    arc = interp.execute("G2X3Y-4I-3J-4F1")  # a chorded arc keeps the block's total time
    total_min = sum(math.dist(a.start, a.end) / (a.feed_mm_s * 60) for a in arc)
    assert total_min == pytest.approx(1.0, rel=1e-6)


def test_arcs_follow_the_selected_plane():
    interp = prepared("G18\nG1F100")
    chords = interp.execute("G2X2I1")  # a half circle in Z/X through Z = +-1
    assert all(c.end[1] == 0 for c in chords)
    assert max(abs(c.end[2]) for c in chords) == pytest.approx(1.0, abs=1e-3)
    assert chords[-1].end == (2.0, 0.0, 0.0)
