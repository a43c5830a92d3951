"""The registry: one row per serial, claimed once, moved through its life cycle, scanned.

Written once against a small dialect module (`sqlite`, `postgres`): plain DB-API with `?`
placeholders that the dialect rewrites, explicit transactions (`tx`), and the two statements
where the engines differ (the atomic claim and the locking) inside the dialect. Every
transition is compare-and-set inside a transaction (the row is locked, its state checked
against the life-cycle table, then changed) and leaves an event row (time, station, detail).
The `planned` state is recorded by the batch row (time, station, recipe, key ids): 1 M
planned tags cost one event, not a million.
"""

from __future__ import annotations

import json
import time
from contextlib import contextmanager

from lasergen import LasergenError
from lasergen.registry import clones, schema
from lasergen.registry.lifecycle import check_state, check_transition

TAG_COLUMNS = ("serial", "state", "state_at", "batch_id", "job_sha256", "estimated_time_s", "job_offset", "job_length",
               "written_station", "device", "journal", "ledger_sha256", "gaps", "confidence", "verification", "flags")
JSON_COLUMNS = ("gaps", "verification", "flags", "params", "detail")
SCAN_COLUMNS = ("serial", "at", "station", "place", "lat", "lon", "ok", "confidence", "detail", "flags")


def _decode(row: dict) -> dict:
    return {k: (json.loads(v) if k in JSON_COLUMNS and isinstance(v, str) else v) for k, v in row.items()}


def _dumps(value) -> str | None:
    return None if value is None else json.dumps(value, sort_keys=True)


