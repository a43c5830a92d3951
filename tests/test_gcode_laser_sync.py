"""Which blocks make GRBL 1.1h wait for its planner to empty in laser mode, under M3 and M4.

Each case is (lines run first, block, synced?), worked out by hand from gcode.c's laser-mode
flags: a block with axis words in a motion mode rides on the planner (LASER_ISMOTION); without
them an S change syncs while the spindle is on (M3 and M4 alike), and a change between a firing
(G1/G2/G3) and a non-firing motion mode syncs only under M3 (LASER_FORCE_SYNC tests for
SPINDLE_ENABLE_CW); a spindle state change, G4 and program stops always sync. The armed raster
dialect relies on the M4 rows: a bare G0 after a G1 and a bare mark are answered at once.
"""

import pytest

from lasergen.backends.grbl.gcode import Interpreter

M4_G1 = "M4S0\nG1X1F600S0"
M3_G1 = "M3S0\nG1X1F600S0"
CASES = [
    # a bare motion-mode change at rest: M3 syncs both ways, M4 never
    (M3_G1, "G0", True), (M4_G1, "G0", False),
    ("M3S0\nG0X1\nF600", "G1", True), ("M4S0\nG0X1\nF600", "G1", False),
    (M3_G1, "G80", True), (M4_G1, "G80", False),
    (M3_G1, "G1", False), (M4_G1, "G1", False),  # no change of mode
    ("M3S0\nG0X1", "G0", False),
    # a bare S change at rest syncs under M3 and M4, also in G0 (GRBL sets the laser to 0 then)
    (M3_G1, "S50", True), (M4_G1, "S50", True), ("M4S0\nG0X1", "S50", True), (M4_G1, "G0S50", True),
    (M4_G1, "S0", False),  # the same S: nothing to change
    ("M5\nG1X1F600S0", "S50", False),  # spindle off: S is only remembered
    # an S change on a move never syncs in laser mode (the armed mark, G0 and arcs alike)
    (M4_G1, "X2S50", False), (M3_G1, "X2S50", False), (M4_G1, "G0X3S50", False),
    ("M4S0\nG0X1", "X2S50", False), (M4_G1, "G2X2I0.5S40", False), (M4_G1, "G0X3", False),
    # spindle changes, dwells and stops always sync
    ("M3S10", "M4S10", True), ("M4S10", "M3", True), ("M4S10", "M5", True), ("M4S10", "M4", False),
    (M4_G1, "G4P0.1", True), (M4_G1, "M2", True),
]


def run(prelude: str, block: str, laser_mode: bool = True) -> bool:
    interp = Interpreter(laser_mode=laser_mode)
    for line in prelude.splitlines():
        interp.execute(line)
    interp.execute(block)
    return interp.synced


@pytest.mark.parametrize("prelude,block,synced", CASES)
def test_laser_mode_sync_follows_gcode_c(prelude, block, synced):
    assert run(prelude, block) is synced


def test_without_laser_mode_every_s_change_syncs_and_modes_do_not():
    assert run(M4_G1, "X2S50", laser_mode=False) is True  # a spindle needs time to change speed
    assert run(M3_G1, "G0", laser_mode=False) is False


def test_armed_raster_lines_sync_only_at_pass_start_and_end():
    interp = Interpreter(laser_mode=True)
    lines = ["M4S0", "G0X1Y1", "G1X2F600S0", "X3S50", "G0", "G1X4S0", "X5S50", "G0", "G0X9Y2", "G1X10S0",
             "X11S50", "M5"]
    synced = []
    for line in lines:
        interp.execute(line)
        synced.append(interp.synced)
    assert [line for line, s in zip(lines, synced) if s] == ["M4S0", "M5"]
