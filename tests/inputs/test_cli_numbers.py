"""Every numeric option refuses nan, inf, out-of-range and non-numbers: one line on stderr, exit 2.

Property-based (hypothesis): for each option of each command, values drawn from the bad side
of its range (lasergen.quantities) must be refused before any work is done, naming the option.
"""

import math

import pytest
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from lasergen import LasergenError
from lasergen.quantities import QUANTITIES
from lasergen_cli import main
from lasergen_cli.common import Number

# (command line before the option, option, kind of number)
QR = ["qr", "HELLO", "-o", "{tmp}/q.gcode"]
BITMAP = ["bitmap", "{tmp}/img.png", "-o", "{tmp}/b.gcode"]
SIM = ["simulate", "{tmp}/job.gcode", "--out", "{tmp}/sim"]
OPTIONS = [
    (QR, "--energy-uj", "energy_uJ"), (QR, "--rep-rate-khz", "rep_rate_kHz"), (QR, "--speed-mm-s", "speed_mm_s"),
    (QR, "--line-pitch-um", "line_pitch_um"), (QR, "--dwell-s", "dwell_s"), (QR, "--passes", "passes"),
    (QR, "--module-um", "module_um"), (QR, "--quiet-zone", "quiet_zone"), (QR, "--mask", "qr_mask"),
    (BITMAP, "--pixel-um", "pitch_um"), (BITMAP, "--width-um", "width_um"), (BITMAP, "--threshold", "threshold"),
    (BITMAP, "--page", "page"), (BITMAP, "--max-megapixels", "megapixels"),
    (SIM, "--heat-treat", "temperature_c"), (SIM, "--heat-treat-hours", "hours"), (SIM, "--pitch-um", "sim_pitch_um"),
    (SIM, "--um-per-px", "um_per_px"), (SIM, "--filter-edge-nm", "wavelength_nm"),
    (["check-photo", "{tmp}/img.png"], "--fraction", "fraction"),
    (["batch", "--serials", "S%d", "--out", "{tmp}/b"], "--count", "count"),
    (["batch", "--serials", "S%d", "--count", "2", "--out", "{tmp}/b"], "--workers", "workers"),
    (["sim", "serve"], "--tcp", "tcp_port"), (["sim", "serve", "--pty"], "--baud", "baud"),
    (["sim", "serve", "--pty"], "--corrupt", "probability"),
]


def bad_values(kind: str):
    q = QUANTITIES[kind]
    below = st.floats(max_value=q.lo, exclude_max=not q.lo_open, allow_nan=False, allow_infinity=False)
    above = st.floats(min_value=q.hi, exclude_min=True, allow_nan=False, allow_infinity=False)
    special = st.sampled_from(["nan", "inf", "-inf", "NaN", "1e999", "ten", "", "0x10", "1,5"])
    out = st.one_of(below.map(repr), above.map(repr), special)
    if q.integer:
        fractional = st.floats(min_value=q.lo, max_value=q.hi).filter(lambda v: v != int(v)).map(repr)
        out = st.one_of(out, fractional)
    return out


@pytest.fixture(scope="module")
def tmp(tmp_path_factory):
    return tmp_path_factory.mktemp("numbers")


@pytest.mark.parametrize("before, option, kind", OPTIONS, ids=[o for _, o, _ in OPTIONS])
@settings(max_examples=12, deadline=None)
@given(data=st.data())
def test_bad_number_is_one_line_exit_2(tmp, before, option, kind, data):
    value = data.draw(bad_values(kind))
    args = [a.format(tmp=tmp) for a in before] + [f"{option}={value}"]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2, (args, res.output)
    lines = res.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith(f"lasergen: error: {option}:"), lines
    assert "Traceback" not in res.output and res.stdout == ""


@pytest.mark.parametrize("option, value", [("--origin", "nan,nan"), ("--origin", "inf,10"), ("--origin", "10"),
                                           ("--origin", "1e12,5"), ("--origin", "1,2,3")])
def test_bad_origin(tmp, option, value):
    res = CliRunner().invoke(main, ["qr", "HI", "-o", str(tmp / "q.gcode"), option, value])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1 and "--origin" in res.stderr


@given(kind=st.sampled_from(sorted(QUANTITIES)), data=st.data())
@settings(max_examples=200, deadline=None)
def test_number_type_accepts_exactly_its_range(kind, data):
    q = QUANTITIES[kind]
    value = data.draw(st.floats(min_value=q.lo, max_value=q.hi, exclude_min=q.lo_open))
    if q.integer:
        value = float(math.ceil(value)) if math.ceil(value) <= q.hi else float(math.floor(value))
    assert Number(kind).convert(repr(value), None, None) == value
    with pytest.raises(LasergenError):
        q.check(str(value))  # text is a number only where typed (the CLI), never in a spec


def test_missing_output_folder_is_one_line(tmp):
    res = CliRunner().invoke(main, ["qr", "HI", "-o", str(tmp / "no" / "such" / "q.gcode")])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1
    assert "does not exist" in res.stderr and "Errno" not in res.stderr
