"""Versioned schema migrations, written once for both engines.

Each migration is a list of SQL statements in the subset SQLite and PostgreSQL share, with
three type tokens the dialect fills in: `{real}` (a float column), `{id}` (an auto-numbered
primary key) and `{clustered}` (SQLite stores `tags` by serial, WITHOUT ROWID, so the primary
key is the table and 1 M tags need no second index). `migrate` applies, in one transaction,
every migration above the version recorded in `schema_migrations`, and records each one;
PostgreSQL takes an advisory lock first, so two stations upgrading at once run it once.
Times are Unix seconds (UTC). JSON details are TEXT, so both engines read them the same way.
A registry newer than this code is refused rather than guessed at.
"""

from __future__ import annotations

import time

from lasergen import LasergenError

FORMAT = "lasergen-registry"

MIGRATIONS: list[tuple[int, str, list[str]]] = [
    (1, "tags, batches and their life-cycle events", [
        "CREATE TABLE registry_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
        "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {real} NOT NULL)",
        "CREATE TABLE batches (id {id}, created_at {real} NOT NULL, station TEXT NOT NULL, template TEXT NOT NULL,"
        " first_index BIGINT NOT NULL, requested BIGINT NOT NULL, issued BIGINT NOT NULL DEFAULT 0,"
        " skipped BIGINT NOT NULL DEFAULT 0, layout TEXT NOT NULL, out_dir TEXT NOT NULL, params TEXT NOT NULL,"
        " finished_at {real})",
        "CREATE TABLE tags (serial TEXT PRIMARY KEY, state TEXT NOT NULL, state_at {real} NOT NULL,"
        " batch_id BIGINT NOT NULL REFERENCES batches(id), job_sha256 TEXT NOT NULL, estimated_time_s {real},"
        " job_offset BIGINT, job_length BIGINT, written_station TEXT, device TEXT, journal TEXT,"
        " ledger_sha256 TEXT, gaps TEXT, confidence {real}, verification TEXT){clustered}",
        "CREATE INDEX tags_state ON tags (state, state_at)",
        "CREATE TABLE events (id {id}, serial TEXT NOT NULL REFERENCES tags(serial), from_state TEXT NOT NULL,"
        " to_state TEXT NOT NULL, at {real} NOT NULL, station TEXT NOT NULL, detail TEXT)",
        "CREATE INDEX events_serial ON events (serial)",
    ]),
    (2, "field scans and clone flags", [
        "CREATE TABLE scans (id {id}, serial TEXT NOT NULL, at {real} NOT NULL, station TEXT NOT NULL,"
        " place TEXT, lat {real}, lon {real}, ok INTEGER NOT NULL, confidence {real}, detail TEXT, flags TEXT)",
        "CREATE INDEX scans_serial ON scans (serial, at)",
        "ALTER TABLE tags ADD COLUMN flags TEXT",
    ]),
]
LATEST = MIGRATIONS[-1][0]


def current_version(cur, dialect) -> int | None:
    """The schema version, or None when the database holds no lasergen registry."""
    if not dialect.has_table(cur, "registry_meta"):
        return None
    cur.execute(dialect.sql("SELECT value FROM registry_meta WHERE key = ?"), ("format",))
    row = cur.fetchone()
    if row is None or row[0] != FORMAT:
        return None
    cur.execute("SELECT MAX(version) FROM schema_migrations")
    return int(cur.fetchone()[0] or 0)


def migrate(cur, dialect, target: int = LATEST) -> tuple[int, int]:
    """Bring the schema up to `target` inside the caller's transaction; returns (before, after)."""
    dialect.lock_migrations(cur)
    before = current_version(cur, dialect)
    if before is None and dialect.has_table(cur, "registry_meta"):
        raise LasergenError("registry: the database has a registry_meta table of something else, not a lasergen registry")
    before = before or 0
    if before > LATEST:
        raise LasergenError(f"registry: schema v{before} is newer than this lasergen (v{LATEST}): upgrade lasergen")
    for version, name, statements in MIGRATIONS:
        if before < version <= target:
            for statement in statements:
                cur.execute(statement.format(**dialect.TYPES))
            cur.execute(dialect.sql("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)"),
                        (version, name, time.time()))
            if version == 1:
                cur.execute(dialect.sql("INSERT INTO registry_meta (key, value) VALUES (?, ?), (?, ?)"),
                            ("format", FORMAT, "created_at", repr(time.time())))
    return before, max(before, target)
