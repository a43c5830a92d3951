"""A keyed tag planned with the defaults passes its own check-photo: the module size is chosen
from the simulator's rewrite spill (and said), and a size that cannot verify is refused."""

from click.testing import CliRunner

from lasergen.job import read_job
from lasergen_cli import main

KEY_HEX = "3f" * 32


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_default_keyed_tag_verifies_with_its_key(tmp_path, no_key_env):
    key = tmp_path / "hidden.key"
    key.write_text(KEY_HEX)
    job = tmp_path / "tag.gcode"
    res = run("qr", "SN-004711", "-o", job, "--hidden-key", key)
    assert res.exit_code == 0, res.output
    assert "lasergen: note: keyed tag:" in res.stderr and "um modules chosen" in res.stderr
    pitch = read_job(job).manifest["grid"]["pitch_um"]
    assert pitch >= 20.0 and f"{pitch:g} um modules chosen" in res.stderr  # the simulator's choice, said
    res = run("simulate", job, "--out", tmp_path / "sim", "--pitch-um", "3")
    assert res.exit_code == 0, res.output
    res = run("check-photo", tmp_path / "sim" / "uv365.png", tmp_path / "sim" / "uv365_lp645.png", "--key", key)
    assert res.exit_code == 0 and res.stdout.startswith("GENUINE"), res.output


def test_keyed_tag_with_modules_too_small_is_refused(tmp_path):
    key = tmp_path / "hidden.key"
    key.write_text(KEY_HEX)
    # 10 um modules: the rewrite of one (its ~27 um wide line) makes its neighbours glow behind the filter
    res = run("qr", "SN-004711", "-o", tmp_path / "t.gcode", "--hidden-key", key, "--module-um", "10")
    assert res.exit_code == 2 and "cannot pass its own check" in res.stderr and "--module-um" in res.stderr
    assert not (tmp_path / "t.gcode").exists()
    res = run("qr", "SN-004711", "-o", tmp_path / "t.gcode", "--hidden-key", key, "--module-um", "10", "--accept-spill")
    assert res.exit_code == 0 and "will blur" in res.stderr
