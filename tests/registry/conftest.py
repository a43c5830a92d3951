"""Registry fixtures: every test that takes `target` runs on SQLite and on a real PostgreSQL.

PostgreSQL comes from $LASERGEN_TEST_POSTGRES_URL (`.ci/run` starts one), else from a server
this session starts itself (tests/registry/pgserver.py); it is skipped only when neither
works. Each test gets a fresh database on that server.
"""

import os
import sys
import uuid
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(0, str(Path(__file__).parents[1] / "security"))

import pgserver  # noqa: E402

ENV_URL = "LASERGEN_TEST_POSTGRES_URL"


@pytest.fixture(scope="session")
def pg_server():
    if os.environ.get(ENV_URL):
        yield os.environ[ENV_URL]
        return
    try:
        import psycopg  # noqa: F401
    except ImportError:
        pytest.skip("psycopg is not installed")
    try:
        url, folder = pgserver.start()
    except (RuntimeError, OSError) as exc:
        pytest.skip(f"no PostgreSQL server could be started: {exc}")
    yield url
    pgserver.stop(folder)


@pytest.fixture
def pg_url(pg_server):
    import psycopg

    name = f"t_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    yield pg_server.rsplit("/", 1)[0] + "/" + name
    with psycopg.connect(pg_server, autocommit=True) as conn:
        conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


@pytest.fixture(params=["sqlite", "postgresql"])
def target(request, tmp_path):
    """A registry target (not yet created) on each engine."""
    if request.param == "sqlite":
        return str(tmp_path / "reg.db")
    return request.getfixturevalue("pg_url")


@pytest.fixture
def reg(target):
    from lasergen.registry import open_registry

    with open_registry(target, create=True) as registry:
        yield registry
