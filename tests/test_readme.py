"""The README's commands work when pasted.

The first `sh` block is the install: it must say which environment it assumes, and its second
command is the one `.ci/run` runs. Every later `sh` block is the tour: its lines run as written,
in order, through bash, in one empty folder, with the installed `lasergen` first on PATH. Only
lines whose comment ends in [real hardware] or [runs until Ctrl-C] are skipped. A line fails
the test if it exits non-zero, rewrites a file an earlier line made, or the folder fills up.
"""

import hashlib
import importlib.metadata
import os
import re
import subprocess
import sys
from pathlib import Path


SOURCE = Path(__file__).resolve().parents[1]
SKIP_MARKS = ("[real hardware]", "[runs until Ctrl-C]")
MAX_FILES = 200


def readme_text() -> str:
    """The README beside the tests, else the one the installed distribution carries."""
    path = SOURCE / "README.md"
    if path.is_file():
        return path.read_text(encoding="utf-8")
    return importlib.metadata.metadata("lasergen").get_payload()


def sh_blocks(text: str) -> list[list[str]]:
    return [block.strip("\n").splitlines() for block in re.findall(r"^```sh\n(.*?)^```", text, re.M | re.S)]


def skipped(line: str) -> bool:
    return line.rstrip().endswith(SKIP_MARKS)


def snapshot(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in folder.rglob("*") if p.is_file()}


def test_install_block_names_its_environment_and_the_installed_test_command():
    install = sh_blocks(readme_text())[0]
    assert install[0].startswith("pip install . && lasergen demo")
    assert re.search(r"virtual environment|venv", install[0])
    assert install[1].startswith('pip install ".[test]" && pytest')
    assert "python -m pytest" not in install[1]  # that would import the checkout, not the installed package
    ci = SOURCE / ".ci" / "run"
    if ci.is_file():
        assert "README.md" in ci.read_text() and '^pip install ".\\[test\\]"' in ci.read_text()  # .ci/run runs it


def test_tour_blocks_are_pasteable_lines():
    tour = [line for block in sh_blocks(readme_text())[1:] for line in block]
    assert len(tour) >= 15
    for line in tour:
        assert line.startswith("lasergen ") and not line.rstrip().endswith("\\"), line
    assert sum(skipped(line) for line in tour) == 2


def test_readme_tour_runs_as_written(tmp_path):
    bin_dir = Path(sys.executable).parent
    assert (bin_dir / "lasergen").is_file(), "the lasergen console script is not installed beside this Python"
    env = {**os.environ, "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    env.pop("LASERGEN_KEY", None)
    env.pop("LASERGEN_PUBKEY", None)
    for block in sh_blocks(readme_text())[1:]:
        for line in block:
            if skipped(line):
                continue
            before = snapshot(tmp_path)
            done = subprocess.run(["bash", "-c", line], cwd=tmp_path, env=env, capture_output=True, text=True,
                                  stdin=subprocess.DEVNULL, timeout=600)
            assert done.returncode == 0, f"{line}\n{done.stdout}\n{done.stderr}"
            assert "Traceback" not in done.stderr, f"{line}\n{done.stderr}"
            after = snapshot(tmp_path)
            rewritten = sorted(f for f, digest in before.items() if after.get(f) != digest)
            assert not rewritten, f"{line} rewrote earlier outputs: {rewritten}"
            assert len(after) <= MAX_FILES, f"{line}: {len(after)} files in the folder"
    check_outputs_the_readme_names(tmp_path)


def check_outputs_the_readme_names(folder: Path):
    """What the tour's comments and text promise a new user finds: the key files and their modes,
    the batch's pack and manifest, the depth renders listed in report.json."""
    import csv
    import json
    import stat

    for name, mode in (("ed25519.pem", 0o600), ("hidden.key", 0o600), ("ed25519.pub.pem", None)):
        path = folder / "keys" / name
        assert path.is_file(), f"keygen: no keys/{name}"
        assert mode is None or stat.S_IMODE(path.stat().st_mode) == mode, f"keys/{name} is not mode {mode:o}"
    with open(folder / "tags" / "manifest.csv", newline="") as f:
        assert len(list(csv.DictReader(f))) == 20, "batch: tags/manifest.csv lists no 20 serials"
    assert (folder / "tags" / "jobs.lgpack").is_file()
    assert sorted(p.suffix for p in (folder / "tag_files").iterdir()).count(".gcode") == 2
    report = json.loads((folder / "sim_stack" / "report.json").read_text())
    assert report["depths_um"] == [150.0, 350.0]
    assert report["renders"]["uv365@150um"] == "uv365@150um.png" and (folder / "sim_stack" / "uv365@150um.png").is_file()
    for view in ("daylight", "uv365", "uv365_lp645"):
        assert (folder / "sim_qr" / f"{view}.png").is_file(), f"simulate: no sim_qr/{view}.png"
    assert (folder / "qr.gcode.ledger.npz").is_file(), "stream on sim:// saved no qr.gcode.ledger.npz"
