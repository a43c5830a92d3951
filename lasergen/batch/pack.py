"""The job pack: a batch's job files in one append-only file, each readable alone by offset.

    file    = b"LGPACK1\n" | u32 dictionary length | dictionary | record*
    record  = b"LGJ1" | u16 serial length | serial (UTF-8) | sha256 of the job (32 bytes)
              | u32 data length | zlib(job, preset dictionary)
The index (serial -> offset, length) is kept by the folder's `manifest.csv` and by the
registry rows; the records are also self-describing, so `records()` can walk a pack without
either. The preset dictionary is the pack's first job (its last 32 KiB): tag jobs share their
header and most of their G-code vocabulary, so each record compresses on its own to about
2 KB instead of 16 KB raw (3.3 KB with zlib alone), and reading one tag never inflates others.
Records are only appended (a crash leaves unreferenced bytes at the end, never read);
`read` checks the magic, the serial and the checksum before it returns a job.
"""

from __future__ import annotations

import hashlib
import os
import struct
import zlib
from pathlib import Path
from typing import Iterator

from lasergen import LasergenError

MAGIC = b"LGPACK1\n"
RECORD = b"LGJ1"
DICT_BYTES = 32768
LEVEL = 6
_HEAD = struct.Struct(">4sH")
_TAIL = struct.Struct(">32sI")


def make_dictionary(sample_job: bytes) -> bytes:
    return sample_job[-DICT_BYTES:]


def encode_record(serial: str, job: bytes, dictionary: bytes) -> bytes:
    packer = zlib.compressobj(LEVEL, zdict=dictionary) if dictionary else zlib.compressobj(LEVEL)
    data = packer.compress(job) + packer.flush()
    name = serial.encode()
    return _HEAD.pack(RECORD, len(name)) + name + _TAIL.pack(hashlib.sha256(job).digest(), len(data)) + data


def create(path: Path, dictionary: bytes, private: bool) -> None:
    """A new, empty pack (mode 0600 when its jobs carry a keyed layer)."""
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as fh:
        fh.write(MAGIC + struct.pack(">I", len(dictionary)) + dictionary)
        fh.flush()
        os.fsync(fh.fileno())


def read_dictionary(path: Path) -> tuple[bytes, int]:
    """(preset dictionary, offset of the first record)."""
    with open(path, "rb") as fh:
        head = fh.read(len(MAGIC) + 4)
        if len(head) < len(MAGIC) + 4 or not head.startswith(MAGIC):
            raise LasergenError(f"{path} is not a lasergen job pack")
        (n,) = struct.unpack(">I", head[len(MAGIC):])
        dictionary = fh.read(n)
    return dictionary, len(MAGIC) + 4 + n


def append(path: Path, records: list[bytes]) -> list[tuple[int, int]]:
    """Append records, flushed to disk; returns (offset, length) of each."""
    with open(path, "ab") as fh:
        offset = fh.seek(0, os.SEEK_END)
        where = []
        for record in records:
            where.append((offset, len(record)))
            offset += len(record)
        fh.write(b"".join(records))
        fh.flush()
        os.fsync(fh.fileno())
    return where


def _decode(raw: bytes, dictionary: bytes, where: str) -> tuple[str, bytes]:
    magic, n = _HEAD.unpack_from(raw)
    if magic != RECORD:
        raise LasergenError(f"{where}: no job record here (damaged pack or wrong offset)")
    serial = raw[_HEAD.size:_HEAD.size + n].decode()
    sha, length = _TAIL.unpack_from(raw, _HEAD.size + n)
    start = _HEAD.size + n + _TAIL.size
    try:
        unpacker = zlib.decompressobj(zdict=dictionary) if dictionary else zlib.decompressobj()
        job = unpacker.decompress(raw[start:start + length]) + unpacker.flush()
    except zlib.error as exc:
        raise LasergenError(f"{where}: job of {serial} is damaged ({exc})") from None
    if hashlib.sha256(job).digest() != sha:
        raise LasergenError(f"{where}: job of {serial} does not match its checksum (damaged pack)")
    return serial, job


def read(path: Path, offset: int, length: int, serial: str | None = None) -> bytes:
    """One job by its (offset, length), checked against the expected serial and its checksum."""
    dictionary, first = read_dictionary(path)
    if offset < first:
        raise LasergenError(f"{path}: offset {offset} lies in the pack header")
    with open(path, "rb") as fh:
        fh.seek(offset)
        raw = fh.read(length)
    if len(raw) != length:
        raise LasergenError(f"{path}: record at {offset} is cut short (the pack is truncated)")
    found, job = _decode(raw, dictionary, f"{path}@{offset}")
    if serial is not None and found != serial:
        raise LasergenError(f"{path}@{offset} holds {found}, not {serial}")
    return job


def records(path: Path) -> Iterator[tuple[str, int, int]]:
    """(serial, offset, length) of every whole record, walking the pack from the start."""
    dictionary, offset = read_dictionary(path)
    size = path.stat().st_size
    with open(path, "rb") as fh:
        fh.seek(offset)
        while head := fh.read(_HEAD.size):
            if len(head) < _HEAD.size or _HEAD.unpack(head)[0] != RECORD:
                return
            n = _HEAD.unpack(head)[1]
            name = fh.read(n)
            tail = fh.read(_TAIL.size)
            if len(tail) < _TAIL.size:
                return
            length = _HEAD.size + n + _TAIL.size + _TAIL.unpack(tail)[1]
            if offset + length > size:
                return
            yield name.decode(), offset, length
            offset += length
            fh.seek(offset)
