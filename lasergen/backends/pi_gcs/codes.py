"""GCS 2.0 controller error codes (what `ERR?` answers), as a table.

Codes are PI's (documented in the GCS command manuals of the C-863/C-884 class); the short
texts are lasergen's own words. A GCS controller never reports an error by itself: a refused
command is silent, its code is kept until `ERR?` reads it (which resets it to 0), and only the
most recent code is kept. So the driver asks `ERR?` after every command group.
"""

from __future__ import annotations

ERRORS = {
    0: "no error",
    1: "parameter syntax error",
    2: "unknown command",
    3: "command line too long",
    5: "motion refused: axis not referenced or servo off",
    7: "target outside the travel limits",
    8: "velocity outside its limits",
    10: "controller stopped by a stop command (STP, HLT, #24)",
    15: "invalid axis identifier",
    17: "parameter out of range",
    18: "invalid macro name",
    19: "error while recording a macro",
    20: "macro not found",
    23: "illegal axis",
    24: "wrong number of parameters",
    25: "invalid floating point number",
    26: "parameter missing",
    36: "no such digital output line",
    45: "referencing failed",
    53: "motion already in progress",
    57: "invalid trigger output line",
    81: "unknown command inside a macro",
    84: "motor is off",
    85: "command only allowed in a macro",
    93: "command not allowed while the axis is in motion",
    -1024: "motion error: following error too large, servo switched off",
}

STOPPED = 10
MOTION_ERROR = -1024


def error_text(code: int) -> str:
    return f"GCS error {code}: {ERRORS.get(code, 'unknown error')}"
