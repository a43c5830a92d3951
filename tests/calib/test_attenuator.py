"""Attenuator calibration: readings -> Malus fit -> machine profile with provenance and a
calibrated range that the planner and the driver enforce."""

import json
import tomllib

import numpy as np
import pytest
from click.testing import CliRunner

from drivers.beam.attenuator import Attenuator
from drivers.beam.elliptec import ElliptecMount
from lasergen import LasergenError
from lasergen import MachineProfile
from lasergen.malus import MalusCalibration
from lasergen_cli import main
from tests.drivers.test_units import FakeEll14

TRUE = dict(p_min=2.0, p_max=380.0, theta0=7.5)


def _readings(path, angles, unit="power_mW", noise=0.01, rate_kHz=10.0, seed=1):
    rng = np.random.default_rng(seed)
    energy = TRUE["p_min"] + (TRUE["p_max"] - TRUE["p_min"]) * np.cos(2 * np.radians(angles - TRUE["theta0"])) ** 2
    energy = energy * (1 + rng.normal(0, noise, len(angles)))
    value = {"power_mW": energy * rate_kHz, "power_W": energy * rate_kHz / 1000, "energy_uJ": energy}[unit]
    path.write_text("# power meter readings\n" f"angle_deg,{unit}\n" + "".join(f"{a:g},{v:.5f}\n" for a, v in zip(angles, value)))
    return path


def _calibrate(tmp_path, readings, *extra):
    out = tmp_path / "my_rig.toml"
    result = CliRunner().invoke(main, ["calibrate", "attenuator", str(readings), "-o", str(out), "--date", "2025-03-01",
                                       "--json", *extra])
    return result, out


@pytest.mark.parametrize("unit", ["power_mW", "power_W", "energy_uJ"])
def test_fit_recovers_the_plate_and_writes_a_loadable_profile(tmp_path, unit):
    readings = _readings(tmp_path / "r.csv", np.arange(0, 92, 4.0), unit)
    result, out = _calibrate(tmp_path, readings)
    assert result.exit_code == 0, result.output
    fit = json.loads(result.stdout)
    assert fit["theta0_deg"] == pytest.approx(TRUE["theta0"], abs=0.3)
    assert fit["p_max_uJ"] == pytest.approx(TRUE["p_max"], rel=0.01)
    assert fit["rms_residual_uJ"] < 0.02 * TRUE["p_max"] and len(fit["residuals"]) == 23
    profile = MachineProfile.load(out)
    att = profile.attenuator_settings
    assert profile.energy_mode == "attenuator" and profile.name == "my_rig"
    assert att["calibrated_on"] == "2025-03-01" and att["wavelength_nm"] == 1030.0 and att["rep_rate_kHz"] == 10.0
    assert att["readings"] == 23 and att["calibrated_uJ"][1] == pytest.approx(TRUE["p_max"], rel=0.01)
    assert "# worst-case rotation time" in out.read_text()  # the base profile's comments are kept


def test_a_grbl_profile_becomes_an_attenuator_rig(tmp_path):
    readings = _readings(tmp_path / "r.csv", np.arange(0, 92, 6.0))
    result, out = _calibrate(tmp_path, readings, "--machine", "default", "--transmission", "0.8")
    assert result.exit_code == 0, result.output
    profile = MachineProfile.load(out)
    assert profile.controller == "grbl" and profile.energy_mode == "attenuator"
    assert profile.attenuator_settings["p_max_uJ"] == pytest.approx(TRUE["p_max"] / 0.8, rel=0.01)
    assert tomllib.loads(out.read_text())["grbl"]["s_max"] == 1000.0


def test_energies_outside_the_calibrated_range_are_refused_by_planner_and_driver(tmp_path):
    # readings over a part of the swing only: the calibrated range is narrower than the model's
    readings = _readings(tmp_path / "r.csv", np.arange(20.0, 46.0, 2.0), noise=0.002)
    result, out = _calibrate(tmp_path, readings)
    assert result.exit_code == 0 and "extrapolated" in result.stderr
    low, high = MachineProfile.load(out).energy_range_uJ
    assert 30 < low < high < 330
    grid = CliRunner().invoke(main, ["calibrate", "grid", "--energies", f"{high + 20:.0f}", "--machine", str(out),
                                     "-o", str(tmp_path / "g.job")])
    assert grid.exit_code == 2 and "outside the" in grid.output and "2025-03-01" in grid.output
    qr = CliRunner().invoke(main, ["qr", "hi", "--energy-uj", f"{high + 20:.0f}", "--machine", str(out),
                                   "-o", str(tmp_path / "q.job")])
    assert qr.exit_code == 2 and "outside the attenuator's" in qr.output
    mount = ElliptecMount(FakeEll14())
    attenuator = Attenuator(mount, MalusCalibration.from_profile(MachineProfile.load(out)))
    with pytest.raises(LasergenError, match="calibrated range"):
        attenuator.set_energy_uJ(high + 20)
    assert mount.angle_deg() == 0.0  # refused before the plate moved
    assert attenuator.set_energy_uJ((low + high) / 2) == pytest.approx((low + high) / 2, rel=1e-3)


@pytest.mark.parametrize("text, message", [
    ("angle_deg,power_mW\n0,1\n10,2\n", "at least 5"),
    ("angle,power_mW\n0,1\n", "header needs angle_deg"),
    ("angle_deg,power_mW,energy_uJ\n0,1,2\n", "header needs"),
    ("angle_deg,power_mW\n0,1\n5,x\n", "line 3"),
    ("angle_deg,power_mW\n0,1\n5,-2\n", "not negative"),
    ("angle_deg,power_mW\n0,1\n5,nan\n", "finite"),
    ("angle_deg,power_mW\n" + "".join(f"{a},100\n" for a in range(0, 90, 10)), "do not change"),
    ("# nothing\n", "no readings"),
])
def test_bad_readings_are_one_line_errors(tmp_path, text, message):
    readings = tmp_path / "r.csv"
    readings.write_text(text)
    result, _ = _calibrate(tmp_path, readings)
    assert result.exit_code == 2 and message in result.output and result.output.count("\n") == 1


@pytest.mark.parametrize("args, message", [
    (["--date", "yesterday"], "YYYY-MM-DD"), (["--transmission", "0"], "transmission"),
    (["--rep-rate-khz", "-1"], "repetition rate"), (["--machine", "nope"], "not found"),
    (["--wavelength-nm", "0"], "wavelength"),
])
def test_bad_options_are_one_line_errors(tmp_path, args, message):
    readings = _readings(tmp_path / "r.csv", np.arange(0, 92, 4.0))
    result = CliRunner().invoke(main, ["calibrate", "attenuator", str(readings), "-o", str(tmp_path / "o.toml"), *args])
    assert result.exit_code == 2 and message in result.output
