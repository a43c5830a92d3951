"""A batch run: serials -> (skip the issued) -> sign -> plan on an executor -> pack -> claim -> manifest.

The parent walks the serial range in chunks. Per chunk it drops the serials the folder's
manifest or the registry already lists, signs the rest (the private key stays here), and
submits them to the executor; at most IN_FLIGHT chunks wait, so memory stays bounded on a
million tags. Results are consumed in submission order: jobs go to disk first (pack records
or files), then the registry claims them in one atomic statement, then their manifest rows
are appended. A serial another station claimed in between is dropped (its pack record stays
unreferenced) and counted with the skipped ones: the registry decides, nothing is overwritten.
Trade-off: chunks of ~250 jobs amortise task overhead while keeping both workers busy to the end.
"""

from __future__ import annotations

import hashlib
import time
from collections import deque
from concurrent.futures import Executor
from contextlib import nullcontext
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from lasergen.batch.executors import make_executor
from lasergen.batch.folder import BatchFolder
from lasergen.batch.plan import PlanSpec, plan_chunk, render_tag
from lasergen.batch.serials import SerialRange
from lasergen.machine import MachineProfile
from lasergen.security import hidden
from lasergen.security.signing import sign_message
from lasergen.security.tag import TagOptions

CHUNK = 250
IN_FLIGHT_PER_WORKER = 2


@dataclass
class BatchConfig:
    out_dir: Path
    options: TagOptions
    machine: str = "default"
    material: str = "BrI"
    sign_pem: bytes | None = None
    hidden_key: bytes | None = None
    layout: str = "pack"
    station: str = ""


def public_key_id(private_key) -> str:
    from cryptography.hazmat.primitives import serialization

    raw = private_key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    return hashlib.sha256(b"lasergen-key-id\x00" + raw).hexdigest()[:12]


def batch_params(config: BatchConfig, machine: MachineProfile, sign_key) -> dict:
    """What the registry keeps about how the batch's tags were planned: never a key, only key ids."""
    from lasergen.security.tag import module_recipes

    return {"machine": machine.to_manifest(), "material": config.material,
            "options": {k: (list(v) if isinstance(v, tuple) else v) for k, v in asdict(config.options).items()},
            "recipes": {n: r.to_dict() for n, r in module_recipes(config.options.module_um).items()
                        if n in ("write", "rewrite")},
            "sign_key_id": public_key_id(sign_key) if sign_key is not None else None,
            "hidden_key_id": hidden.key_id(config.hidden_key) if config.hidden_key is not None else None}


def run_batch(names, config: BatchConfig, workers: int = 2, chunk: int = CHUNK, executor: Executor | str | None = None,
              registry=None, progress=None) -> dict:
    """Plan every serial of `names` (a SerialRange or a list) not already issued; returns counts and the rate.

    `executor`: an Executor to use as is, or a spec for `make_executor` ("process", "thread",
    "dask://HOST:PORT"). `progress(done, total)` is called after each chunk.
    """
    t0 = time.perf_counter()
    folder = BatchFolder(config.out_dir, config.layout, private=config.hidden_key is not None)
    folder.check()
    machine = MachineProfile.load(config.machine)
    sign_key = _load_sign_key(config.sign_pem)
    given = nullcontext((executor, type(executor).__name__)) if isinstance(executor, Executor) else None
    with given or make_executor(executor, workers) as (pool, how):  # a bad spec or scheduler: before any file
        known = folder.open()
        try:
            counts = _Counts(len(names))
            folder.refuse_strays(names, known)
            batch_id = None
            if registry is not None:
                template, first = (names.template, names.start) if isinstance(names, SerialRange) else ("(list)", 0)
                batch_id = registry.begin_batch(config.station, template, first, len(names), config.layout,
                                                str(folder.path.resolve()), batch_params(config, machine, sign_key))
            spec = PlanSpec(config.options, machine, config.material, config.hidden_key, sign_key is not None,
                            config.layout)
            chunks = names.chunks(chunk) if isinstance(names, SerialRange) else \
                (list(names[i:i + chunk]) for i in range(0, len(names), chunk))
            _pipeline(chunks, pool, max(2, IN_FLIGHT_PER_WORKER * workers), spec, sign_key, folder, known, registry,
                      batch_id, counts, progress)
            if registry is not None:
                registry.finish_batch(batch_id, counts.issued, counts.skipped)
        finally:
            folder.close()
    elapsed = time.perf_counter() - t0
    return {"jobs": counts.issued, "requested": len(names), "skipped": counts.skipped,
            "skipped_in_folder": counts.in_folder, "skipped_in_registry": counts.in_registry,
            "claimed_elsewhere": counts.elsewhere, "out": str(folder.path), "manifest": str(folder.manifest),
            "layout": config.layout, "pack": str(folder.pack) if config.layout == "pack" else None,
            "batch_id": batch_id, "elapsed_s": round(elapsed, 3),
            "jobs_per_minute": round(60 * counts.issued / elapsed, 1) if elapsed > 0 else 0.0,
            "workers": workers, "executor": how}


class _Counts:
    def __init__(self, total: int):
        self.total, self.done, self.issued = total, 0, 0
        self.in_folder = self.in_registry = self.elsewhere = 0

    @property
    def skipped(self) -> int:
        return self.in_folder + self.in_registry + self.elsewhere


def _load_sign_key(pem: bytes | None):
    if pem is None:
        return None
    from cryptography.hazmat.primitives import serialization

    return serialization.load_pem_private_key(pem, password=None)


def _pipeline(chunks, pool, in_flight, spec, sign_key, folder, known, registry, batch_id, counts, progress):
    waiting: deque = deque()
    for names in chunks:
        fresh = [s for s in names if s not in known]
        counts.in_folder += len(names) - len(fresh)
        if registry is not None and fresh:
            taken = registry.issued(fresh)
            counts.in_registry += len(taken)
            fresh = [s for s in fresh if s not in taken]
        items = [(s, sign_message(s, sign_key) if sign_key is not None else s) for s in fresh]
        if items and spec.layout == "pack" and not spec.dictionary:
            spec = replace(spec, dictionary=folder.start_pack(render_tag(spec, *items[0])))
        waiting.append((len(names), pool.submit(plan_chunk, spec, items) if items else None))
        while len(waiting) >= in_flight:
            _land(*waiting.popleft(), folder, registry, batch_id, counts, progress)
    while waiting:
        _land(*waiting.popleft(), folder, registry, batch_id, counts, progress)


def _land(size, future, folder, registry, batch_id, counts, progress):
    rows = future.result() if future is not None else []
    if rows:
        where = folder.write(rows)
        keep = [True] * len(rows)
        if registry is not None:
            claimed = registry.claim(batch_id, [(r[0], r[1], r[3], off, n) for r, (_, off, n) in zip(rows, where)])
            keep = [r[0] in claimed for r in rows]
            lost = [(r, w) for r, w, k in zip(rows, where, keep) if not k]
            folder.discard([r for r, _ in lost], [w for _, w in lost])
            counts.elsewhere += len(lost)
        rows_kept = [r for r, k in zip(rows, keep) if k]
        folder.append_manifest(rows_kept, [w for w, k in zip(where, keep) if k])
        counts.issued += len(rows_kept)
    counts.done += size
    if progress is not None:
        progress(counts.done, counts.total)
