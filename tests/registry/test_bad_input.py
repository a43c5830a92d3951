"""Bad input to batch and the registry: one line on stderr, exit 2, nothing half-written."""

import sqlite3
import subprocess
import sys

import pytest
from click.testing import CliRunner

from lasergen_cli import main


def cli(*args):
    result = CliRunner().invoke(main, [str(a) for a in args], env={"LASERGEN_KEY": "", "LASERGEN_REGISTRY": ""})
    return result.exit_code, result.stderr


@pytest.fixture
def registry_file(tmp_path):
    path = tmp_path / "reg.db"
    assert cli("registry", "init", "--registry", path)[0] == 0
    return path


@pytest.mark.parametrize("args, message", [
    (("--serials", "SN", "--count", 5), "needs exactly one integer counter"),
    (("--serials", "SN-%07d-%d", "--count", 5), "needs exactly one integer counter"),
    (("--serials", "SN-%03d", "--count", 2000), "overflow 'SN-%03d'"),
    (("--serials", "SN-%03d", "--count", 5, "--start", 998), "the template ends at SN-999 (2 fit)"),
    (("--serials", "SN-%03d", "--count", 5, "--registry", "{junk}"), "is not a lasergen registry"),
    (("--serials", "SN-%03d", "--count", 5, "--registry", "{foreign}"), "is not a lasergen registry"),
    (("--serials", "SN-%03d", "--count", 5, "--registry", "{missing}"), "does not exist: create it with"),
    (("--serials", "SN-%03d", "--count", 5, "--registry", "postgresql://u:pw@127.0.0.1:1/x"),
     "cannot connect to PostgreSQL at postgresql://u:***@127.0.0.1:1/x"),
    (("--serials", "SN-%03d", "--count", 5, "--executor", "ray://x"), "expected process, thread or dask://"),
    (("--serials", "SN-%03d", "--count", 5, "--executor", "dask://127.0.0.1:1"), "cannot reach the Dask scheduler"),
    (("--serials", "SN-%03d", "--count", 5, "--workers", 0), "--workers: worker processes must be an integer within 1"),
])
def test_batch_bad_input(tmp_path, registry_file, args, message):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 100)
    foreign = tmp_path / "foreign.db"
    sqlite3.connect(foreign).execute("CREATE TABLE t (x)").connection.commit()
    before = {p: p.read_bytes() for p in (junk, foreign, registry_file)}
    paths = {"junk": junk, "foreign": foreign, "missing": tmp_path / "missing.db"}
    args = [str(a).format(**paths) for a in args]
    code, err = cli("batch", *args, "--out", tmp_path / "tags")
    assert code == 2 and err.startswith("lasergen: error:") and err.count("\n") == 1, err
    assert message in err, err
    assert "pw@" not in err
    assert not (tmp_path / "tags").exists() and not (tmp_path / "missing.db").exists()
    assert {p: p.read_bytes() for p in before} == before


@pytest.mark.parametrize("args, message", [
    (("show", "SN-1", "--registry", "{junk}"), "is not a lasergen registry"),
    (("show", "SN-1", "--registry", "{reg}"), "is not in the registry"),
    (("job", "SN-1", "-o", "{tmp}/x.gcode", "--registry", "{reg}"), "is not in the registry"),
    (("export", "--state", "sent", "--registry", "{reg}"), "unknown state 'sent'"),
    (("export", "--since", "yesterday", "--registry", "{reg}"), "--since: expected an ISO date"),
    (("export", "-o", "{tmp}/no/such/x.csv", "--registry", "{reg}"), "output folder"),
    (("void", "--reason", "x", "--registry", "{reg}"), "give at least one serial"),
    (("migrate", "--registry", "{tmp}/typo.db"), "does not exist"),
    (("init", "--registry", "{tmp}/no/such/reg.db"), "does not exist"),
])
def test_registry_bad_input(tmp_path, registry_file, args, message):
    junk = tmp_path / "junk.db"
    junk.write_bytes(b"\x00garbage" * 100)
    args = [a.format(junk=junk, reg=registry_file, tmp=tmp_path) for a in args]
    code, err = cli("registry", *args)
    assert code == 2 and err.startswith("lasergen: error:") and err.count("\n") == 1, err
    assert message in err, err
    assert not (tmp_path / "typo.db").exists()


def test_check_photo_refuses_a_bad_place_before_looking(tmp_path):
    code, err = cli("check-photo", tmp_path / "missing.png", "--place", "Lyon@north", "--registry", tmp_path / "r.db")
    assert code == 2 and "--place 'Lyon@north'" in err


def batch_process(target, start, out):
    return subprocess.Popen([sys.executable, "-m", "lasergen", "batch", "--serials", "C-%05d", "--count", "40",
                             "--start", str(start), "--registry", target, "--out", str(out), "--workers", "1",
                             "--executor", "thread", "--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)


def test_two_batch_processes_on_overlapping_ranges_issue_each_serial_once(tmp_path, target):
    import csv
    import json

    assert CliRunner().invoke(main, ["registry", "init", "--registry", target]).exit_code == 0
    procs = [batch_process(target, start, tmp_path / f"station{start}") for start in (0, 20)]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=300)
        assert p.returncode == 0, err
        results.append(json.loads(out))
    manifests = [{r["serial"] for r in csv.DictReader(open(tmp_path / f"station{s}" / "manifest.csv"))}
                 for s in (0, 20)]
    assert not manifests[0] & manifests[1]
    assert manifests[0] | manifests[1] == {f"C-{i:05d}" for i in range(60)}
    assert sum(r["jobs"] for r in results) == 60 and sum(r["skipped"] for r in results) == 20
