"""GRBL 1.1's first pass over a block (gcode.c, step 2): command words into modal groups,
value words recorded, each word checked as it is read.

The first failing check decides GRBL's answer, so the checks run word by word in gcode.c's
order:
  G word  a second command that claims the axis words (a motion G0-G3/G38.x, a non-modal
          G10/G28/G30/G92, a tool-length G43.x/G49) is error:24 at once, before anything
          else about the word; then an unknown decimal (error:20 for the G numbers whose
          decimals GRBL parses, G28/G30/G38/G43/G61/G90/G91/G92, error:23 for the others);
          then a second command of one modal group, error:21
  M word  any decimal is error:23, an unknown M error:20, a second of one group error:21
  value   an unknown letter is error:20, T > 255 error:38, a repeated word error:25, a
          negative F/N/P/S/T error:4
GRBL keeps the integer part of a command number in 8 bits and its hundredths in 16, so G300
is read as G44 with a decimal and M999 as an M with a decimal; that arithmetic is kept here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lasergen.backends.grbl.gcode.words import STATUS, GcodeError

G_GROUPS = {  # modal group -> its commands, as GRBL 1.1 supports them (gcode.h)
    "motion": ("G0", "G1", "G2", "G3", "G38.2", "G38.3", "G38.4", "G38.5", "G80"),
    "nonmodal": ("G4", "G10", "G28", "G28.1", "G30", "G30.1", "G53", "G92", "G92.1"),
    "plane": ("G17", "G18", "G19"),
    "distance": ("G90", "G91"),
    "arc_distance": ("G91.1",),
    "feed_mode": ("G93", "G94"),
    "units": ("G20", "G21"),
    "cutter": ("G40",),
    "tool_length": ("G43.1", "G49"),
    "coord": ("G54", "G55", "G56", "G57", "G58", "G59"),
    "control": ("G61",),
}
M_GROUPS = {"stopping": ("M0", "M1", "M2", "M30"), "spindle": ("M3", "M4", "M5"), "coolant": ("M8", "M9")}

# which G numbers claim the axis words (gcode.c's axis_command), whatever their decimal ...
AXIS_CLAIM = {0: "motion", 1: "motion", 2: "motion", 3: "motion", 38: "motion", 43: "tool_length", 49: "tool_length"}
# ... and which only as integers (G28.1, G30.1 and G92.1 take no axis words of their own)
AXIS_CLAIM_IF_INTEGER = {10: "nonmodal", 28: "nonmodal", 30: "nonmodal", 92: "nonmodal"}
DECIMALS_PARSED = {28, 30, 38, 43, 61, 90, 91, 92}  # an unknown decimal of these is error:20, else error:23
DECIMAL_IGNORED = {49}  # gcode.c reads any G49.x as G49
VALUE_LETTERS = frozenset("FIJKLNPRSTXYZ")
NON_NEGATIVE = frozenset("FNPST")
MAX_TOOL_NUMBER = 255


def _key(command: str) -> tuple[int, int]:
    number = float(command[1:])
    return int(number), round(100 * (number - int(number)))


G_TABLE = {_key(cmd): (group, cmd) for group, cmds in G_GROUPS.items() for cmd in cmds}
M_TABLE = {_key(cmd)[0]: (group, cmd) for group, cmds in M_GROUPS.items() for cmd in cmds}
G_NUMBERS = {number for number, _ in G_TABLE}


def fail(name: str, detail: str = ""):
    raise GcodeError(STATUS[name], detail or name.replace("_", " "))


@dataclass
class Words:
    """A block after the first pass: commands per modal group, value words, the axis claim."""
    groups: dict = field(default_factory=dict)  # modal group -> command, e.g. "motion" -> "G1"
    values: dict = field(default_factory=dict)  # letter -> value as written
    axis_claim: str | None = None  # "motion", "nonmodal", "tool_length" or None


def _split_number(value: float) -> tuple[int, int]:
    """gcode.c's (uint8 integer part, uint16 hundredths): G300 reads as G44.xx, M999 as an M with a decimal."""
    whole = math.trunc(value) % 256
    return whole, round(100 * (value - whole)) % 65536


def _g_command(value: float, claim: str | None) -> tuple[str, str, str | None]:
    whole, decimal = _split_number(value)
    claims = AXIS_CLAIM.get(whole) or (AXIS_CLAIM_IF_INTEGER.get(whole) if decimal == 0 else None)
    if claims and claim:
        fail("axis_command_conflict", f"G{value:g} and another command both use the axis words")
    if whole in DECIMAL_IGNORED:
        decimal = 0
    if (whole, decimal) in G_TABLE:
        return (*G_TABLE[whole, decimal], claims)
    if decimal and whole in G_NUMBERS and whole not in DECIMALS_PARSED:
        fail("command_value_not_integer", f"G{value:g} has a decimal")
    fail("unsupported_command", f"G{value:g} is not supported")


def _m_command(value: float) -> tuple[str, str]:
    whole, decimal = _split_number(value)
    if decimal:
        fail("command_value_not_integer", f"M{value:g} has a decimal")
    if whole not in M_TABLE:
        fail("unsupported_command", f"M{value:g} is not supported")
    return M_TABLE[whole]


def read_words(words: list[tuple[str, float]]) -> Words:
    """gcode.c's step 2 over [(letter, value)]; raises GcodeError with GRBL's code."""
    out = Words()
    groups, values = out.groups, out.values
    for letter, value in words:
        if letter == "G":
            group, command, claims = _g_command(value, out.axis_claim)
            out.axis_claim = claims or out.axis_claim
        elif letter == "M":
            group, command = _m_command(value)
        else:
            if letter not in VALUE_LETTERS:
                fail("unsupported_command", f"word {letter} is not supported")
            if letter == "T" and value > MAX_TOOL_NUMBER:
                fail("max_value_exceeded", f"tool T{value:g} is beyond {MAX_TOOL_NUMBER}")
            if letter in values:
                fail("word_repeated", f"{letter} repeated")
            if letter in NON_NEGATIVE and value < 0:
                fail("negative_value", f"{letter}{value:g} is negative")
            values[letter] = value
            continue
        if group in groups:
            fail("modal_group_violation", f"{command} and {groups[group]} in one block")
        groups[group] = command
    return out
