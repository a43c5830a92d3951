"""Batch throughput: signed QR tag jobs per minute with 2 worker processes (target >= 10,000).

    python benchmarks/batch_bench.py [--count 10000] [--workers 2] [--hidden]
Plans `--count` signed tags (SN-%06d) into a temporary folder and prints jobs/minute (wall
clock), the workers' CPU time per job, and the rate that CPU time allows on two free cores.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from lasergen.batch import BatchConfig, run_batch, serials
from lasergen.security.signing import private_pem
from lasergen.security.tag import TagOptions


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=10000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--hidden", action="store_true", help="also add a keyed hidden layer")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        config = BatchConfig(Path(tmp) / "tags", TagOptions(), sign_pem=private_pem(Ed25519PrivateKey.generate()),
                             hidden_key=os.urandom(32) if args.hidden else None)
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        result = run_batch(serials("SN-%06d", args.count), config, workers=args.workers)
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu_s = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        # CPU per job in the workers: a load-independent figure (other processes share the cores)
        result["worker_cpu_ms_per_job"] = round(1000 * cpu_s / args.count, 2)
        result["jobs_per_minute_if_2_cores_free"] = round(2 * 60_000 / (1000 * cpu_s / args.count), 1)
        result["load_average_1min"] = round(os.getloadavg()[0], 2)
        sizes = [p.stat().st_size for p in config.out_dir.glob("*.gcode")]
        result["mean_job_bytes"] = round(sum(sizes) / len(sizes))
        result["hidden"] = args.hidden
        result.pop("out"), result.pop("manifest")
    print(json.dumps(result))


if __name__ == "__main__":
    main()
