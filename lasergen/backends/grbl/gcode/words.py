"""Block tokenising as GRBL 1.1 does it (protocol.c + the first pass of gcode.c).

A received line loses whitespace, `(...)` and `;...` comments and is upper-cased; then it is
read as letter/number words. Each failure maps to GRBL's own status code, so the emulator
answers `error:N` for the same input as real firmware. Status codes live in a table.
"""

from __future__ import annotations

import re

from lasergen.backends.grbl.codes import keyed

STATUS = keyed("error")  # GRBL 1.1 status codes by key, from the project's code table (codes.py)

LINE_BUFFER_SIZE = 80  # GRBL's LINE_BUFFER_SIZE: longer lines are rejected with error:11
_NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")


class GcodeError(Exception):
    """A block GRBL would reject; `code` is the GRBL status code."""

    def __init__(self, code: int, detail: str = ""):
        super().__init__(detail or f"error:{code}")
        self.code = code


_DROP = {c: None for c in range(33)} | {ord("%"): None}  # whitespace, control characters, '%'


def clean_line(raw: str) -> str:
    """Strip whitespace and comments, upper-case: what GRBL keeps of a received line."""
    if "(" not in raw:  # the common case, at C speed
        return raw.split(";", 1)[0].translate(_DROP).upper()
    out, depth = [], 0
    for ch in raw:
        if depth:
            if ch == ")":
                depth = 0
            continue
        if ch == "(":
            depth = 1
        elif ch == ";":
            break
        elif ch > " " and ch != "%":  # GRBL drops whitespace and control characters
            out.append(ch)
    return "".join(out).upper()


_WORD = re.compile(r"([A-Z])([-+]?(?:\d+\.?\d*|\.\d+))")


def split_words(line: str) -> list[tuple[str, float]]:
    """A cleaned block -> [(letter, value)], raising GcodeError like gcode.c's first loop."""
    found = _WORD.findall(line)
    if sum(len(a) + len(b) for a, b in found) == len(line):  # every character belongs to a word
        return [(letter, float(value)) for letter, value in found]
    words, pos, n = [], 0, len(line)  # locate the fault, as GRBL reports it
    while pos < n:
        letter = line[pos]
        if not "A" <= letter <= "Z":
            raise GcodeError(STATUS["expected_command_letter"], f"expected a letter at {line[pos:]!r}")
        match = _NUMBER.match(line, pos + 1)
        if not match:
            raise GcodeError(STATUS["bad_number_format"], f"bad number after {letter!r}")
        words.append((letter, float(match.group())))
        pos = match.end()
    return words
