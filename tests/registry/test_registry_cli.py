"""The issue's walkthrough on both engines: init, batch (overlap skipped), job from the pack,
stream through sim:// (written, then refused), check-photo scans (verified, then flagged as a
clone in another city), show, export, ship, void; and the failure and progress paths."""

import csv
import hashlib
import json
import os
from pathlib import Path

from click.testing import CliRunner
from cryptography.hazmat.primitives.serialization import load_pem_private_key

from lasergen.batch import read_manifest_job
from lasergen.security.hidden import key_id, load_key
from lasergen.security.tag import TagOptions, tag_pattern
from lasergen_cli import main
from tagphotos import render_views


def cli(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env={"LASERGEN_KEY": "", "LASERGEN_REGISTRY": "",
                                                                   **(env or {})})
    return result.exit_code, result.stdout, result.stderr


def ok(*args, **kw):
    code, out, err = cli(*args, **kw)
    assert code == 0, (args, out, err)
    return out, err


def manifest_rows(folder):
    with open(folder / "manifest.csv", newline="") as fh:
        return list(csv.DictReader(fh))


def test_walkthrough(tmp_path, target, monkeypatch):
    monkeypatch.chdir(tmp_path)
    keys = tmp_path / "keys"
    ok("keygen", "--out", keys)
    reg = ("--registry", target)
    assert "schema v2, created" in ok("registry", "init", *reg)[0]
    sign = ("--sign", keys / "ed25519.pem", "--hidden-key", keys / "hidden.key")
    ok("batch", "--serials", "SN-%07d", "--count", 6, *sign, *reg, "--out", "tags", "--station", "A")
    out, _ = ok("batch", "--serials", "SN-%07d", "--count", 6, "--start", 4, *sign, *reg, "--out", "tags2",
                "--station", "B", "--json")
    second = json.loads(out)
    assert (second["jobs"], second["skipped"], second["skipped_in_registry"]) == (4, 2, 2)
    assert [r["serial"] for r in manifest_rows(tmp_path / "tags2")] == [f"SN-{i:07d}" for i in range(6, 10)]
    assert sorted(os.listdir(tmp_path / "tags")) == [".batch.lock", "jobs.lgpack", "manifest.csv"]

    ok("registry", "job", "SN-0000003", "-o", "SN-0000003.gcode", *reg)
    row = next(r for r in manifest_rows(tmp_path / "tags") if r["serial"] == "SN-0000003")
    assert hashlib.sha256((tmp_path / "SN-0000003.gcode").read_bytes()).hexdigest() == row["sha256"]
    assert (tmp_path / "SN-0000003.gcode").stat().st_mode & 0o077 == 0  # a keyed job stays private
    assert read_manifest_job(tmp_path / "tags", "SN-0000003") == (tmp_path / "SN-0000003.gcode").read_bytes()

    ok("stream", "SN-0000003.gcode", "--port", "sim://", *reg, "--station", "laser-1")
    code, _, err = cli("stream", "SN-0000003.gcode", "--port", "sim://", *reg, "--journal", "again.journal")
    assert code == 2 and "already written (on laser-1)" in err and err.count("\n") == 1
    shown = json.loads(ok("registry", "show", "SN-0000003", *reg, "--json")[0])
    tag = shown["tag"]
    assert tag["state"] == "written" and tag["written_station"] == "laser-1" and tag["device"].startswith("grbl-")  # its identity, not the port
    assert Path(tag["journal"]).name.startswith("SN-0000003.gcode.grbl-") and tag["journal"].endswith(".journal")  # per device
    assert len(tag["ledger_sha256"]) == 64
    assert shown["batch"]["params"]["hidden_key_id"] == key_id(load_key(keys / "hidden.key"))
    assert load_key(keys / "hidden.key").hex() not in json.dumps(shown)

    # photos of that tag, checked at the station (verifies it) and then in two cities ten minutes apart
    pattern = tag_pattern("SN-0000003", TagOptions(),
                          load_pem_private_key((keys / "ed25519.pem").read_bytes(), None),
                          load_key(keys / "hidden.key"))
    views = render_views(pattern)
    views["uv365"].save(tmp_path / "uv.png")
    views["uv365_lp645"].save(tmp_path / "f.png")
    check = ("check-photo", tmp_path / "uv.png", tmp_path / "f.png", "--key", keys / "hidden.key",
             "--pubkey", keys / "ed25519.pub.pem", *reg)
    _, err = ok(*check, "--station", "laser-1")
    assert "recorded (verified)" in err
    ok(*check, "--place", "Lyon@45.76,4.84")
    code, out, err = cli(*check, "--place", "Paris@48.86,2.35", "--json")
    assert code == 0 and "flagged as a possible clone: travel: scanned at Lyon" in err
    assert json.loads(out)["registry"]["flags"][0].startswith("travel:")
    text, _ = ok("registry", "show", "SN-0000003", *reg)
    assert "verified since" in text and "scans: 3" in text and "FLAGGED as a possible clone:" in text
    assert "392 km apart" in text

    # export: every row without --state, filters with it
    ok("registry", "export", *reg, "-o", "all.csv")
    rows = list(csv.DictReader(open("all.csv")))
    assert len(rows) == 10 and {r["state"] for r in rows} == {"planned", "verified"}
    ok("registry", "export", *reg, "--state", "verified", "--since", "2000-01-01", "-o", "v.csv")
    assert [r["serial"] for r in csv.DictReader(open("v.csv"))] == ["SN-0000003"]
    ok("registry", "export", *reg, "--flagged", "-o", "f.csv")
    assert len(list(csv.DictReader(open("f.csv")))) == 1

    code, _, err = cli("registry", "ship", "SN-0000003", "SN-0000004", *reg)
    assert code == 2 and "SN-0000004 is planned, it cannot become shipped" in err
    ok("registry", "ship", "SN-0000003", *reg)
    ok("registry", "void", "SN-0000004", "--reason", "spoiled", *reg)
    summary = json.loads(ok("registry", "summary", *reg, "--json")[0])
    assert summary["counts"]["shipped"] == 1 and summary["counts"]["void"] == 1 and summary["total"] == 10


