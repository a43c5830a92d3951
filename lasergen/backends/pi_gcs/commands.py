"""GCS 2.0 message syntax, shared by the emitter, the reader, the driver and the emulator.

On RS-232 or USB (virtual COM) a command is ASCII: a mnemonic (`MOV`, `POS?`, `*IDN?`, or the
two-word `MAC BEG`/`MAC START`...), then arguments separated by single spaces, ended by LF.
Set commands are never answered. A query is answered by one or more lines; every line but the
last ends in " \\n" (a space before the LF), the last in a bare "\\n", so a reader knows where a
multi-line answer ends. Per-axis answers are `<axis>=<value>`. Single-byte commands are
answered at once, even while motion runs: #5 (0x05) the motion mask (hex, bit i set while
axis i+1 moves), #7 (0x07) ready (0xB1 ready, 0xB0 busy), #8 (0x08) a macro running ("1"/"0"),
#24 (0x18) stop all motion at once (error 10). Numbers are plain decimals.
"""

from __future__ import annotations

MOTION_MASK, READY, MACRO_RUNNING, STOP_ALL = b"\x05", b"\x07", b"\x08", b"\x18"
SINGLE_BYTE = {0x05: "#5", 0x07: "#7", 0x08: "#8", 0x18: "#24"}
READY_BYTE, BUSY_BYTE = 0xB1, 0xB0
TWO_WORD = {"MAC"}  # mnemonics whose first argument is a sub-command (MAC BEG, MAC START ...)
DOT_MACRO = "LGDOT"  # lasergen's dot macro: gate line $3 on, wait $1 ms, gate off, wait $2 ms
# Its body names the gate line only as the argument $3: a `MAC BEG` lost on the link leaves the
# controller running these lines as they arrive, and each is then refused ($n is undefined
# outside a macro) instead of opening the gate for the lines' transit time.
DOT_MACRO_LINES = ("DIO $3 1", "DEL $1", "DIO $3 0", "DEL $2")


def split_command(line: str) -> tuple[str, list[str]]:
    """'MOV 1 10.5 2 3' -> ('MOV', ['1', '10.5', '2', '3']); 'MAC START X 5' -> ('MAC START', ['X', '5'])."""
    words = line.split()
    if not words:
        return "", []
    head = words[0].upper()
    if head in TWO_WORD and len(words) > 1:
        return f"{head} {words[1].upper()}", words[2:]
    return head, words[1:]


def pairs(args: list[str]) -> list[tuple[str, str]]:
    """Axis/value pairs of a command ('1 10 2 5' -> [('1','10'), ('2','5')]); ValueError if odd."""
    if len(args) % 2:
        raise ValueError("arguments must come in pairs")
    return list(zip(args[0::2], args[1::2]))


def format_number(value: float) -> str:
    """Fixed point, 6 decimals, trailing zeros trimmed (GCS accepts any decimal)."""
    text = f"{value:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def answer_lines(items: list[str]) -> bytes:
    """A GCS answer: every line but the last ends in ' \\n'."""
    if not items:
        return b"\n"
    return (" \n".join(items) + "\n").encode()


def answer_complete(buffer: bytes) -> bool:
    """True when `buffer` holds a whole answer: it ends in LF not preceded by a space."""
    return buffer.endswith(b"\n") and not buffer.endswith(b" \n")


def parse_answer(text: str) -> dict[str, str]:
    """'1=10.5 \\n2=3\\n' -> {'1': '10.5', '2': '3'}."""
    out = {}
    for line in text.replace(" \n", "\n").splitlines():
        key, sep, value = line.strip().partition("=")
        if sep:
            out[key.strip()] = value.strip()
    return out
