"""Batch throughput with the tag registry in the loop, and a million serials claimed.

    python benchmarks/batch_bench.py [--count 10000] [--workers 2] [--hidden] [--registry none|sqlite|postgresql]
    python benchmarks/batch_bench.py --claim 1000000 --registry sqlite|postgresql
The first form plans `--count` signed tags (SN-%07d) into a pack in a temporary folder, the
registry claiming every one, and prints jobs/minute (wall clock), the workers' CPU time per
job, the rate that CPU time allows on two free cores, and the pack's bytes per tag. The second
claims `--claim` serials (rows as a batch writes them: job sha256, estimate, pack offset and
length) in chunks of 10,000 and prints the time and the database size. PostgreSQL: the
server of `--postgres-url`, else a throw-away one (tests/registry/pgserver.py) on loopback.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import resource
import sys
import tempfile
import time
from contextlib import contextmanager
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lasergen.batch import BatchConfig, SerialRange, run_batch
from lasergen.registry import open_registry
from lasergen.security.signing import private_pem
from lasergen.security.tag import TagOptions

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "registry"))


@contextmanager
def registry_target(kind: str, folder: Path, url: str | None):
    if kind == "none":
        yield None
    elif kind == "sqlite":
        yield str(folder / "reg.db")
    elif url:
        yield url
    else:
        import pgserver

        server, where = pgserver.start()
        try:
            yield server
        finally:
            pgserver.stop(where)


def database_bytes(reg) -> int:
    if reg.d.NAME == "sqlite":
        return sum(os.path.getsize(p) for p in (reg.target, reg.target + "-wal") if os.path.exists(p))
    cur = reg.conn.cursor()
    cur.execute("SELECT pg_total_relation_size('tags')")
    return int(cur.fetchone()[0])


def bench_batch(args, folder: Path, target: str | None) -> dict:
    reg = open_registry(target, create=True) if target else None
    config = BatchConfig(folder / "tags", TagOptions(), sign_pem=private_pem(Ed25519PrivateKey.generate()),
                         hidden_key=os.urandom(32) if args.hidden else None, station="bench")
    cpu = lambda who: (lambda r: r.ru_utime + r.ru_stime)(resource.getrusage(who))
    children0, self0 = cpu(resource.RUSAGE_CHILDREN), cpu(resource.RUSAGE_SELF)
    result = run_batch(SerialRange("SN-%07d", 0, args.count), config, workers=args.workers, registry=reg)
    worker_s, parent_s = cpu(resource.RUSAGE_CHILDREN) - children0, cpu(resource.RUSAGE_SELF) - self0
    # CPU per job: a load-independent figure (other processes share the cores). The parent signs,
    # claims in the registry and appends to the pack; the workers plan; all of it shares the 2 cores.
    result["worker_cpu_ms_per_job"] = round(1000 * worker_s / args.count, 2)
    result["parent_cpu_ms_per_job"] = round(1000 * parent_s / args.count, 2)
    result["jobs_per_minute_if_2_cores_free"] = round(2 * 60 * args.count / (worker_s + parent_s), 1)
    result["pack_bytes_per_tag"] = round(os.path.getsize(result["pack"]) / max(1, result["jobs"]))
    result["registry_engine"] = reg.d.NAME if reg else None
    if reg:
        result["registry_bytes_per_tag"] = round(database_bytes(reg) / args.count)
        assert reg.counts() == {"planned": args.count}
        reg.close()
    for key in ("out", "manifest", "pack"):
        result.pop(key)
    return result


def bench_claim(args, target: str) -> dict:
    with open_registry(target, create=True) as reg:
        batch = reg.begin_batch("bench", "SN-%07d", 0, args.claim, "pack", "/bench", {})
        t0 = time.perf_counter()
        for names in SerialRange("SN-%07d", 0, args.claim).chunks(10_000):
            rows = [(s, hashlib.sha256(s.encode()).hexdigest(), 56.5, 2100 * i, 2100) for i, s in enumerate(names)]
            assert len(reg.claim(batch, rows)) == len(rows)
        elapsed = time.perf_counter() - t0
        size = database_bytes(reg)
        return {"engine": reg.d.NAME, "claimed": args.claim, "elapsed_s": round(elapsed, 1),
                "claims_per_s": round(args.claim / elapsed), "database_bytes": size,
                "bytes_per_tag": round(size / args.claim, 1)}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hidden", action="store_true", help="also add a keyed hidden layer")
    ap.add_argument("--registry", choices=["none", "sqlite", "postgresql"], default="sqlite")
    ap.add_argument("--postgres-url", default=None)
    ap.add_argument("--claim", type=int, default=0, help="claim this many serials instead of planning jobs")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp, registry_target(args.registry, Path(tmp), args.postgres_url) as target:
        result = bench_claim(args, target) if args.claim else bench_batch(args, Path(tmp), target)
    result["load_average_1min"] = round(os.getloadavg()[0], 2)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
