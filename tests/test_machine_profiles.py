"""Machine profiles: built-ins with a controller family and a beam side, every key checked."""

import copy
import json
import tomllib

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lasergen import LasergenError
from lasergen import MachineProfile
from lasergen.machine import PROFILE_DIR
from lasergen_cli import main

GRBL = tomllib.loads((PROFILE_DIR / "grbl-default.toml").read_text())
PI = tomllib.loads((PROFILE_DIR / "pi-c884.toml").read_text())


def with_value(base, table, key, value):
    data = copy.deepcopy(base)
    target = data
    for part in table:
        target = target.setdefault(part, {})
    target[key] = value
    return data


def test_builtins_and_the_default_alias():
    assert MachineProfile.load("default") == MachineProfile.load("grbl-default")
    grbl, pi = MachineProfile.load("grbl-default"), MachineProfile.load("pi-c884")
    assert (grbl.controller, grbl.energy_mode, grbl.gate) == ("grbl", "s_word", "s_word")
    assert (pi.controller, pi.energy_mode, pi.gate) == ("pi_gcs", "attenuator", "pulse_picker")
    assert grbl.junction_deviation_mm == 0.01 and grbl.s_max == 1000.0  # the [grbl] table
    assert pi.axes == ("1", "2") and pi.attenuator_settings["p_max_uJ"] == 400.0


def test_first_layout_with_grbl_keys_in_motion_still_loads():
    data = copy.deepcopy(GRBL)
    grbl = data.pop("grbl")
    data["motion"].update(junction_deviation_mm=0.02, planner_blocks=grbl["planner_blocks"])
    data["laser"].update(s_per_uJ=2.0, s_max=grbl["s_max"])
    m = MachineProfile.from_dict(data)
    assert m.junction_deviation_mm == 0.02 and m.s_per_uJ == 2.0


@pytest.mark.parametrize("table, key, value, says", [
    (("grbl",), "junction_deviaton_mm", 0.01, "junction_deviaton_mm (known: junction_deviation_mm"),
    (("motion",), "accel_mm_s2", [0.0, 200.0], "must be > 0, got 0"),
    (("motion",), "accel_mm_s2", [200.0], "must have 2 values, got 1"),
    (("motion",), "max_rate_mm_s", [float("nan"), 50.0], "finite number"),
    (("motion",), "max_rate_mm_s", [float("inf"), 50.0], "finite number"),
    (("laser",), "rep_rate_kHz", -10.0, "must be > 0"),
    (("laser",), "max_energy_uJ", "400", "must be a number, got '400'"),
    (("travel",), "x_mm", [100.0, 0.0], "low < high"),
    (("beam",), "gate", "laser", "must be one of"),
    (("beam",), "gate_latency_ms", -1.0, "must be >= 0"),
    ((), "controller", "marlin", "unknown controller 'marlin'"),
    (("serial",), "baud", 1.5, "whole number"),
])
def test_bad_values_are_one_line_errors(table, key, value, says):
    with pytest.raises(LasergenError) as err:
        MachineProfile.from_dict(with_value(GRBL, table, key, value))
    assert says in str(err.value) and "\n" not in str(err.value)


def test_unknown_table_and_foreign_controller_table_are_refused():
    with pytest.raises(LasergenError, match="unknown table.*lazer"):
        MachineProfile.from_dict({**GRBL, "lazer": {}})
    with pytest.raises(LasergenError, match="unknown table.*grbl"):
        MachineProfile.from_dict({**PI, "grbl": {"s_max": 1000}})
    with pytest.raises(LasergenError, match="not one pi_gcs can drive"):
        MachineProfile.from_dict(with_value(PI, ("beam",), "gate", "s_word"))
    with pytest.raises(LasergenError, match=r"needs a \[beam.attenuator\]"):
        data = copy.deepcopy(PI)
        del data["beam"]["attenuator"]
        MachineProfile.from_dict(data)


@settings(max_examples=60, deadline=None)
@given(value=st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=5), st.none(),
                       st.lists(st.floats(), max_size=3), st.booleans()),
       where=st.sampled_from([("motion", "accel_mm_s2"), ("motion", "max_rate_mm_s"), ("laser", "rep_rate_kHz"),
                              ("pi_gcs", "settle_ms"), ("beam", "gate_latency_ms"), ("travel", "y_mm")]))
def test_any_value_loads_cleanly_or_fails_with_one_line(value, where):
    try:
        m = MachineProfile.from_dict(with_value(PI, (where[0],), where[1], value))
    except LasergenError as exc:
        assert "\n" not in str(exc)
    else:
        assert min(m.accel_mm_s2) > 0 and min(m.max_rate_mm_s) > 0 and m.rep_rate_kHz > 0


def test_lasergen_machines_lists_controllers_and_limits():
    out = CliRunner().invoke(main, ["machines", "--json"])
    assert out.exit_code == 0
    data = json.loads(out.output)
    assert data["machines"]["pi-c884"]["controller"] == "pi_gcs"
    assert data["machines"]["grbl-default"]["max_rate_mm_s"] == [50.0, 50.0]
    assert data["aliases"] == {"default": "grbl-default"}
    text = CliRunner().invoke(main, ["machines"]).output
    assert "pi-c884: PI GCS 2.0" in text and "grbl-default (alias default)" in text


def test_a_zero_acceleration_profile_file_is_a_cli_error(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text((PROFILE_DIR / "grbl-default.toml").read_text().replace("accel_mm_s2 = [200.0, 200.0]",
                                                                           "accel_mm_s2 = [0, 200.0]"))
    out = CliRunner().invoke(main, ["qr", "x", "-o", str(tmp_path / "j.gcode"), "--machine", str(bad)])
    assert out.exit_code == 2 and "accel_mm_s2[0] must be > 0" in out.output
