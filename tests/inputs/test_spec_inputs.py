"""Specs: every table and key known, every number finite and in range, typos named.

A typo'd `[patern]` or `orgin_mm` used to write the job at the default origin without a word.
Property-based: a valid spec with one key misspelt anywhere, or one number replaced by nan,
inf, a negative, a string or a list of the wrong length, must give a LasergenError (one line,
naming the key), never another exception and never a silently changed job.
"""

import copy
import tomllib

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lasergen import LasergenError
from lasergen.spec import pattern_from_spec
from lasergen_cli import main

LAYERS = {"pattern": {"pitch_um": 20.0, "origin_mm": [12.0, 14.0], "material": "BrI"},
          "recipes": {"write": {"energy_uJ": 180.0, "speed_mm_s": 0.5}},
          "layers": [{"name": "t", "recipe": "write", "offset_px": [1, 2],
                      "source": {"kind": "text", "text": "E", "height_um": 300.0, "pitch_um": 20.0}},
                     {"name": "q", "recipe": "rewrite", "clip_to": "t",
                      "source": {"kind": "qr", "data": "HI", "module_um": 20.0, "quiet_zone": 2}}]}
LEVELS = {"pattern": {"origin_mm": [10.0, 10.0]},
          "levels": {"daylight": "nothing", "accept_leak": False,
                     "uv365": {"source": {"kind": "text", "text": "EF", "height_um": 300.0}},
                     "uv365_lp645": {"source": {"kind": "text", "text": "F", "height_um": 300.0}, "offset_px": [0, 0]}}}
CALIBRATION = {"pattern": {"origin_mm": [20.0, 20.0]},
               "calibration": {"mode": "dots", "energies_uJ": [100.0, 200.0], "dwells_s": [0.5, 1.0],
                               "cell_um": 200.0, "pitch_um": 20.0, "line_um": 120.0}}
SPECS = {"layers": LAYERS, "levels": LEVELS, "calibration": CALIBRATION}


def tables(spec, path=()):
    """Every (path, table) of a spec: the tables a key can be misspelt in."""
    if isinstance(spec, dict):
        yield path, spec
        for k, v in spec.items():
            yield from tables(v, path + (k,))
    elif isinstance(spec, list):
        for i, v in enumerate(spec):
            yield from tables(v, path + (i,))


def numbers(spec, path=()):
    """Every (path) of a number in a spec."""
    if isinstance(spec, dict):
        items = spec.items()
    elif isinstance(spec, list):
        items = enumerate(spec)
    else:
        return
    for k, v in items:
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            yield path + (k,)
        else:
            yield from numbers(v, path + (k,))


def at(spec, path):
    for k in path:
        spec = spec[k]
    return spec


@pytest.mark.parametrize("kind", sorted(SPECS))
def test_valid_specs_plan(kind):
    assert pattern_from_spec(copy.deepcopy(SPECS[kind])).layers


@pytest.mark.parametrize("text, names", [
    ('[patern]\norigin_mm = [50, 50]\n[[layers]]\nsource = {kind = "text", text = "E"}\n', ["patern", "pattern"]),
    ('[pattern]\norgin_mm = [50, 50]\n[[layers]]\nsource = {kind = "text", text = "E"}\n', ["orgin_mm", "origin_mm"]),
    ('[calibration]\nenergies_uJ = [100]\n[pattern]\npitch_um = 5\n', ["pitch_um"]),
    ('[pattern]\norigin_mm = [nan, 10]\n[[layers]]\nsource = {kind = "text", text = "E"}\n', ["origin_mm", "nan"]),
    ('[recipes.write]\nspeed_mm_s = inf\n[[layers]]\nsource = {kind = "text", text = "E"}\n', ["speed_mm_s", "inf"]),
    ('[[layers]]\nsource = {kind = "qr", data = "X", module_um = nan}\n', ["module_um", "nan"]),
    ('[[layers]]\nsource = {kind = "text", text = "E", height_um = "1000"}\n', ["height_um", "'1000'"]),
    ('[[layers]]\noffset_px = [1.5, 0]\nsource = {kind = "text", text = "E"}\n', ["offset_px", "1.5"]),
])
def test_spec_typos_and_bad_numbers_are_named(text, names):
    with pytest.raises(LasergenError) as err:
        pattern_from_spec(tomllib.loads(text))
    message = str(err.value)
    assert "\n" not in message and all(n in message for n in names), message


def test_typo_table_is_exit_2_on_the_command_line(tmp_path):
    spec = tmp_path / "s.toml"
    spec.write_text('[patern]\norigin_mm = [50, 50]\n[[layers]]\nsource = {kind = "text", text = "E"}\n')
    res = CliRunner().invoke(main, ["pattern", str(spec), "-o", str(tmp_path / "j.gcode")])
    assert res.exit_code == 2 and "patern" in res.stderr and res.stderr.count("\n") == 1
    assert not (tmp_path / "j.gcode").exists()


@settings(max_examples=150, deadline=None)
@given(kind=st.sampled_from(sorted(SPECS)), data=st.data(),
       typo=st.text(alphabet="abcdefghijklmnopqrstuvwxyz_", min_size=1, max_size=12))
def test_an_unknown_key_anywhere_is_named(kind, data, typo):
    spec = copy.deepcopy(SPECS[kind])
    candidates = [p for p, t in tables(spec) if not (p and p[-1] == "recipes") and p != ("levels",)]
    path = data.draw(st.sampled_from(candidates))
    table = at(spec, path)
    key = "x_" + typo
    table[key] = 1.0
    with pytest.raises(LasergenError, match=key):
        pattern_from_spec(spec)


BAD_NUMBERS = st.one_of(st.sampled_from([float("nan"), float("inf"), float("-inf"), -1.0, 0.0, 1e300, -1e300, 1e12]),
                        st.text(max_size=5), st.lists(st.floats(), max_size=3), st.booleans(), st.none(),
                        st.floats(), st.integers(min_value=-10**20, max_value=10**20))


@settings(max_examples=300, deadline=None)
@given(kind=st.sampled_from(sorted(SPECS)), data=st.data(), value=BAD_NUMBERS)
def test_any_bad_number_is_refused_or_planned_never_crashes(kind, data, value):
    spec = copy.deepcopy(SPECS[kind])
    path = data.draw(st.sampled_from(list(numbers(spec))))
    at(spec, path[:-1])[path[-1]] = value
    try:
        pattern = pattern_from_spec(spec)
    except LasergenError as exc:
        assert "\n" not in str(exc)
        return
    # accepted: then the value was a sane number and the pattern carries it
    assert pattern.layers and all(abs(v) < 1e4 for v in pattern.origin_mm)
