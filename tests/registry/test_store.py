"""The registry on both engines: unique claims, life cycle, export, migrations, what is not a registry."""

import sqlite3
import time

import pytest

from lasergen import LasergenError
from lasergen.registry import IllegalTransition, open_registry, schema

SHA = "ab" * 32


def rows(lo, hi, sha=SHA):
    return [(f"SN-{i:05d}", sha, 1.5, 100 + i, 50) for i in range(lo, hi)]


def batch(reg, n=10):
    return reg.begin_batch("station-A", "SN-%05d", 0, n, "pack", "/tags", {"material": "BrI", "sign_key_id": "k1"})


def test_claims_are_unique_and_overlaps_skip_without_overwriting(reg):
    b1 = batch(reg)
    assert reg.claim(b1, rows(0, 10)) == {f"SN-{i:05d}" for i in range(10)}
    b2 = batch(reg)
    claimed = reg.claim(b2, rows(5, 15, sha="cd" * 32))
    assert claimed == {f"SN-{i:05d}" for i in range(10, 15)}
    assert reg.issued([f"SN-{i:05d}" for i in range(20)]) == {f"SN-{i:05d}" for i in range(15)}
    kept = reg.tag("SN-00007")
    assert kept["job_sha256"] == SHA and kept["batch_id"] == b1 and kept["job_offset"] == 107
    assert reg.tag("SN-00012")["batch_id"] == b2
    assert reg.counts() == {"planned": 15}


def test_life_cycle_records_each_transition_and_refuses_illegal_ones(reg):
    reg.claim(batch(reg), rows(0, 3))
    with pytest.raises(IllegalTransition, match="planned, it cannot become verified"):
        reg.mark_verified("SN-00000", "A", 0.9, {})
    reg.mark_failed("SN-00000", "A", "ALARM:1", "grbl-123", "/j/a.journal")
    reg.mark_written("SN-00000", "B", "grbl-123", "/j/a.journal", "ee" * 32, {"uncertain": [4], "partial": []})
    reg.mark_verified("SN-00000", "B", 0.97, {"checks": {"signature": True}})
    reg.transition("SN-00000", "shipped", "C")
    with pytest.raises(IllegalTransition, match="shipped, it cannot become written"):
        reg.transition("SN-00000", "written", "C")
    tag = reg.tag("SN-00000")
    assert tag["state"] == "shipped" and tag["written_station"] == "B" and tag["device"] == "grbl-123"
    assert tag["gaps"] == {"uncertain": [4], "partial": []} and tag["confidence"] == pytest.approx(0.97)
    moves = [(e["from_state"], e["to_state"], e["station"]) for e in reg.events("SN-00000")]
    assert moves == [("planned", "failed", "A"), ("failed", "written", "B"), ("written", "verified", "B"),
                     ("verified", "shipped", "C")]
    assert all(abs(e["at"] - time.time()) < 60 for e in reg.events("SN-00000"))
    assert reg.events("SN-00000")[0]["detail"] == {"reason": "ALARM:1"}
    reg.transition("SN-00000", "void", "C", {"reason": "recalled"})
    with pytest.raises(IllegalTransition, match="none: it is final"):
        reg.transition("SN-00000", "planned", "C")
    with pytest.raises(LasergenError, match="not in the registry"):
        reg.transition("SN-99999", "void", "C")


def test_transition_all_is_all_or_nothing(reg):
    reg.claim(batch(reg), rows(0, 3))
    reg.mark_written("SN-00001", "A", "d", "j", None, [])
    reg.mark_verified("SN-00001", "A", 0.9, {})
    with pytest.raises(IllegalTransition):
        reg.transition_all(["SN-00001", "SN-00002"], "shipped", "A")  # SN-00002 is only planned
    assert reg.tag("SN-00001")["state"] == "verified"
    assert reg.transition_all(["SN-00001"], "shipped", "A") == {"SN-00001": "verified"}


def test_export_without_state_gives_every_row(reg):
    reg.claim(batch(reg), rows(0, 30))
    reg.mark_written("SN-00003", "A", "d", "j", None, [])
    everything = list(reg.export())
    assert [r["serial"] for r in everything] == [f"SN-{i:05d}" for i in range(30)]
    assert [r["serial"] for r in reg.export(state="written")] == ["SN-00003"]
    assert list(reg.export(state="written", since=time.time() + 3600)) == []
    assert len(list(reg.export(until=time.time() + 3600))) == 30
    with pytest.raises(LasergenError, match="unknown state"):
        list(reg.export(state="shiped"))


def test_migrations_upgrade_a_v1_registry_and_keep_its_rows(target):
    from lasergen.registry import _dialect

    dialect, where = _dialect(target)
    conn = dialect.connect(where, create=True)
    cur = conn.cursor()
    dialect.begin(cur)
    assert schema.migrate(cur, dialect, target=1) == (0, 1)
    cur.execute("COMMIT")
    conn.close()
    with pytest.raises(LasergenError, match="schema v1, this lasergen uses v2: run `lasergen registry migrate`"):
        open_registry(target)
    with open_registry(target, create=True) as reg:
        assert reg.migrated == (1, schema.LATEST) and reg.version() == schema.LATEST
        reg.claim(batch(reg), rows(0, 2))
    with open_registry(target, create=True) as reg:
        assert reg.migrated == (schema.LATEST, schema.LATEST) and reg.counts() == {"planned": 2}


def test_a_newer_schema_is_refused(reg, target):
    with reg.tx() as cur:
        reg._q(cur, "INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)", (99, "future", 0.0))
    with pytest.raises(LasergenError, match="has schema v99, this lasergen uses v2: upgrade lasergen"):
        open_registry(target)


def test_what_is_not_a_registry(tmp_path):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"not a database at all, just some bytes" * 40)
    with pytest.raises(LasergenError, match="not a lasergen registry \\(not an SQLite database"):
        open_registry(str(junk))
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE photos (id INTEGER)").connection.commit()
    with pytest.raises(LasergenError, match="not a lasergen registry \\(no registry tables\\)"):
        open_registry(str(other))
    missing = tmp_path / "typo.db"
    with pytest.raises(LasergenError, match="does not exist: create it with"):
        open_registry(str(missing))
    assert not missing.exists()
    with pytest.raises(LasergenError, match="expected a file path"):
        open_registry("mysql://x@y/z")


def test_an_unreachable_postgres_is_one_clear_error():
    pytest.importorskip("psycopg")
    with pytest.raises(LasergenError, match=r"cannot connect to PostgreSQL at postgresql://u:\*\*\*@127.0.0.1:1/db") as e:
        open_registry("postgresql://u:secret@127.0.0.1:1/db")
    assert "secret" not in str(e.value)
