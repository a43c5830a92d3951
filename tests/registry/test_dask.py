"""`batch --executor dask://...` on a local Dask cluster gives the very jobs a local process pool gives."""

import csv
import json

import pytest
from click.testing import CliRunner

from lasergen_cli import main

distributed = pytest.importorskip("distributed")


def test_batch_on_a_local_dask_cluster_matches_the_process_pool(tmp_path):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from lasergen.security.signing import private_pem

    pem = tmp_path / "k.pem"
    pem.write_bytes(private_pem(Ed25519PrivateKey.generate()))
    args = ["batch", "--serials", "D-%04d", "--count", "12", "--sign", str(pem), "--json"]
    run = lambda *extra: CliRunner().invoke(main, [*args, *extra], env={"LASERGEN_REGISTRY": ""})
    local = run("--out", str(tmp_path / "local"), "--workers", "2")
    assert local.exit_code == 0, local.output
    with distributed.LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None,
                                  host="127.0.0.1") as cluster:
        address = cluster.scheduler_address.removeprefix("tcp://")
        remote = run("--out", str(tmp_path / "dask"), "--executor", f"dask://{address}")
    assert remote.exit_code == 0, remote.output
    result = json.loads(remote.stdout)
    assert result["jobs"] == 12 and result["executor"].startswith("dask tcp://127.0.0.1")
    rows = lambda folder: [(r["serial"], r["sha256"]) for r in csv.DictReader(open(tmp_path / folder / "manifest.csv"))]
    assert rows("dask") == rows("local")  # Ed25519 and the planner are deterministic: the same bytes
