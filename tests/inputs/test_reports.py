"""report.json and --json outputs are strict JSON with named units; warnings go to stderr, once."""

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

import lasergen
from lasergen_cli import main

PATTERNS = Path(lasergen.__file__).resolve().parent / "patterns"  # shipped with the package


def strict_load(text: str):
    """JSON as JavaScript's JSON.parse reads it: Infinity and NaN are syntax errors."""
    def refuse(name):
        raise ValueError(f"not JSON: {name}")
    return json.loads(text, parse_constant=refuse)


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


@pytest.fixture(scope="module")
def dim_job(tmp_path_factory):
    """A job too dim to crystallize, simulated once (each test reads its own copy of the result,
    whichever worker runs it)."""
    tmp = tmp_path_factory.mktemp("dim")
    assert run("qr", "X", "-o", tmp / "low.gcode", "--energy-uj", "20").exit_code == 0
    return tmp, run("simulate", tmp / "low.gcode", "--out", tmp / "sim", "--json")


def test_report_of_a_job_that_never_crystallizes_is_strict_json(dim_job):
    dim_job, res = dim_job
    assert res.exit_code == 0, res.output
    printed = strict_load(res.stdout)
    report = strict_load((dim_job / "sim" / "report.json").read_text())
    assert report["writing_points"][0]["incubation_s"] is None  # was Infinity
    assert printed["writing_points"][0]["incubation_s"] is None
    assert "lasergen: warning: no crystallization" in res.stderr and res.stdout.count("\n") == 1


def test_report_names_units_and_signs(dim_job):
    dim_job, _ = dim_job
    report = strict_load((dim_job / "sim" / "report.json").read_text())
    units = report["units"]
    assert "arbitrary units" in units["phases.*.integrated"] and "um^2" in units["phases.*.integrated"]
    assert "blue shift" in units["model_factors.measurement.shift_meV"]
    assert "positive" in units["model_factors.measurement.shift_meV"]


def test_calibration_grid_warns_once_on_stderr(tmp_path):
    job = tmp_path / "grid.gcode"
    assert run("pattern", PATTERNS / "calibration_grid.toml", "-o", job).exit_code == 0
    res = run("simulate", job, "--out", tmp_path / "sim")
    assert res.exit_code == 0, res.output
    assert "warning" not in res.stdout
    assert res.stderr.count("power mismatch") == 1 and "lasergen: warning: power mismatch" in res.stderr
    assert "other writing point" in res.stderr
