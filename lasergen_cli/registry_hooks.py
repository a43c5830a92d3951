"""The registry's hooks into commands other areas own: `stream` and `check-photo`.

Each command gains `--registry` (default $LASERGEN_REGISTRY; no registry, no effect) and
calls one function here. `stream`: `before_stream` runs before the port opens and refuses a
job the registry does not know, a job file that differs from the planned one (sha256), and
a tag already written (a second physical tag with one serial is a clone); `after_stream`
marks it written (station, device identity, journal, ledger sha256, gaps) or failed (the
stop's reason). `check-photo`: `record_scan` stores the field check and its clone flags, and
moves a written tag to verified when a cryptographic check passed.
"""

from __future__ import annotations

import hashlib
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import click

from lasergen import LasergenError


def registry_options(f, place: bool = False):
    if place:
        f = click.option("--place", default=None, callback=_check_place,
                         help="Where this check happens: NAME, LAT,LON or NAME@LAT,LON (degrees), for clone flags; "
                              "default: none.")(f)
    f = click.option("--station", "registry_station", default=None,
                     help="This station's name for the registry (default $LASERGEN_STATION, else the host name).")(f)
    return click.option("--registry", "registry_opt", default=None,
                        help="Record the result in this tag registry (SQLite file or postgresql:// URL; default "
                             "$LASERGEN_REGISTRY, else none).")(f)


def scan_options(f):
    return registry_options(f, place=True)


def _check_place(ctx, param, value):
    from lasergen.registry.clones import parse_place

    parse_place(value)
    return value


def _open(target: str):
    from lasergen.registry import open_registry

    with _database_errors(target):
        return open_registry(target)


@contextmanager
def _database_errors(target: str):
    from lasergen.registry import DatabaseError

    try:
        yield
    except DatabaseError as exc:
        raise LasergenError(f"registry {target}: database error: {exc}") from None


def job_serial(manifest: dict) -> str | None:
    """The serial a tag job carries: the signed message, else the QR payload."""
    promises = manifest.get("promises") or {}
    if promises.get("source") != "qr":
        return None
    return (promises.get("signed") or {}).get("message") or promises.get("payload")


@dataclass
class StreamRecord:
    registry: object
    serial: str
    station: str


def before_stream(job: str, registry_opt: str | None, station: str | None) -> StreamRecord | None:
    from lasergen.job import read_job
    from lasergen.registry import registry_target, station_name

    target = registry_target(registry_opt)
    if target is None:
        return None
    data = Path(job).read_bytes()
    serial = job_serial(read_job(job).manifest)
    if serial is None:
        raise LasergenError(f"registry: {job} is not a tag job (no serial in its manifest): stream it without "
                            f"--registry (and unset LASERGEN_REGISTRY)")
    reg = _open(target)
    try:
        tag = reg.tag(serial)
        if tag is None:
            raise LasergenError(f"registry: {serial} is not in the registry {reg.where}: plan it with "
                                f"`lasergen batch --registry`")
        if tag["job_sha256"] != hashlib.sha256(data).hexdigest():
            raise LasergenError(f"registry: {job} is not the job planned for {serial} (sha256 differs): "
                                f"get it with `lasergen registry job {serial} -o FILE`")
        if tag["state"] not in ("planned", "failed"):
            raise LasergenError(f"registry: {serial} is already {tag['state']} (on {tag['written_station']}): "
                                f"writing it again would make a second tag with the same serial")
    except BaseException:
        reg.close()
        raise
    return StreamRecord(reg, serial, station_name(station))


def _device(runner, result: dict | None) -> str:
    result = result or {}
    for value in (result.get("device"), result.get("device_id"), getattr(runner, "device_identity", None)):
        if value:
            return value if isinstance(value, str) else str(value)
    return str(getattr(runner, "port", ""))


def _sha256_file(path: str | None) -> str | None:
    if not path or not Path(path).is_file():
        return None
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def after_stream(record: StreamRecord | None, runner, result: dict | None = None, error: BaseException | None = None):
    """Mark the tag written (or failed, with the stop's reason). Never masks the stream's own error."""
    if record is None:
        return
    journal = getattr(runner, "journal_path", None)
    journal = str(Path(journal).resolve()) if journal else None
    reg = record.registry
    try:
        with _database_errors(reg.where):
            if error is not None:
                reg.mark_failed(record.serial, record.station, (str(error).splitlines() or [repr(error)])[0],
                                _device(runner, None), journal)
                click.echo(f"registry: {record.serial} marked failed", err=True)
                return
            gaps = {"uncertain": list(result.get("uncertain", [])), "partial": list(result.get("partial", []))}
            reg.mark_written(record.serial, record.station, _device(runner, result), journal,
                             _sha256_file(result.get("ledger")), gaps)
            result["registry"] = {"serial": record.serial, "state": "written"}
    except LasergenError as exc:
        if error is None:
            raise
        click.echo(f"lasergen: warning: registry not updated: {exc}", err=True)
    finally:
        reg.close()


def record_scan(result: dict, registry_opt: str | None, station: str | None, place: str | None) -> None:
    """Record a check-photo verdict as a scan of the serial it decoded; verify a written tag it proves genuine."""
    from lasergen.registry import registry_target, station_name
    from lasergen.security.signing import split_signed

    target = registry_target(registry_opt)
    if target is None:
        return
    checks = result.get("checks", {})
    parts = split_signed(result["payload"])
    serial = parts[0] if parts else result["payload"]
    crypto = [name for name in ("signature", "hidden") if name in checks]
    detail = {"checks": {name: bool(c["ok"]) for name, c in checks.items()},
              "signature_ok": checks["signature"]["ok"] if "signature" in checks else None,
              "verdict": result.get("verdict")}
    station = station_name(station)
    reg = _open(target)
    try:
        with _database_errors(reg.where):
            recorded = reg.record_scan(serial, station, bool(result["ok"]), result.get("confidence"), detail, place)
            state = recorded["state"]
            if state == "written" and result["ok"] and crypto:
                reg.mark_verified(serial, station, result.get("confidence"),
                                  {"checks": detail["checks"], "confidence": result.get("confidence")})
                state = "verified"
    finally:
        reg.close()
    result["registry"] = {"serial": serial, "state": state, "flags": recorded["flags"]}
    click.echo(f"registry: scan of {serial} recorded ({state or 'not issued'})", err=True)
    if recorded["flags"]:
        click.echo(f"lasergen: warning: {serial} flagged as a possible clone: {'; '.join(recorded['flags'])}", err=True)
