"""SQLite dialect of the registry: one file, from the standard library, the embedded default.

Writers take the database lock up front (`BEGIN IMMEDIATE`) and wait up to BUSY_S for it, so
a claim is check-then-insert under one lock: no other process can insert between the two.
The file runs in WAL mode (readers never block the writer) with the default FULL sync, so a
committed claim survives a power cut. Several processes on one computer may share the file;
several stations should share a PostgreSQL registry (SQLite locking over network file
systems is not reliable).
"""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from lasergen import LasergenError

NAME = "sqlite"
TYPES = {"real": "REAL", "id": "INTEGER PRIMARY KEY AUTOINCREMENT", "clustered": " WITHOUT ROWID"}
FOR_UPDATE = ""
BUSY_S = 60.0
Error = sqlite3.Error

INSERT_TAG = ("INSERT INTO tags (serial, state, state_at, batch_id, job_sha256, estimated_time_s, job_offset,"
              " job_length) VALUES (?, 'planned', ?, ?, ?, ?, ?, ?)")


def sql(statement: str) -> str:
    return statement


def describe(target: str) -> str:
    return str(target)


def connect(target: str, create: bool):
    path = Path(target)
    if path.is_dir():
        raise LasergenError(f"registry {target} is a folder, not a registry file")
    if not create and not path.exists():
        raise LasergenError(f"registry {target} does not exist: create it with `lasergen registry init --registry {target}`")
    if create and not path.parent.is_dir():
        raise LasergenError(f"registry {target}: folder {path.parent} does not exist")
    uri = path.resolve().as_uri() + ("?mode=rwc" if create else "?mode=rw")
    try:
        conn = sqlite3.connect(uri, uri=True, isolation_level=None, timeout=BUSY_S)
        conn.execute("PRAGMA foreign_keys = ON")
        if create:
            conn.execute("PRAGMA journal_mode = WAL")
        conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()
    except sqlite3.DatabaseError as exc:
        raise LasergenError(f"registry {target} is not a lasergen registry (not an SQLite database: {exc})") from None
    return conn


def begin(cur) -> None:
    cur.execute("BEGIN IMMEDIATE")


def has_table(cur, name: str) -> bool:
    cur.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (name,))
    return cur.fetchone() is not None


def lock_migrations(cur) -> None:
    """BEGIN IMMEDIATE already holds the only write lock."""


def issued(cur, serials: list[str]) -> set[str]:
    cur.execute("SELECT serial FROM tags WHERE serial IN (SELECT value FROM json_each(?))", (json.dumps(serials),))
    return {row[0] for row in cur.fetchall()}


def claim(cur, rows: list[tuple]) -> set[str]:
    """Insert the rows whose serial is free; (serial, at, batch, sha, est_s, offset, length) each."""
    taken = issued(cur, [r[0] for r in rows])
    fresh = [r for r in rows if r[0] not in taken]
    cur.executemany(INSERT_TAG, fresh)
    return {r[0] for r in fresh}


def iter_rows(conn, statement: str, params: tuple, size: int = 5000):
    cur = conn.cursor()
    cur.execute(statement, params)
    names = [d[0] for d in cur.description]
    while rows := cur.fetchmany(size):
        for row in rows:
            yield dict(zip(names, row))
