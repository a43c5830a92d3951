"""Batches of security tags: unique serials, signed (and optionally keyed), planned in parallel.

Serials come from a printf template (`SN-%06d`) over a range; they must be unique. Work is
split into chunks handed to a `ProcessPoolExecutor`; each worker loads the machine profile and
keys once (pool initializer) and then, per serial: sign, encode (vectorised mask search),
plan, emit, write, hash. Only the CSV rows travel back, so inter-process traffic is small.
The parent writes `manifest.csv` (serial, file, sha256, payload, estimated_time_s) in serial
order. Keys reach workers through the initializer, never through a file or the manifest.
Trade-off: chunks of ~250 jobs amortise task overhead while keeping both workers busy to the end.
"""

from __future__ import annotations

import csv
import hashlib
import re
import time
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from lasergen import LasergenError
from lasergen.job import holds_secret, open_job_file, parse_header, render_job
from lasergen.machine import MachineProfile
from lasergen.planner import plan
from lasergen.security.tag import TagOptions, tag_pattern

CSV_FIELDS = ("serial", "file", "sha256", "payload", "estimated_time_s")
SAFE_NAME = re.compile(r"[^A-Za-z0-9._-]")
CHUNK = 250
HEADER_LINES_MAX = 400  # a tag manifest is ~50 header lines


@dataclass
class BatchConfig:
    out_dir: Path
    options: TagOptions
    machine: str = "default"
    material: str = "BrI"
    sign_pem: bytes | None = None
    hidden_key: bytes | None = None


def serials(template: str, count: int, start: int = 0) -> list[str]:
    if count < 1:
        raise LasergenError(f"batch: count must be >= 1, got {count}")
    try:
        out = [template % i for i in range(start, start + count)]
    except (TypeError, ValueError) as exc:
        raise LasergenError(f"batch: serial template {template!r} needs one integer field such as %06d ({exc})") from None
    if len(set(out)) != len(out):
        raise LasergenError(f"batch: template {template!r} gives duplicate serials over {start}..{start + count - 1}")
    return out


_worker: dict = {}


def _init(config: BatchConfig) -> None:
    from cryptography.hazmat.primitives import serialization

    _worker["config"] = config
    _worker["machine"] = MachineProfile.load(config.machine)
    _worker["sign"] = (serialization.load_pem_private_key(config.sign_pem, password=None)
                       if config.sign_pem else None)


def job_file_name(serial: str) -> str:
    return SAFE_NAME.sub("_", serial) + ".gcode"


def make_one(serial: str) -> tuple:
    """Plan and write one tag job; returns its CSV row."""
    config: BatchConfig = _worker["config"]
    machine = _worker["machine"]
    pattern = tag_pattern(serial, config.options, _worker["sign"], config.hidden_key, material=config.material)
    text = render_job(pattern, plan(pattern, machine), machine, config.material)
    name = job_file_name(serial)
    data = text.encode()
    with open_job_file(config.out_dir / name, holds_secret(pattern)) as fh:  # keyed jobs: 0600
        fh.write(data)
    manifest, _ = parse_header(text.split("\n", HEADER_LINES_MAX))
    return serial, name, hashlib.sha256(data).hexdigest(), pattern.meta["payload"], manifest["estimate"]["time_s"]


def _run_chunk(chunk: list[str]) -> list[tuple]:
    return [make_one(s) for s in chunk]


def run_batch(names: list[str], config: BatchConfig, workers: int = 2, chunk: int = CHUNK) -> dict:
    """Write every job and `manifest.csv` into config.out_dir; returns counts and the rate."""
    config.out_dir.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    chunks = [names[i:i + chunk] for i in range(0, len(names), chunk)]
    if workers <= 1:
        _init(config)
        results = [_run_chunk(c) for c in chunks]
    else:
        with ProcessPoolExecutor(max_workers=workers, initializer=_init, initargs=(config,)) as pool:
            results = list(pool.map(_run_chunk, chunks))
    manifest = config.out_dir / "manifest.csv"
    with manifest.open("w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(CSV_FIELDS)
        for rows in results:
            writer.writerows(rows)
    elapsed = time.perf_counter() - t0
    return {"jobs": len(names), "out": str(config.out_dir), "manifest": str(manifest), "elapsed_s": round(elapsed, 3),
            "jobs_per_minute": round(60 * len(names) / elapsed, 1), "workers": workers}
