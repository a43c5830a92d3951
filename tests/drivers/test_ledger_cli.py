"""`lasergen stream JOB --port sim://` then `lasergen simulate JOB.ledger.npz` predicts the same
glass as `lasergen simulate JOB`, and `verify` on the ledger checks the job's promises."""

import json

from click.testing import CliRunner

from lasergen_cli import main


def _json(*args):
    res = CliRunner().invoke(main, [str(a) for a in args])
    assert res.exit_code == 0, res.output
    return json.loads(res.stdout)


def test_simulating_the_streamed_ledger_equals_simulating_the_job(tmp_path, device_name):
    qr_job = tmp_path / "tag.gcode"
    _json("qr", "SN-000042", "-o", qr_job, "--json")
    streamed = _json("stream", qr_job, "--port", f"sim://?device={device_name}", "--json")
    ledger = streamed["ledger"]
    assert ledger.endswith(".ledger.npz")
    from_ledger = _json("simulate", ledger, "--out", tmp_path / "l", "--pitch-um", 4, "--json")
    from_job = _json("simulate", qr_job, "--out", tmp_path / "j", "--pitch-um", 4, "--json")
    for key in ("phases", "crystallized_area_um2"):
        assert from_ledger[key] == from_job[key]
    checks = _json("verify", ledger, "--pitch-um", 4, "--no-margin", "--json")
    assert checks["ok"] and any(c["kind"] == "qr" for c in checks["checks"])
