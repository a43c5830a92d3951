"""Serial numbers from a printf template with exactly one integer counter.

`SN-%07d` over start..start+count-1. The counter must be an integer conversion (d, i, u, x,
X, o), optionally zero-padded to a width; no other `%` field may appear (`%%` is a literal
percent sign). A padded width bounds the range: `%07d` ends at 9999999, and a count that
would pass it is refused rather than silently growing the serial by a digit. Ranges are
produced lazily in chunks, so a million serials never sit in one list.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Iterator

from lasergen import LasergenError

COUNTER = re.compile(r"%(?P<zero>0?)(?P<width>[1-9]\d*)?(?P<kind>[diuxXo])")
OTHER_FIELD = re.compile(r"%[^a-zA-Z%]*[a-zA-Z]?")
BASES = {"d": 10, "i": 10, "u": 10, "x": 16, "X": 16, "o": 8}
COUNT_MAX = 10 ** 9


@dataclass(frozen=True)
class SerialRange:
    template: str
    start: int
    count: int

    def __post_init__(self):
        fields, counters = _fields(self.template)
        if len(fields) != 1 or len(counters) != 1:
            found = ", ".join(fields) if fields else "none"
            raise LasergenError(f"batch: serial template {self.template!r} needs exactly one integer counter such as "
                                f"%06d (fields found: {found})")
        match = counters[0]
        if match["width"] and not match["zero"]:
            raise LasergenError(f"batch: serial template {self.template!r} pads with spaces: use zeros, e.g. "
                                f"%0{match['width']}{match['kind']}")
        if not 1 <= self.count <= COUNT_MAX:
            raise LasergenError(f"batch: count must be in 1..{COUNT_MAX}, got {self.count}")
        if self.start < 0:
            raise LasergenError(f"batch: start must be >= 0, got {self.start}")
        last = self.start + self.count - 1
        if match["width"]:
            largest = BASES[match["kind"]] ** int(match["width"]) - 1
            if last > largest:
                raise LasergenError(f"batch: {self.count} serials from {self.start} overflow {self.template!r}: the "
                                    f"last would be {last}, the template ends at {self.template % largest} "
                                    f"({largest - self.start + 1} fit)")

    def __len__(self) -> int:
        return self.count

    def serial(self, index: int) -> str:
        return self.template % index

    def chunks(self, size: int) -> Iterator[list[str]]:
        for first in range(self.start, self.start + self.count, size):
            yield [self.template % i for i in range(first, min(first + size, self.start + self.count))]

    def __iter__(self) -> Iterator[str]:
        for chunk in self.chunks(10_000):
            yield from chunk


def _fields(template: str) -> tuple[list[str], list[re.Match]]:
    """Every %-field of the template (`%%` excepted), and those that are integer counters."""
    fields, counters, i = [], [], template.find("%")
    while i >= 0:
        if template.startswith("%%", i):
            i = template.find("%", i + 2)
            continue
        counter = COUNTER.match(template, i)
        field = counter or OTHER_FIELD.match(template, i)
        fields.append(field.group(0))
        if counter:
            counters.append(counter)
        i = template.find("%", field.end())
    return fields, counters


def serials(template: str, count: int, start: int = 0) -> list[str]:
    """All serials of a (small) range as a list."""
    return list(SerialRange(template, start, count))
