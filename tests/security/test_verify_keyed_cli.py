"""`lasergen verify` on a keyed tag: the public QR decodes and the hidden layer checks out with
the key, from the simulator's renders, through the same commands a user types."""

import json

from click.testing import CliRunner

from lasergen_cli import main


def test_keyed_tag_verifies_with_its_key(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["keygen", "--out", str(tmp_path / "keys")]).exit_code == 0
    key = tmp_path / "keys" / "hidden.key"
    job = tmp_path / "tag.gcode"
    res = runner.invoke(main, ["qr", "SN-000123", "--hidden-key", str(key), "--module-um", "60", "-o", str(job)])
    assert res.exit_code == 0, res.output
    res = runner.invoke(main, ["verify", str(job), "--key", str(key), "--no-margin", "--json"])
    assert res.exit_code == 0, res.output
    checks = json.loads(res.output)["checks"]
    kinds = {c["kind"]: c for c in checks}
    assert kinds["qr"]["ok"] and kinds["qr"]["expected"] == "SN-000123"
    assert kinds["tag"]["ok"] and "GENUINE" in kinds["tag"]["message"]
    assert key.read_bytes().hex() not in job.read_text()
