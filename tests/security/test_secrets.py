"""Secrets stay secret: a key given where its file's path goes is never echoed; a keyed tag's job
file (it holds the hidden-module set) is written owner-only (0600), by `qr` and by `batch`."""

import stat

import pytest
from click.testing import CliRunner

from lasergen_cli import main

HEX_KEY = "5c" * 8 + "a1b2c3d4" * 6
PEM = "-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----"


def run(*args, env=None):
    return CliRunner().invoke(main, [str(a) for a in args], env=env)


@pytest.mark.parametrize("option, secret", [("--hidden-key", HEX_KEY), ("--sign", PEM), ("--hidden-key", "c2VjcmV0a2V5c2VjcmV0a2V5MTIzNDU2")])
def test_key_given_as_path_is_not_echoed(tmp_path, option, secret):
    res = run("qr", "HI", "-o", tmp_path / "q.gcode", option, secret)
    assert res.exit_code == 2
    assert secret not in res.output and secret[:16] not in res.output and "not shown" in res.stderr


@pytest.mark.parametrize("command", ["check-photo", "verify"])
def test_key_option_of_checks_not_echoed(tmp_path, command):
    target = tmp_path / "x.png"
    args = [command, target, "--key", HEX_KEY] if command == "check-photo" else [command, target, "--pubkey", PEM]
    from PIL import Image

    Image.new("RGB", (40, 40)).save(target)
    (tmp_path / "x.gcode").write_text("G21G90G94\nM5\n")
    if command == "verify":
        args[1] = tmp_path / "x.gcode"
    res = run(*args)
    assert res.exit_code == 2 and HEX_KEY not in res.output and "BEGIN" not in res.output


def test_keyed_job_files_are_owner_only(tmp_path):
    key = tmp_path / "hidden.key"
    key.write_text(HEX_KEY)
    res = run("qr", "SN-1", "-o", tmp_path / "tag.gcode", "--hidden-key", key, "--module-um", "60")
    assert res.exit_code == 0, res.output
    assert stat.S_IMODE((tmp_path / "tag.gcode").stat().st_mode) == 0o600
    res = run("batch", "--serials", "SN-%03d", "--count", "3", "--hidden-key", key, "--out", tmp_path / "b",
              "--module-um", "60", "--workers", "1", "--layout", "files")
    assert res.exit_code == 0, res.output
    jobs = sorted((tmp_path / "b").glob("*.gcode"))
    assert len(jobs) == 3 and all(stat.S_IMODE(j.stat().st_mode) == 0o600 for j in jobs)
    plain = tmp_path / "plain.gcode"
    assert run("qr", "SN-1", "-o", plain).exit_code == 0
    assert stat.S_IMODE(plain.stat().st_mode) != 0o600  # only keyed jobs are private
