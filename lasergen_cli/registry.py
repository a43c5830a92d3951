"""CLI: `lasergen registry ...` (init, migrate, show, job, export, ship, void, summary).

The registry is a SQLite file or a PostgreSQL URL: `--registry`, else $LASERGEN_REGISTRY,
else ./lasergen-registry.db. Only `init` creates (or upgrades) one; every other command
refuses a missing file, a file that is not a registry, or a server it cannot reach, in one
line (exit 2). Times print as UTC ISO 8601; `--since`/`--until` take ISO dates or times (UTC
unless they carry an offset).
"""

from __future__ import annotations

import csv
import datetime as dt
import os
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

from lasergen import LasergenError
from lasergen_cli.common import emit, json_option, main


def registry_option(f):
    return click.option("--registry", "registry_opt", default=None,
                        help="Registry: SQLite file or postgresql://USER@HOST/DB (default $LASERGEN_REGISTRY, "
                             "else ./lasergen-registry.db).")(f)


def station_option(f):
    return click.option("--station", default=None, help="This station's name (default $LASERGEN_STATION, else "
                                                        "the host name).")(f)


@contextmanager
def opened(registry_opt: str | None, create: bool = False, default: str | None = None):
    """The registry of the option/environment, with database errors as one-line errors."""
    from lasergen.registry import DEFAULT_PATH, DatabaseError, open_registry, registry_target

    target = registry_target(registry_opt, default if default is not None else DEFAULT_PATH)
    try:
        with open_registry(target, create=create) as reg:
            yield reg
    except DatabaseError as exc:
        raise LasergenError(f"registry {target}: database error: {exc}") from None


