"""`lasergen simulate` and `lasergen verify` on a planned QR job."""

from __future__ import annotations

import json

from click.testing import CliRunner

from lasergen_cli import main


def test_simulate_and_verify_commands(tmp_path):
    runner = CliRunner()
    job = tmp_path / "qr.gcode"
    assert runner.invoke(main, ["qr", "sim cli 7", "-o", str(job)]).exit_code == 0
    out = tmp_path / "sim"
    res = runner.invoke(main, ["simulate", str(job), "--out", str(out), "--material", "BrI",
                               "--heat-treat", "200", "--heat-treat-hours", "2", "--json"])
    assert res.exit_code == 0, res.output
    report = json.loads(res.stdout)
    assert report["renders"] == {"daylight": "daylight.png", "uv365": "uv365.png", "uv365_lp645": "uv365_lp645.png"}
    assert all((out / f).is_file() for f in list(report["renders"].values()) + ["report.json"])
    assert report["conditions"]["heat_treat_c"] == 200
    res = runner.invoke(main, ["verify", str(job), "--json", "--no-margin"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.output)["ok"] is True


def test_simulate_bad_input_exits_2(tmp_path):
    runner = CliRunner()
    res = runner.invoke(main, ["simulate", str(tmp_path / "missing.gcode"), "--out", str(tmp_path)])
    assert res.exit_code == 2 and "error" in res.output
