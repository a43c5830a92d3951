"""GRBL 1.1 response lines -> typed messages (doc/markdown/interface.md).

Every line the controller sends is one of: `ok`, `error:N`, `ALARM:N`, a status report
`<State|MPos:x,y,z|Bf:blocks,bytes|FS:feed,speed|...>`, a feedback/push message `[MSG:...]`,
`[GC:...]`, `[VER:...]`, `[OPT:...]`, `[HLP:...]`, `[G54:...]`..., a setting `$n=v`, a startup
line echo `>...:ok`, or the welcome banner `Grbl 1.1h ['$' for help]`. Anything else is
"unknown": a corrupted or foreign device, which the client treats as a protocol fault.
The kind is decided by a table of patterns, in order.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

PATTERNS = [
    ("ok", re.compile(r"ok$")),
    ("error", re.compile(r"error:(\d+)$")),
    ("alarm", re.compile(r"ALARM:(\d+)$")),
    ("status", re.compile(r"<([A-Za-z]+(?::\d)?(?:\|[A-Za-z]+:[-0-9.,A-Za-z]*)*)>$")),
    ("banner", re.compile(r"Grbl (\d+\.\d+[a-z]?) \['\$' for help\]$")),
    ("msg", re.compile(r"\[MSG:(.*)\]$")),
    ("feedback", re.compile(r"\[(GC|VER|OPT|HLP|G5[4-9]|G28|G30|G92|TLO|PRB|echo):(.*)\]$")),
    ("setting", re.compile(r"\$(\d+)=([-0-9.]+)$")),
    ("startup", re.compile(r"\$N\d=.*$|>.*:(ok|error:\d+)$")),
]
STATES = {"Idle", "Run", "Hold", "Jog", "Alarm", "Door", "Check", "Home", "Sleep"}


@dataclass
class Status:
    state: str  # Idle, Run, Hold, Jog, Alarm, Door, Check, Home, Sleep
    substate: int | None = None
    mpos: tuple | None = None
    wpos: tuple | None = None
    planner_free: int | None = None  # Bf: blocks available (15 = empty)
    rx_free: int | None = None  # Bf: bytes available in the RX buffer
    feed: float | None = None
    speed: float | None = None
    line_number: int | None = None
    fields: dict = field(default_factory=dict)


@dataclass
class Message:
    kind: str
    text: str
    code: int | None = None
    status: Status | None = None
    groups: tuple = ()


def _floats(text: str) -> tuple:
    return tuple(float(v) for v in text.split(","))


FIELD_PARSERS = {
    "MPos": lambda st, v: setattr(st, "mpos", _floats(v)),
    "WPos": lambda st, v: setattr(st, "wpos", _floats(v)),
    "Bf": lambda st, v: (setattr(st, "planner_free", int(v.split(",")[0])), setattr(st, "rx_free", int(v.split(",")[1]))),
    "FS": lambda st, v: (setattr(st, "feed", _floats(v)[0]), setattr(st, "speed", _floats(v)[1])),
    "F": lambda st, v: setattr(st, "feed", float(v)),
    "Ln": lambda st, v: setattr(st, "line_number", int(v)),
}


def parse_status(body: str) -> Status:
    parts = body.split("|")
    name, _, sub = parts[0].partition(":")
    if name not in STATES:
        raise ValueError(f"unknown state {name!r}")
    status = Status(state=name, substate=int(sub) if sub else None)
    for part in parts[1:]:
        key, _, value = part.partition(":")
        status.fields[key] = value
        if key in FIELD_PARSERS:
            FIELD_PARSERS[key](status, value)
    return status


def parse_line(line: str) -> Message:
    text = line.strip()
    for kind, pattern in PATTERNS:
        match = pattern.match(text)
        if not match:
            continue
        try:
            if kind in ("error", "alarm"):
                return Message(kind, text, code=int(match.group(1)))
            if kind == "status":
                return Message(kind, text, status=parse_status(match.group(1)))
        except (ValueError, IndexError):  # a corrupted number or a field cut short: not GRBL
            break
        return Message(kind, text, groups=match.groups())
    return Message("unknown", text)
