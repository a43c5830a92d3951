"""Tag registry: every serial issued once, every written and verified tag on record, clones flagged.

    open_registry("reg.db")                           # SQLite file (the embedded default)
    open_registry("postgresql://user@host/db")        # PostgreSQL, for many stations
A target is a path (or `sqlite:///path`) or a `postgresql://` URL; `LASERGEN_REGISTRY` gives
it when no option does. Why plain DB-API with one dialect module each rather than SQLAlchemy
Core: the registry needs about fifteen statements, all in the SQL both engines share, except
the atomic claim (check-then-insert under SQLite's write lock; one `INSERT ... ON CONFLICT DO
NOTHING RETURNING` over arrays in PostgreSQL) and the locks, which each dialect module states
in a few lines. That keeps the default install free of an ORM (SQLite is in the standard
library; psycopg is the optional `lasergen[postgres]` extra), the hot path (claims of
thousands of rows) one statement per chunk, and every SQL statement readable in one place.
Opening never creates or upgrades a registry by itself: a typo'd path must not become a
second, empty registry that issues the same serials again (`create=True` is `registry init`).
"""

from __future__ import annotations

import os
import socket

from lasergen import LasergenError
from lasergen.registry import schema, sqlite
from lasergen.registry.lifecycle import STATES, TRANSITIONS, IllegalTransition
from lasergen.registry.store import Registry

ENV = "LASERGEN_REGISTRY"
STATION_ENV = "LASERGEN_STATION"
DEFAULT_PATH = "lasergen-registry.db"



def __getattr__(name: str):
    # `DatabaseError` names the PostgreSQL driver's errors too, so it imports psycopg: lazily,
    # because every `lasergen stream` asks for `registry_target` and psycopg costs ~2 s to import.
    if name == "DatabaseError":
        from lasergen.registry import postgres

        return tuple(e for e in (sqlite.Error, postgres.Error) if isinstance(e, type))
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

__all__ = ["ENV", "STATES", "DatabaseError", "TRANSITIONS", "IllegalTransition", "Registry", "open_registry", "registry_target",
           "station_name"]


def registry_target(option: str | None, default: str | None = None) -> str | None:
    """The registry named by an option, else by $LASERGEN_REGISTRY, else `default`."""
    return option or os.environ.get(ENV) or default


def station_name(option: str | None = None) -> str:
    return option or os.environ.get(STATION_ENV) or socket.gethostname()


def _dialect(target: str):
    if target.startswith(("postgresql://", "postgres://")):
        from lasergen.registry import postgres

        return postgres, target
    if target.startswith("sqlite:///"):
        return sqlite, target[len("sqlite:///"):]
    if "://" in target:
        raise LasergenError(f"registry {target!r}: expected a file path, sqlite:///PATH or postgresql://...")
    return sqlite, target


def open_registry(target: str, create: bool = False) -> Registry:
    """Open an existing registry at its current schema; `create=True` creates or upgrades it."""
    dialect, where = _dialect(target)
    registry = Registry(dialect, dialect.connect(where, create), where)
    try:
        if create:
            with registry.tx() as cur:
                registry.migrated = schema.migrate(cur, dialect)
            return registry
        version = registry.version()
        if version is None:
            raise LasergenError(f"registry {registry.where} is not a lasergen registry (no registry tables): "
                                f"create one with `lasergen registry init`")
        if version != schema.LATEST:
            newer = version > schema.LATEST
            raise LasergenError(f"registry {registry.where} has schema v{version}, this lasergen uses v{schema.LATEST}: "
                                + ("upgrade lasergen" if newer else "run `lasergen registry migrate`"))
    except BaseException:
        registry.close()
        raise
    return registry
