"""A job body read in pieces: its GRBL estimate, checksum and line count in bounded memory, or
its toolpath without the text of the whole body (`lasergen preview`).

`lasergen estimate` of a 4096^2 job (~175 MB of G-code, ~14 M lines) cannot hold the text,
its lines and a toolpath of every row at once (~80 bytes of RAM per byte of G-code). Here the
body is read in pieces of whole lines (`PIECE_BYTES`), each parsed by the vectorised reader
from the modal state the previous piece left (`fastread.read_chunk`) and fed to the estimate
(`estimate.JobEstimate`), which plans the motion in the same windows as on a whole toolpath:
the figures are those of `read_program` + `motion.estimate`, identical, whatever the piece size.
A piece never cuts a dot's `G1F..M3S` / `G4P` / `M5` unit, nor an armed mark from its arming
line, which the reader's grammar takes whole. Text is normalised as `str.splitlines` does, so the checksum is that of `read_job`.
A body the vectorised reader does not take (another dialect, or a line GRBL would refuse) is
run again from the start through the interpreter, still piece by piece.
"""

from __future__ import annotations

import hashlib
import re
from typing import BinaryIO, Iterator

import numpy as np

from lasergen import LasergenError
from lasergen.backends.grbl.estimate import JobEstimate
from lasergen.backends.grbl.gcode.fastread import ReadState, read_chunk
from lasergen.backends.grbl.gcode.reader import ROW_FIELDS, interpret_rows
from lasergen.machine import MachineProfile
from lasergen.toolpath import Toolpath

PIECE_BYTES = 2 << 20
INTERPRETED_ROWS = 200_000  # rows per toolpath piece on the interpreter's path
PASS_MARKER = re.compile(rb"(?m)^;@pass \d+ layer \d+")
_SPECIAL = bytes([0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E])  # line breaks splitlines knows besides \n


def pieces(f: BinaryIO, piece_bytes: int | None = None) -> Iterator[bytes]:
    """Whole lines from a binary file, about `piece_bytes` at a time, normalised like
    "\\n".join(text.splitlines()) + "\\n" (so the last piece ends with a newline)."""
    rest, piece_bytes = b"", piece_bytes or PIECE_BYTES
    while True:
        block = f.read(piece_bytes)
        if not block:
            if rest:
                yield _normalised(rest)
            return
        data = rest + block
        cut = _cut(data)
        rest = data[cut:]
        if cut:
            yield _normalised(data[:cut])


def _cut(data: bytes) -> int:
    """Just after the last newline that ends neither a dot's G1F..M3S line nor its G4 line and
    that is not followed by a bare mark `X..` (which the grammar takes only with the arming
    line before it; at the end of `data` the next line is unknown, so not after a `G1X` line)."""
    end = data.rfind(b"\n")
    while end >= 0:
        start = data.rfind(b"\n", 0, end) + 1
        after = end + 1
        if not data.startswith((b"G1F", b"G4"), start) and not data.startswith(b"X", after) \
                and not (after == len(data) and data.startswith(b"G1X", start)):
            return end + 1
        end = start - 1
    return 0


def _normalised(data: bytes) -> bytes:
    if data.isascii() and not any(c in data for c in _SPECIAL):
        return data if data.endswith(b"\n") else data + b"\n"
    try:
        text = data.decode()
    except UnicodeDecodeError as exc:
        raise LasergenError(f"cannot read job file: {exc}") from None
    return ("\n".join(text.splitlines()) + "\n").encode()


class _NotDialect(Exception):
    """A piece the vectorised reader does not take: the body is read again by the interpreter."""


def estimate_body(f: BinaryIO, machine: MachineProfile, first_line: int = 0, piece_bytes: int | None = None):
    """(estimate dict, SHA-256 hex digest of the normalised body, body lines) from the file's
    current position to its end; `first_line`: the file line the body starts on (for the
    interpreter's messages)."""
    start = f.tell()
    digest, lines = hashlib.sha256(), [0]
    job = JobEstimate(machine)
    try:
        for path in _fast_pieces(f, machine, piece_bytes, digest, lines):
            job.feed(path)
    except _NotDialect:
        f.seek(start)
        digest, lines, job = hashlib.sha256(), [0], JobEstimate(machine)
        for path in _interpreted_pieces(f, machine, first_line, piece_bytes, digest, lines):
            job.feed(path)
    return job.result(), digest.hexdigest(), lines[0]


def toolpath_body(f: BinaryIO, machine: MachineProfile, first_line: int = 0, piece_bytes: int | None = None) -> list[Toolpath]:
    """The toolpath of the body from the file's current position to its end, in the pieces it
    was read in (no text of the whole body is held): concatenated, the rows `read_program` gives."""
    start = f.tell()
    try:
        return list(_fast_pieces(f, machine, piece_bytes, None, [0]))
    except _NotDialect:
        f.seek(start)
        return list(_interpreted_pieces(f, machine, first_line, piece_bytes, None, [0]))


def _fast_pieces(f: BinaryIO, machine: MachineProfile, piece_bytes, digest, lines: list[int]):
    """Toolpath pieces of a body in lasergen's dialect (the digest and line count updated as
    they are read); raises _NotDialect at the first piece the vectorised reader refuses."""
    state = ReadState()
    for piece in pieces(f, piece_bytes):
        got = read_chunk(piece, machine, state)
        if got is None:
            raise _NotDialect
        path, _, state = got
        if digest is not None:
            digest.update(piece)
        lines[0] = state.lines
        yield path


def _interpreted_pieces(f: BinaryIO, machine: MachineProfile, first_line: int, piece_bytes, digest, counted: list[int]):
    def text_lines():
        for piece in pieces(f, piece_bytes):
            if digest is not None:
                digest.update(piece)
            for line in piece.decode().split("\n")[:-1]:
                counted[0] += 1
                yield line

    rows: list[tuple] = []
    for row in interpret_rows(text_lines(), machine, first_line=first_line):
        rows.append(row)
        if len(rows) >= INTERPRETED_ROWS:
            yield _toolpath(rows)
            rows = []
    yield _toolpath(rows)


def _toolpath(rows: list[tuple]) -> Toolpath:
    table = np.array(rows, dtype=np.float64).reshape(-1, len(ROW_FIELDS))
    cols = dict(zip(ROW_FIELDS[:-1], table.T))
    return Toolpath.from_columns(**cols)