def test_a_stopped_stream_marks_the_tag_failed(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    reg = ("--registry", tmp_path / "reg.db")
    ok("registry", "init", *reg)
    ok("batch", "--serials", "T-%03d", "--count", 1, *reg, "--out", "t", "--workers", 1)
    ok("registry", "job", "T-000", "-o", "t.gcode", *reg)
    code, _, err = cli("stream", "t.gcode", "--port", "sim://?alarm_on=20:1", *reg)
    assert code == 2 and "marked failed" in err
    shown = json.loads(ok("registry", "show", "T-000", *reg, "--json")[0])
    assert shown["tag"]["state"] == "failed" and "ALARM" in shown["events"][-1]["detail"]["reason"]


def test_stream_refuses_a_job_the_registry_does_not_know(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    ok("registry", "init", "--registry", "reg.db")
    ok("qr", "SN-0000001", "-o", "adhoc.gcode")
    code, _, err = cli("stream", "adhoc.gcode", "--port", "sim://", env={"LASERGEN_REGISTRY": "reg.db"})
    assert code == 2 and "SN-0000001 is not in the registry" in err
    assert not (tmp_path / "adhoc.gcode.journal").exists()


def test_batch_folders_are_appended_never_overwritten(tmp_path):
    out = tmp_path / "tags"
    ok("batch", "--serials", "S-%04d", "--count", 3, "--out", out, "--layout", "files", "--workers", 1)
    before = manifest_rows(out)
    text, _ = ok("batch", "--serials", "S-%04d", "--count", 5, "--out", out, "--layout", "files", "--workers", 1)
    assert "3 already issued, skipped" in text
    rows = manifest_rows(out)
    assert rows[:3] == before and [r["serial"] for r in rows] == [f"S-{i:04d}" for i in range(5)]
    for r in rows:
        assert hashlib.sha256((out / r["file"]).read_bytes()).hexdigest() == r["sha256"]
        assert read_manifest_job(out, r["serial"]) == (out / r["file"]).read_bytes()
    (out / "S-0007.gcode").write_text("not ours")
    code, _, err = cli("batch", "--serials", "S-%04d", "--count", 9, "--out", out, "--layout", "files")
    assert code == 2 and "S-0007.gcode exists but manifest.csv does not list it" in err
    assert len(manifest_rows(out)) == 5
    old = tmp_path / "old"
    old.mkdir()
    (old / "manifest.csv").write_text("serial,file,sha256,payload,estimated_time_s\nS-1,S-1.gcode,x,S-1,1\n")
    code, _, err = cli("batch", "--serials", "S-%04d", "--count", 2, "--out", old)
    assert code == 2 and "write this batch into a new folder" in err
    assert (old / "manifest.csv").read_text().count("\n") == 2


def test_batch_shows_progress_on_request(tmp_path):
    _, err = ok("batch", "--serials", "P-%03d", "--count", 3, "--out", tmp_path / "p", "--progress", "--workers", 1)
    assert "batch:" in err and "3/3" in err


def test_the_environment_selects_the_registry(tmp_path, target):
    env = {"LASERGEN_REGISTRY": target}
    init = json.loads(ok("registry", "init", "--json", env=env)[0])
    assert init["engine"] == ("postgresql" if target.startswith("postgresql://") else "sqlite")
    ok("batch", "--serials", "E-%03d", "--count", 2, "--out", tmp_path / "e", "--workers", 1, env=env)
    assert json.loads(ok("registry", "summary", "--json", env=env)[0])["counts"]["planned"] == 2
