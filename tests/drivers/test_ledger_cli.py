"""`lasergen stream JOB --port sim://` then `lasergen simulate JOB.ledger.npz` predicts the same
glass as `lasergen simulate JOB`, and `verify` on the ledger checks the job's promises."""

import json

import pytest

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
    # the stream's history and the dry run's agree (see test_stream_e2e.assert_histories_alike),
    # so the predictions do too: the same glass within 1 %
    assert from_ledger["crystallized_area_um2"] == pytest.approx(from_job["crystallized_area_um2"], rel=0.01)
    for phase in ("green", "red"):
        assert from_ledger["phases"][phase]["peak_nm"] == from_job["phases"][phase]["peak_nm"]
        assert from_ledger["phases"][phase]["integrated"] == pytest.approx(from_job["phases"][phase]["integrated"], rel=0.01)
    checks = _json("verify", ledger, "--no-margin", "--json")  # 4 um under-resolves the ~4 um growth kernel
    assert checks["ok"] and any(c["kind"] == "qr" for c in checks["checks"])
