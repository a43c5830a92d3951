"""CLI: keygen, qr --hidden-key/--sign, check-photo exit codes, encrypt, batch, one-line errors."""

import csv
import hashlib
import json

import numpy as np
from click.testing import CliRunner
from PIL import Image

from lasergen.job import read_job
from lasergen.security.hidden import load_key
import lasergen
from lasergen_cli import main

from .tagphotos import render_views


def run(*args, env=None):
    result = CliRunner().invoke(main, [str(a) for a in args], env=env or {"LASERGEN_KEY": ""})
    return result.exit_code, result.output


def test_keygen_then_keyed_signed_qr_then_check_photo(tmp_path, no_key_env):
    keys = tmp_path / "keys"
    code, out = run("keygen", "--out", keys, "--json")
    assert code == 0, out
    assert sorted(json.loads(out)["files"]) == ["ed25519.pem", "ed25519.pub.pem", "hidden.key"]
    assert (keys / "hidden.key").stat().st_mode & 0o077 == 0
    code, out = run("keygen", "--out", keys)
    assert code == 2 and "already exist" in out

    job = tmp_path / "tag.gcode"
    code, out = run("qr", "SN-000123", "--hidden-key", keys / "hidden.key", "--sign", keys / "ed25519.pem",
                    "-o", job, "--json")
    assert code == 0, out
    summary = json.loads(out.splitlines()[-1] if out.strip().startswith("lasergen: ") else out)  # notes on stderr
    assert summary["signed"] and summary["hidden_modules"] > 0
    promises = read_job(job).manifest["promises"]
    key = load_key(keys / "hidden.key")
    assert promises["signed"]["message"] == "SN-000123" and key.hex() not in job.read_text()

    # photos of that tag (rasterised stand-in), then the verdicts
    from lasergen.security.signing import load_private_key

    pattern = lasergen.tag("SN-000123", sign_key=load_private_key(keys / "ed25519.pem"), hidden_key=key)
    assert pattern.meta["payload"].startswith("SN-000123*")
    views = render_views(pattern)
    uv, filtered = tmp_path / "uv.png", tmp_path / "f.png"
    views["uv365"].save(uv)
    views["uv365_lp645"].save(filtered)
    code, out = run("check-photo", uv, filtered, "--key", keys / "hidden.key", "--pubkey", keys / "ed25519.pub.pem")
    assert code == 0 and out.startswith("GENUINE"), out
    (tmp_path / "wrong.key").write_bytes(bytes(32))
    code, out = run("check-photo", uv, filtered, "--key", tmp_path / "wrong.key")
    assert code == 1 and out.startswith("REJECTED"), out
    code, out = run("check-photo", uv, filtered, "--key", keys / "ed25519.pub.pem")
    assert code == 2 and out.count("\n") == 1 and "hidden key" in out


def test_bad_inputs_are_one_line_errors(tmp_path, signing_key):
    from lasergen.security.signing import private_pem

    pem = tmp_path / "k.pem"
    pem.write_bytes(private_pem(signing_key))
    cases = [
        ("qr", "x", "--sign", tmp_path / "missing.pem", "-o", tmp_path / "a.gcode"),
        ("qr", "A" * 4250, "--sign", pem, "-o", tmp_path / "b.gcode"),
        ("batch", "--serials", "SN", "--count", "3", "--out", tmp_path / "t"),
        ("batch", "--serials", "SN-%.1e", "--count", "200", "--out", tmp_path / "t"),
        ("check-photo", tmp_path / "missing.png"),
    ]
    for args in cases:
        code, out = run(*args)
        assert code == 2 and out.startswith("lasergen: error:") and out.count("\n") == 1, (args, out)


def test_encrypt_from_two_images(tmp_path):
    uv = np.full((30, 30), 255, np.uint8)
    uv[5:25, 5:25] = 0
    filtered = np.full((30, 30), 255, np.uint8)
    filtered[5:15, 5:25] = 0
    Image.fromarray(uv).save(tmp_path / "uv.png")
    Image.fromarray(filtered).save(tmp_path / "f.png")
    code, out = run("encrypt", "--uv", tmp_path / "uv.png", "--filtered", tmp_path / "f.png", "-o",
                    tmp_path / "enc.gcode", "--json")
    assert code == 0, out
    result = json.loads(out)
    assert result["levels"]["uv365"] == 400 and result["levels"]["uv365_lp645"] == 200 and result["passes"] == 2
    filtered[0:3, 0:3] = 0  # outside the UV view
    Image.fromarray(filtered).save(tmp_path / "f2.png")
    code, out = run("encrypt", "--uv", tmp_path / "uv.png", "--filtered", tmp_path / "f2.png", "-o",
                    tmp_path / "enc2.gcode")
    assert code == 2 and "9 px (3600 µm²)" in out


def test_batch_writes_unique_signed_jobs_and_a_manifest(tmp_path, signing_key):
    from lasergen.security.signing import private_pem, verify_payload

    pem = tmp_path / "k.pem"
    pem.write_bytes(private_pem(signing_key))
    out_dir = tmp_path / "tags"
    code, out = run("batch", "--serials", "SN-%06d", "--count", "12", "--sign", pem, "--out", out_dir,
                    "--workers", "2", "--layout", "files", "--json")
    assert code == 0, out
    rows = list(csv.DictReader((out_dir / "manifest.csv").open()))
    assert [r["serial"] for r in rows] == [f"SN-{i:06d}" for i in range(12)]
    for row in rows:
        data = (out_dir / row["file"]).read_bytes()
        assert hashlib.sha256(data).hexdigest() == row["sha256"]
        assert verify_payload(row["payload"], signing_key.public_key()) == (True, row["serial"], "signature valid")
        assert float(row["estimated_time_s"]) > 0
