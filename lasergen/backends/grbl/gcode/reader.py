"""G-code -> Toolpath, by running every block through the GRBL-faithful interpreter.

Used by `estimate`, the simulator and the emulator's tests: what they see is what a GRBL
controller would execute, comments and all other sender-side information ignored, except the
`;@pass` markers lasergen writes (they only name passes; without them a pass starts each
time the laser is switched on). A rejected block is reported with its line number and
GRBL's error code. Bodies in lasergen's own dialect take the vectorised path (`fastread`),
which yields the identical toolpath several times faster.
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError
from lasergen.backends.grbl.gcode.fastread import PASS_MARKER, fast_read
from lasergen.backends.grbl.gcode.interpreter import Interpreter
from lasergen.backends.grbl.gcode.words import LINE_BUFFER_SIZE, GcodeError, clean_line
from lasergen.machine import MachineProfile
from lasergen.program import ParsedProgram
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath


def parse_pass_marker(raw: str) -> tuple[int, int] | None:
    """(pass, layer) of a `;@pass P layer L ...` line (the same pattern the fast reader uses)."""
    m = PASS_MARKER.match(raw)
    return (int(m.group(1)), int(m.group(2))) if m else None


ROW_FIELDS = ("kind", "x0", "y0", "x1", "y1", "speed_mm_s", "dwell_s", "energy_uJ", "pass_id", "layer", "z0", "z1",
              "line")


def read_program(lines: list[str], machine: MachineProfile, laser_mode: bool = True) -> ParsedProgram:
    """Lasergen's own dialect through the vectorised reader; anything else, line by line."""
    fast = fast_read(lines, machine) if laser_mode else None
    if fast is not None:
        return ParsedProgram(fast[0], fast[1], len(lines))
    return interpret_program(lines, machine, laser_mode)


def interpret_program(lines: list[str], machine: MachineProfile, laser_mode: bool = True) -> ParsedProgram:
    """Every block through the GRBL-faithful interpreter (errors reported with GRBL's codes)."""
    rows = list(interpret_rows(lines, machine, laser_mode))
    table = np.array(rows, dtype=np.float64).reshape(-1, len(ROW_FIELDS))
    cols = dict(zip(ROW_FIELDS, table.T))
    row_line = cols.pop("line").astype(np.int64)
    return ParsedProgram(Toolpath.from_columns(**cols), row_line, len(lines))


def interpret_rows(lines, machine: MachineProfile, laser_mode: bool = True, first_line: int = 0):
    """Toolpath rows (as tuples of ROW_FIELDS) of an iterable of lines, one block at a time;
    `first_line`: the 0-based number of the first line in its file (for messages and `line`)."""
    interp = Interpreter(laser_mode=laser_mode)
    pass_id, layer, marked, laser_on = -1, 0, False, False
    s_per_uJ = machine.s_per_uJ
    for number, raw in enumerate(lines, first_line):
        marker = parse_pass_marker(raw)
        if marker:
            (pass_id, layer), marked = marker, True
            continue
        block = clean_line(raw)
        if not block or block.startswith("$"):
            continue
        if len(block) > LINE_BUFFER_SIZE - 1:
            raise LasergenError(f"line {number + 1}: error:11 line longer than {LINE_BUFFER_SIZE - 1} characters")
        try:
            actions = interp.execute(block)
        except GcodeError as exc:
            raise LasergenError(f"line {number + 1}: error:{exc.code} {exc} in {raw.strip()!r}") from None
        for a in actions:
            if a.kind in ("move", "probe"):  # a probe is a beam-off feed move
                yield (RAPID if a.rapid else LINE, a.start[0], a.start[1], a.end[0], a.end[1], a.feed_mm_s,
                       0.0, a.power_s / s_per_uJ, max(pass_id, 0), layer, a.start[2], a.end[2], number)
            elif a.kind == "dwell":
                x, y, z = interp.state.position
                yield (DWELL, x, y, x, y, 0.0, a.seconds, a.power_s / s_per_uJ, max(pass_id, 0), layer, z, z, number)
            elif a.kind == "spindle":
                if a.spindle != "M5" and not laser_on and not marked:
                    pass_id += 1
                laser_on = a.spindle != "M5"