def iso(t: float | None) -> str:
    if t is None:
        return ""
    return dt.datetime.fromtimestamp(t, dt.timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


def parse_time(text: str | None, what: str) -> float | None:
    if text is None:
        return None
    try:
        when = dt.datetime.fromisoformat(text)
    except ValueError:
        raise LasergenError(f"{what}: expected an ISO date or time such as 2026-12-01 or 2026-12-01T08:00, "
                            f"got {text!r}") from None
    return (when if when.tzinfo else when.replace(tzinfo=dt.timezone.utc)).timestamp()


@contextmanager
def atomic_output(out: str, mode: str = "w", private: bool = False):
    """A file object for `out` that becomes `out` only when the block succeeds (never half-written)."""
    path = Path(out)
    if not path.parent.is_dir():
        raise LasergenError(f"output folder {path.parent} does not exist (for {out})")
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    try:
        with os.fdopen(fd, mode, **({"newline": ""} if "b" not in mode else {})) as fh:
            yield fh
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


@main.group()
def registry():
    """The tag registry: serials issued once, written and verified tags on record, clones flagged."""


@registry.command()
@registry_option
@json_option
def init(registry_opt, as_json):
    """Create the registry (or bring an existing one to this lasergen's schema)."""
    with opened(registry_opt, create=True) as reg:
        before, after = reg.migrated
        result = {"registry": reg.where, "engine": reg.d.NAME, "schema_from": before, "schema": after}
    what = "created" if before == 0 else ("upgraded from v%d" % before if before < after else "already current")
    emit(result, as_json, f"registry {result['registry']} ({result['engine']}): schema v{after}, {what}")


@registry.command()
@registry_option
@json_option
def migrate(registry_opt, as_json):
    """Upgrade an existing registry's schema (versioned migrations, in one transaction)."""
    from lasergen.registry import registry_target
    from lasergen.registry.sqlite import connect

    target = registry_target(registry_opt, "lasergen-registry.db")
    if "://" not in target:
        connect(target, create=False).close()  # refuse a missing file rather than create one
    with opened(registry_opt, create=True) as reg:
        before, after = reg.migrated
    emit({"registry": reg.where, "schema_from": before, "schema": after}, as_json,
         f"registry {reg.where}: schema v{before} -> v{after}" if before < after else
         f"registry {reg.where}: schema v{after}, already current")


@registry.command()
@click.argument("serial")
@registry_option
@json_option
def show(serial, registry_opt, as_json):
    """A tag's state, job, batch, writing, verification, scans, history, and any clone flags with why."""
    with opened(registry_opt) as reg:
        tag = reg.tag(serial)
        scans = reg.scans(serial)
        if tag is None and not scans:
            raise LasergenError(f"registry: {serial} is not in the registry {reg.where} and was never scanned")
        result = {"serial": serial, "tag": tag, "batch": reg.batch(tag["batch_id"]) if tag else None,
                  "events": reg.events(serial) if tag else [], "scans": scans, "flags": reg.assess(serial)}
    emit(result, as_json, show_text(result))


def show_text(r: dict) -> str:
    tag, batch, lines = r["tag"], r["batch"], []
    if tag is None:
        lines.append(f"{r['serial']}: not issued by this registry")
    else:
        lines.append(f"{r['serial']}: {tag['state']} since {iso(tag['state_at'])}")
        p = batch["params"]
        lines.append(f"  planned in batch {batch['id']} on {batch['station']} at {iso(batch['created_at'])} "
                     f"({batch['template']}): material {p['material']}, machine {p['machine'].get('name')}, "
                     f"module {p['options']['module_um']} um, sign key id {p['sign_key_id'] or '-'}, "
                     f"hidden key id {p['hidden_key_id'] or '-'}")
        lines.append(f"  job sha256 {tag['job_sha256']}, estimated {tag['estimated_time_s']:.1f} s, "
                     f"{batch['layout']} in {batch['out_dir']}")
        if tag["written_station"]:
            gaps = tag["gaps"] or {}
            n_gaps = sum(len(v) for v in gaps.values()) if isinstance(gaps, dict) else len(gaps)
            lines.append(f"  written on {tag['written_station']}, device {tag['device']}, journal {tag['journal']}, "
                         f"ledger sha256 {tag['ledger_sha256'] or '-'}, gaps {n_gaps or 'none'}")
        if tag["confidence"] is not None:
            lines.append(f"  verified with confidence {tag['confidence']:.3f}")
        for e in r["events"]:
            why = (e["detail"] or {}).get("reason")
            lines.append(f"  {iso(e['at'])} {e['from_state']} -> {e['to_state']} on {e['station']}"
                         + (f" ({why})" if why else ""))
    lines.append(f"  scans: {len(r['scans'])}")
    for s in r["scans"][-10:]:
        place = s["place"] or (f"{s['lat']:.4g},{s['lon']:.4g}" if s["lat"] is not None else "place not given")
        lines.append(f"    {iso(s['at'])} {place} on {s['station']}: {'pass' if s['ok'] else 'fail'}"
                     + (f" (confidence {s['confidence']:.3f})" if s["confidence"] is not None else ""))
    if r["flags"]:
        lines.append("  FLAGGED as a possible clone:")
        lines += [f"    {reason}" for reason in r["flags"]]
    return "\n".join(lines)


@registry.command("job")
@click.argument("serial")
@click.option("-o", "--out", required=True, help="Job file to write (.gcode).")
@click.option("--folder", default=None, help="Batch folder to read from, if it moved since the batch (default: "
                                              "where the batch wrote it).")
@registry_option
@json_option
def job(serial, out, folder, registry_opt, as_json):
    """One tag's job file, from its batch's pack (or job file), checked against the registered sha256."""
    from lasergen.batch import job_file_name
    from lasergen.batch.folder import PACK, read_job

    with opened(registry_opt) as reg:
        tag = reg.tag(serial)
        if tag is None:
            raise LasergenError(f"registry: {serial} is not in the registry {reg.where}")
        batch = reg.batch(tag["batch_id"])
    where = Path(folder or batch["out_dir"])
    name = PACK if batch["layout"] == "pack" else job_file_name(serial)
    data = read_job(where / name, tag["job_offset"], tag["job_length"], serial, tag["job_sha256"])
    with atomic_output(out, "wb", private=batch["params"].get("hidden_key_id") is not None) as fh:
        fh.write(data)
    emit({"serial": serial, "out": out, "bytes": len(data), "sha256": tag["job_sha256"], "state": tag["state"]},
         as_json, f"wrote {out}: job of {serial} ({len(data)} bytes, {tag['state']}), sha256 checked")


@registry.command()
@click.option("--state", default=None, help="Only tags in this state (planned, written, failed, verified, shipped, "
                                            "void); default: every row.")
@click.option("--since", default=None, help="Only tags whose last transition is at or after this time (ISO).")
@click.option("--until", default=None, help="Only tags whose last transition is before this time (ISO).")
@click.option("--flagged", is_flag=True, help="Only tags flagged as possible clones.")
@click.option("-o", "--out", default="-", show_default=True,
              help="CSV file to write ('-': standard output, and --json is then ignored).")
@registry_option
@json_option
def export(state, since, until, flagged, out, registry_opt, as_json):
    """Tag rows as CSV (one per serial, in serial order)."""
    from lasergen.registry.lifecycle import check_state
    from lasergen.registry.store import TAG_COLUMNS

    if state is not None:
        check_state(state)
    t_since, t_until = parse_time(since, "--since"), parse_time(until, "--until")
    with opened(registry_opt) as reg, (nullcontext(sys.stdout) if out == "-" else atomic_output(out)) as fh:
        writer = csv.writer(fh)
        writer.writerow(TAG_COLUMNS)
        n = 0
        for row in reg.export(state, t_since, t_until, flagged):
            row["state_at"] = iso(row["state_at"])
            writer.writerow([row[c] for c in TAG_COLUMNS])
            n += 1
    if out != "-":
        emit({"rows": n, "out": out}, as_json, f"wrote {out}: {n} tag(s)")


def _move_all(serials, target, registry_opt, station, detail, as_json):
    from lasergen.registry import station_name

    if not serials:
        raise LasergenError(f"give at least one serial to mark {target}")
    with opened(registry_opt) as reg:
        moved = reg.transition_all(list(serials), target, station_name(station), detail)
    emit({"state": target, "serials": moved}, as_json, f"{len(moved)} tag(s) now {target}")


@registry.command()
@click.argument("serials", nargs=-1)
@registry_option
@station_option
@json_option
def ship(serials, registry_opt, station, as_json):
    """Mark verified tags shipped (all or none)."""
    _move_all(serials, "shipped", registry_opt, station, None, as_json)


@registry.command()
@click.argument("serials", nargs=-1)
@click.option("--reason", required=True, help="Why (spoiled, recalled, stolen, ...): kept in the history.")
@registry_option
@station_option
@json_option
def void(serials, reason, registry_opt, station, as_json):
    """Void tags for good (all or none); a voided serial is never issued again."""
    _move_all(serials, "void", registry_opt, station, {"reason": reason}, as_json)


@registry.command()
@registry_option
@json_option
def summary(registry_opt, as_json):
    """How many tags are in each state."""
    from lasergen.registry import STATES

    with opened(registry_opt) as reg:
        counts = reg.counts()
        where = reg.where
    result = {"registry": where, "counts": {s: counts.get(s, 0) for s in STATES}, "total": sum(counts.values())}
    emit(result, as_json, f"{where}: {result['total']} tag(s): "
                          + ", ".join(f"{n} {s}" for s, n in result["counts"].items() if n))
