"""What a new user reaches first: keygen's key files, built-in materials and examples, text jobs."""

import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from lasergen.job import read_job
from lasergen_cli import main

SOURCE = Path(__file__).resolve().parents[1]


def run(*args, cwd=None):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def open_umask():
    old = os.umask(0)  # the most permissive umask a user may have: key files must still be private
    yield
    os.umask(old)


def test_keygen_writes_private_keys_0600_and_never_overwrites(tmp_path, open_umask):
    keys = tmp_path / "keys"
    code, out = run("keygen", "--out", keys, "--json")
    assert code == 0, out
    modes = {p.name: p.stat().st_mode & 0o777 for p in keys.iterdir()}
    assert modes == {"ed25519.pem": 0o600, "hidden.key": 0o600, "ed25519.pub.pem": 0o644}
    before = {p.name: p.read_bytes() for p in keys.iterdir()}
    code, out = run("keygen", "--out", keys)
    assert code == 2 and "already exist" in out and len(out.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in keys.iterdir()} == before
    (keys / "hidden.key").chmod(0o644)
    code, _ = run("keygen", "--out", keys, "--force")
    assert code == 0 and (keys / "hidden.key").stat().st_mode & 0o777 == 0o600
    assert (keys / "hidden.key").read_bytes() != before["hidden.key"]


def test_gitignore_keeps_keys_and_demo_output_out_of_the_repository():
    if not (SOURCE / ".gitignore").is_file():
        pytest.skip("the tests run without their source tree")
    lines = (SOURCE / ".gitignore").read_text().split()
    assert "keys/" in lines and "demo_out/" in lines


def test_materials_lists_the_built_in_glasses():
    code, out = run("materials", "--json")
    assert code == 0
    names = [m["name"] for m in json.loads(out)["materials"]]
    assert names == ["Br", "BrI", "BrLi", "I"]
    code, out = run("materials")
    assert code == 0 and [line.split()[0] for line in out.splitlines()] == names


def test_examples_copies_the_shipped_inputs_once(tmp_path):
    code, out = run("examples", "--out", tmp_path / "ex", "--json")
    assert code == 0, out
    files = json.loads(out)["files"]
    assert {"logo.png", "secret_uv.png", "secret_645.png", "three_level_EF.toml"} <= set(files)
    assert all((tmp_path / "ex" / f).stat().st_size > 0 for f in files)
    (tmp_path / "ex" / "logo.png").write_bytes(b"edited")
    code, out = run("examples", "--out", tmp_path / "ex")
    assert code == 2 and "already holds" in out
    assert (tmp_path / "ex" / "logo.png").read_bytes() == b"edited"


def test_text_job_writes_the_letters(tmp_path):
    job = tmp_path / "e.gcode"
    code, out = run("text", "E", "-o", job, "--height-um", 600, "--pixel-um", 20, "--json")
    assert code == 0, out
    summary = json.loads(out)
    parsed = read_job(job)
    assert summary["marks"] > 10 and parsed.manifest["promises"] == {"source": "text", "text": "E"}
    marks = parsed.toolpath.take(parsed.toolpath.is_mark)
    height_mm = max(marks.y0.max(), marks.y1.max()) - min(marks.y0.min(), marks.y1.min())
    assert 0.55 <= height_mm <= 0.62  # 600 um cap height on a 20 um grid (scan lines at pixel centres)


def test_text_bad_input_is_one_line(tmp_path):
    for args in (["text", "", "-o", tmp_path / "x.gcode"], ["text", "E", "-o", tmp_path / "x.gcode", "--font",
                                                           tmp_path / "missing.ttf"]):
        code, out = run(*args)
        assert code == 2 and out.startswith("lasergen: error:") and len(out.strip().splitlines()) == 1
