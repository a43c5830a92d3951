"""A batch's output folder: its jobs (one pack, or one file per tag) and `manifest.csv`.

A batch holds the folder's lock (`.batch.lock`, flock) from start to end, so two batches never
write into one folder at once. A folder that already holds a manifest is appended to, never
overwritten: the serials it lists are skipped (and counted), new rows go after the old ones,
and a job file that the manifest does not list is refused before anything is written. The
manifest is the folder's index: serial, file, offset and length of the job in that file,
sha256 of the job, payload, estimated time. Rows are appended (and flushed) chunk by chunk,
after their jobs are on disk.
"""

from __future__ import annotations

import csv
import fcntl
import hashlib
import os
import re
from pathlib import Path

from lasergen import LasergenError
from lasergen.batch import pack

MANIFEST = "manifest.csv"
PACK = "jobs.lgpack"
LOCK = ".batch.lock"
CSV_FIELDS = ("serial", "file", "offset", "length", "sha256", "payload", "estimated_time_s")
LAYOUTS = ("pack", "files")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")


def job_file_name(serial: str) -> str:
    return SAFE_NAME.sub("_", serial) + ".gcode"


class BatchFolder:
    def __init__(self, path: Path, layout: str = "pack", private: bool = False):
        if layout not in LAYOUTS:
            raise LasergenError(f"batch: layout must be one of {', '.join(LAYOUTS)}, got {layout!r}")
        self.path, self.layout, self.private = Path(path), layout, private
        self.manifest = self.path / MANIFEST
        self.pack = self.path / PACK
        self._lock = None
        self.dictionary: bytes | None = None

    # ---- opening ----
    def check(self) -> None:
        """Refuse a path that cannot be a batch folder, before anything is created."""
        if self.path.exists() and not self.path.is_dir():
            raise LasergenError(f"batch: --out {self.path} is a file, not a folder")
        if not self.path.exists() and not self.path.parent.is_dir():
            raise LasergenError(f"batch: folder {self.path.parent} does not exist (for --out {self.path})")

    def open(self) -> set[str]:
        """Create and lock the folder; returns the serials its manifest already lists."""
        self.check()
        self.path.mkdir(exist_ok=True)
        self._lock = open(self.path / LOCK, "a")
        try:
            fcntl.flock(self._lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            self.close()
            raise LasergenError(f"batch: another batch is writing into {self.path}") from None
        known = self.known_serials()
        if self.pack.exists():
            self.dictionary, _ = pack.read_dictionary(self.pack)
        return known

    def known_serials(self) -> set[str]:
        if not self.manifest.exists():
            return set()
        with self.manifest.open(newline="") as fh:
            reader = csv.reader(fh)
            header = next(reader, None)
            if header is None:
                return set()
            if tuple(header) != CSV_FIELDS:
                raise LasergenError(f"batch: {self.manifest} has columns {','.join(header)}, not those of this "
                                    f"lasergen ({','.join(CSV_FIELDS)}): write this batch into a new folder")
            return {row[0] for row in reader if row}

    def refuse_strays(self, serials, known: set[str]) -> None:
        """Files layout: a job file for one of these serials that the manifest does not list is not ours."""
        if self.layout != "files":
            return
        present = {p.name for p in self.path.glob("*.gcode")}
        strays = [s for s in serials if s not in known and job_file_name(s) in present]
        if strays:
            raise LasergenError(f"batch: {self.path / job_file_name(strays[0])} exists but {MANIFEST} does not list "
                                f"it ({len(strays)} such file(s)): move them away or write into another folder")

    def close(self) -> None:
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    # ---- writing ----
    def start_pack(self, sample_job: bytes) -> bytes:
        """The preset dictionary of this folder's pack, creating the pack from a sample job if needed."""
        if self.dictionary is None:
            if not self.pack.exists():
                pack.create(self.pack, pack.make_dictionary(sample_job), self.private)
            self.dictionary, _ = pack.read_dictionary(self.pack)
        return self.dictionary

    def write(self, planned: list[tuple]) -> list[tuple[str, int, int]]:
        """Jobs to disk; planned rows are (serial, sha256, payload, est_s, blob). Returns (file, offset, length)."""
        if self.layout == "pack":
            return [(PACK, off, n) for off, n in pack.append(self.pack, [row[4] for row in planned])]
        where = []
        for serial, _, _, _, blob in planned:
            name = job_file_name(serial)
            fd = os.open(self.path / name, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if self.private else 0o644)
            with os.fdopen(fd, "wb") as fh:
                fh.write(blob)
            where.append((name, 0, len(blob)))
        return where

    def discard(self, rows: list[tuple], where: list[tuple]) -> None:
        """Jobs another station claimed first: delete their files (a pack keeps them, unreferenced)."""
        if self.layout == "files":
            for _, (name, _, _) in zip(rows, where):
                (self.path / name).unlink(missing_ok=True)

    def append_manifest(self, rows: list[tuple], where: list[tuple]) -> None:
        new = not self.manifest.exists() or self.manifest.stat().st_size == 0
        with self.manifest.open("a", newline="") as fh:
            writer = csv.writer(fh)
            if new:
                writer.writerow(CSV_FIELDS)
            writer.writerows((serial, name, off, n, sha, payload, est)
                             for (serial, sha, payload, est, _), (name, off, n) in zip(rows, where))
            fh.flush()
            os.fsync(fh.fileno())


def read_manifest_job(folder: Path, serial: str) -> bytes:
    """One tag's job from a batch folder, found through its manifest (pack or files layout)."""
    manifest = Path(folder) / MANIFEST
    if not manifest.exists():
        raise LasergenError(f"{folder} holds no {MANIFEST}: not a batch folder")
    with manifest.open(newline="") as fh:
        for row in csv.DictReader(fh):
            if row["serial"] == serial:
                return read_job(Path(folder) / row["file"], int(row["offset"]), int(row["length"]), serial,
                                row["sha256"])
    raise LasergenError(f"{serial} is not in {manifest}")


def read_job(path: Path, offset: int, length: int, serial: str, sha256: str) -> bytes:
    """A job from a pack record or a plain job file, checked against the recorded sha256."""
    if not path.exists():
        raise LasergenError(f"job of {serial}: {path} not found")
    if path.name.endswith(".lgpack"):
        job = pack.read(path, offset, length, serial)
    else:
        job = path.read_bytes()
    if hashlib.sha256(job).hexdigest() != sha256:
        raise LasergenError(f"job of {serial} in {path} does not match its recorded sha256 (edited or replaced)")
    return job