class Registry:
    def __init__(self, dialect, conn, target: str):
        self.d, self.conn, self.target = dialect, conn, target
        self.where = dialect.describe(target)

    # ---- plumbing ----
    def close(self) -> None:
        self.conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

    @contextmanager
    def tx(self):
        cur = self.conn.cursor()
        self.d.begin(cur)
        try:
            yield cur
        except BaseException:
            cur.execute("ROLLBACK")
            raise
        cur.execute("COMMIT")

    def _q(self, cur, statement: str, params=()) -> None:
        cur.execute(self.d.sql(statement), params)

    def _rows(self, statement: str, params=()) -> list[dict]:
        cur = self.conn.cursor()
        self._q(cur, statement, params)
        names = [c[0] for c in cur.description]
        return [_decode(dict(zip(names, row))) for row in cur.fetchall()]

    def version(self) -> int | None:
        return schema.current_version(self.conn.cursor(), self.d)

    # ---- batches and claims ----
    def begin_batch(self, station: str, template: str, first_index: int, requested: int, layout: str, out_dir: str,
                    params: dict) -> int:
        with self.tx() as cur:
            self._q(cur, "INSERT INTO batches (created_at, station, template, first_index, requested, layout, out_dir,"
                         " params) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                    (time.time(), station, template, first_index, requested, layout, out_dir, _dumps(params)))
            return int(cur.fetchone()[0])

    def finish_batch(self, batch_id: int, issued: int, skipped: int) -> None:
        with self.tx() as cur:
            self._q(cur, "UPDATE batches SET issued = ?, skipped = ?, finished_at = ? WHERE id = ?",
                    (issued, skipped, time.time(), batch_id))

    def batch(self, batch_id: int) -> dict | None:
        rows = self._rows("SELECT * FROM batches WHERE id = ?", (batch_id,))
        return rows[0] if rows else None

    def issued(self, serials: list[str]) -> set[str]:
        """Which of these serials already have a row (any state)."""
        with self.tx() as cur:
            return self.d.issued(cur, list(serials))

    def claim(self, batch_id: int, rows: list[tuple]) -> set[str]:
        """Atomically insert planned rows (serial, job_sha256, estimated_time_s, offset, length) whose serial is
        free; returns the serials this call claimed. Rows already present are left untouched."""
        at = time.time()
        full = [(s, at, batch_id, sha, est, off, n) for s, sha, est, off, n in rows]
        with self.tx() as cur:
            return self.d.claim(cur, full)

    # ---- life cycle ----
    def transition(self, serial: str, target: str, station: str, detail: dict | None = None,
                   columns: dict | None = None) -> str:
        """Move one tag to `target` if the life cycle allows it; returns the state it left."""
        with self.tx() as cur:
            return self._move(cur, serial, target, station, detail, columns or {})

    def transition_all(self, serials: list[str], target: str, station: str, detail: dict | None = None) -> dict:
        """Move every tag or none (one transaction): {serial: state it left}."""
        with self.tx() as cur:
            return {s: self._move(cur, s, target, station, detail, {}) for s in serials}

    def _move(self, cur, serial, target, station, detail, columns) -> str:
        self._q(cur, "SELECT state FROM tags WHERE serial = ?" + self.d.FOR_UPDATE, (serial,))
        row = cur.fetchone()
        if row is None:
            raise LasergenError(f"registry: {serial} is not in the registry {self.where}")
        check_transition(serial, row[0], target)
        at = time.time()
        sets = "".join(f", {name} = ?" for name in columns)
        values = [_dumps(v) if name in JSON_COLUMNS else v for name, v in columns.items()]
        self._q(cur, f"UPDATE tags SET state = ?, state_at = ?{sets} WHERE serial = ?", (target, at, *values, serial))
        self._q(cur, "INSERT INTO events (serial, from_state, to_state, at, station, detail) VALUES (?, ?, ?, ?, ?, ?)",
                (serial, row[0], target, at, station, _dumps(detail)))
        return row[0]

    def mark_written(self, serial: str, station: str, device: str | None, journal: str | None,
                     ledger_sha256: str | None, gaps: list, detail: dict | None = None) -> str:
        return self.transition(serial, "written", station, {"gaps": gaps, **(detail or {})},
                               {"written_station": station, "device": device, "journal": journal,
                                "ledger_sha256": ledger_sha256, "gaps": gaps})

    def mark_failed(self, serial: str, station: str, reason: str, device: str | None, journal: str | None) -> str:
        return self.transition(serial, "failed", station, {"reason": reason},
                               {"written_station": station, "device": device, "journal": journal})

    def mark_verified(self, serial: str, station: str, confidence: float, verification: dict) -> str:
        return self.transition(serial, "verified", station, verification,
                               {"confidence": confidence, "verification": verification})

    # ---- reading ----
    def tag(self, serial: str) -> dict | None:
        rows = self._rows("SELECT * FROM tags WHERE serial = ?", (serial,))
        return rows[0] if rows else None

    def events(self, serial: str) -> list[dict]:
        return self._rows("SELECT from_state, to_state, at, station, detail FROM events WHERE serial = ? ORDER BY id",
                          (serial,))

    def scans(self, serial: str) -> list[dict]:
        return self._rows("SELECT * FROM scans WHERE serial = ? ORDER BY at, id", (serial,))

    def counts(self) -> dict[str, int]:
        cur = self.conn.cursor()
        cur.execute("SELECT state, COUNT(*) FROM tags GROUP BY state")
        return {state: int(n) for state, n in cur.fetchall()}

    def export(self, state: str | None = None, since: float | None = None, until: float | None = None,
               flagged: bool = False):
        """Tag rows (dicts) in serial order, filtered by state and the time of their last transition."""
        where, params = [], []
        if state is not None:
            where.append("state = ?")
            params.append(check_state(state))
        if since is not None:
            where.append("state_at >= ?")
            params.append(since)
        if until is not None:
            where.append("state_at < ?")
            params.append(until)
        if flagged:
            where.append("flags IS NOT NULL")
        statement = f"SELECT {', '.join(TAG_COLUMNS)} FROM tags"
        statement += (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY serial"
        yield from self.d.iter_rows(self.conn, self.d.sql(statement), tuple(params))

    # ---- scans ----
    def record_scan(self, serial: str, station: str, ok: bool, confidence: float | None, detail: dict,
                    place: str | None = None, at: float | None = None) -> dict:
        """Record one field check; returns {"state", "flags"} with the clone reasons now standing."""
        name, lat, lon = clones.parse_place(place)
        at = time.time() if at is None else float(at)
        with self.tx() as cur:
            self._q(cur, "SELECT state FROM tags WHERE serial = ?" + self.d.FOR_UPDATE, (serial,))
            row = cur.fetchone()
            state = row[0] if row else None
            self._q(cur, "SELECT at, place, lat, lon, ok, detail FROM scans WHERE serial = ?", (serial,))
            earlier = [_scan_facts(dict(zip(("at", "place", "lat", "lon", "ok", "detail"), r))) for r in cur.fetchall()]
            scan = {"at": at, "place": name, "lat": lat, "lon": lon, "ok": int(bool(ok)), "detail": detail}
            flags = clones.assess(state, earlier + [_scan_facts(scan)])
            self._q(cur, f"INSERT INTO scans ({', '.join(SCAN_COLUMNS)}) VALUES ({', '.join('?' * len(SCAN_COLUMNS))})",
                    (serial, at, station, name, lat, lon, int(bool(ok)), confidence, _dumps(detail), _dumps(flags or None)))
            if row is not None:
                self._q(cur, "UPDATE tags SET flags = ? WHERE serial = ?", (_dumps(flags or None), serial))
        return {"state": state, "flags": flags}

    def assess(self, serial: str) -> list[str]:
        tag = self.tag(serial)
        return clones.assess(tag["state"] if tag else None, [_scan_facts(s) for s in self.scans(serial)])


def _scan_facts(scan: dict) -> dict:
    detail = scan.get("detail")
    detail = json.loads(detail) if isinstance(detail, str) else (detail or {})
    return {**scan, "signature_ok": detail.get("signature_ok")}
