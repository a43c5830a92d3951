"""`lasergen demo`, the README's first command: planned, streamed through sim://, predicted,
rendered, and every view checked against what each job promises."""

import json
from pathlib import Path

from click.testing import CliRunner

from lasergen_cli import main


def test_demo_end_to_end(tmp_path):
    for _ in range(2):  # a second run into the same folder starts afresh
        res = CliRunner().invoke(main, ["demo", "--out", str(tmp_path), "--json"])
        assert res.exit_code == 0, res.output
    result = json.loads(res.output)
    assert result["ok"]
    qr, ef = result["jobs"]["qr_demo"], result["jobs"]["three_level_EF"]
    for job in (qr, ef):
        assert job["stream"] == "complete"
        assert set(job["renders"]) == {"daylight", "uv365", "uv365_lp645"}
        assert all(Path(p).stat().st_size > 0 for p in job["renders"].values())
        report = json.loads(Path(job["report"]).read_text())
        assert report["phases"]["green"]["integrated"] > 0
    assert any(c["kind"] == "qr" and c["ok"] and c["expected"] == "https://example.org/p/0001" for c in qr["checks"])
    views = {c["view"]: c for c in ef["checks"]}
    assert {"daylight", "uv365", "uv365_lp645"} <= set(views) and all(c["ok"] for c in views.values())
