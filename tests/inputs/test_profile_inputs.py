"""Machine profiles given on the command line: any bad value (nan, inf, negative, zero, a string
or a list where a number goes) is one line and exit 2, or a profile that plans; never a traceback."""

import tomllib
from pathlib import Path

from click.testing import CliRunner
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import lasergen
from lasergen_cli import main

PROFILE = (Path(lasergen.__file__).parent / "profiles" / "grbl-default.toml").read_text()
BAD = st.sampled_from(["nan", "inf", "-inf", "-1.0", "0", "1e300", '"ten"', "[]", "[1.0]", "true"])


def numbers(table, path=()):
    for k, v in table.items():
        if isinstance(v, dict):
            yield from numbers(v, path + (k,))
        elif isinstance(v, (int, float)) and not isinstance(v, bool):
            yield path + (k,)
        elif isinstance(v, list):
            yield path + (k,)


def replace_value(text: str, path: tuple, value: str) -> str:
    """The profile text with `path`'s value replaced (TOML written back line by line)."""
    table, key, out, current = ".".join(path[:-1]), path[-1], [], ""
    for line in text.splitlines():
        stripped = line.split("#")[0].strip()
        if stripped.startswith("["):
            current = stripped.strip("[]")
        if current == table and stripped.split("=")[0].strip() == key:
            line = f"{key} = {value}"
        out.append(line)
    return "\n".join(out) + "\n"


PATHS = list(numbers(tomllib.loads(PROFILE)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(path=st.sampled_from(PATHS), value=BAD)
def test_bad_machine_profile_value_is_one_line(tmp_path, path, value):
    profile = tmp_path / "m.toml"
    profile.write_text(replace_value(PROFILE, path, value))
    res = CliRunner().invoke(main, ["qr", "P", "-o", str(tmp_path / "q.gcode"), "--machine", str(profile)])
    assert res.exit_code in (0, 2), (path, value, res.output)
    if res.exit_code == 2:
        assert res.exit_code == 2 and res.stderr.count("\n") == 1 and res.stderr.startswith("lasergen: error:")


def test_a_grbl_register_value_beyond_its_range_is_one_line(tmp_path):
    """GRBL keeps $1 (the stepper idle lock) in one byte, 0-255 ms (255: never idle): a larger
    value was taken and planned every stop of the job as waiting that long."""
    profile = tmp_path / "m.toml"
    profile.write_text(replace_value(PROFILE, ("grbl", "stepper_idle_lock_ms"), "1e300"))
    res = CliRunner().invoke(main, ["qr", "P", "-o", str(tmp_path / "q.gcode"), "--machine", str(profile)])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1, res.output
    assert "stepper_idle_lock_ms" in res.stderr and "<= 255" in res.stderr
    profile.write_text(replace_value(PROFILE, ("grbl", "stepper_idle_lock_ms"), "255"))
    assert CliRunner().invoke(main, ["qr", "P", "-o", str(tmp_path / "q.gcode"), "--machine", str(profile)]).exit_code == 0
