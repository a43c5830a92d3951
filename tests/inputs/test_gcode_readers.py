"""The fast G-code reader against the GRBL-faithful interpreter, on generated programs.

Property: for any program (mostly in lasergen's own dialect, with numbers of every shape, F0,
zero-length moves, dots, pass markers, and foreign lines mixed in), the fast reader either
hands over (None) or yields exactly the interpreter's toolpath; where the interpreter refuses
a line (GRBL's error), the fast reader must hand over, never accept it.
"""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lasergen import LasergenError
from lasergen.backends.grbl.gcode.fastread import fast_read
from lasergen.backends.grbl.gcode.reader import interpret_program, read_program
from lasergen.job import read_job
from lasergen import MachineProfile

MACHINE = MachineProfile.load()
COLUMNS = ("kind", "x0", "y0", "x1", "y1", "speed_mm_s", "dwell_s", "energy_uJ", "pass_id", "layer")


def decimal(signed: bool):
    digits = st.sampled_from(["0", "1", "5", "10", "12", "999", "1234567", "00", "007"])
    frac = st.one_of(st.just(""), st.sampled_from([".0", ".5", ".25", ".000001", ".123456", ".1"]))
    sign = st.sampled_from(["", "-"]) if signed else st.just("")
    return st.builds(lambda s, d, f: s + d + f, sign, digits, frac)


NUM, POS = decimal(True), decimal(False)
UNITS = st.one_of(
    st.sampled_from(["G21G90G94", "M5", "M3S0", ";a comment", ";@pass x", ";@pass 2 layer", "G4P1", "M3S100",
                     "G1X1", "g1x1y1f100s1", "G2X1Y1I1J0F100S1", "G0X1", " G0X1Y1", "G1X1Y1F100S10 ", "$H"]),
    st.builds("G0X{}Y{}".format, NUM, NUM),
    st.builds(lambda x, y, f, s: f"G1X{x}" + (f"Y{y}" if y else "") + (f"F{f}" if f else "") + f"S{s}",
              NUM, st.one_of(st.none(), NUM), st.one_of(st.none(), POS), POS),
    st.builds("G1F{}M3S{}\nG4P{}\nM5".format, POS, POS, POS),
    st.builds(";@pass {} layer {} recipe write mode dots name t".format, st.integers(0, 9), st.integers(0, 3)),
)


def program(units):
    return st.lists(units, min_size=1, max_size=25).map(lambda us: "\n".join(us).split("\n"))


def columns(path):
    return {c: np.asarray(getattr(path, c)) for c in COLUMNS}


def assert_same(fast, interp):
    path, rows = fast
    assert np.array_equal(rows, interp.row_line)
    a, b = columns(path), columns(interp.toolpath)
    for c in COLUMNS:
        assert np.array_equal(a[c], b[c]), (c, a[c], b[c])


@settings(max_examples=400, deadline=None)
@given(lines=program(UNITS))
def test_fast_reader_agrees_with_the_interpreter_or_hands_over(lines):
    fast = fast_read(lines, MACHINE)
    try:
        interp = interpret_program(lines, MACHINE)
    except LasergenError as exc:
        assert "error:" in str(exc) and "\n" not in str(exc)
        assert fast is None, f"fast reader accepted what GRBL refuses: {exc}"
        return
    if fast is not None:
        assert_same(fast, interp)
    out = read_program(lines, MACHINE)
    assert np.array_equal(out.toolpath.kind, interp.toolpath.kind)


def test_f0_is_refused_at_read_time():
    lines = ["G21G90G94", "M3S0", "G1X1Y1F0S10", "M5"]
    assert fast_read(lines, MACHINE) is None
    with pytest.raises(LasergenError, match="error:22"):
        read_job("\n".join(lines) + "\n", MACHINE)


def test_pass_ids_of_zero_length_dots_before_a_marker_agree():
    lines = ["G21G90G94", "M5", "G1F3000M3S100", "G4P1", "M5", "G1F3000M3S100", "G4P1", "M5",
             ";@pass 5 layer 1 recipe x mode dots name a", "G0X1Y1", "G1F3000M3S100", "G4P1", "M5", "M5"]
    fast = fast_read(lines, MACHINE)
    assert fast is not None
    assert_same(fast, interpret_program(lines, MACHINE))
    assert fast[0].pass_id.tolist() == [0, 1, 5, 5]


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=400))
def test_binary_job_is_one_line_error(data, tmp_path_factory):
    path = tmp_path_factory.mktemp("bin") / "junk.gcode"
    path.write_bytes(data)
    try:
        read_job(path, MACHINE, check_sum=False)
    except LasergenError as exc:
        assert "\n" not in str(exc)


@pytest.mark.parametrize("command", [["stream", "{job}", "--port", "sim://"], ["estimate", "{job}"],
                                     ["simulate", "{job}", "--out", "{tmp}/s"], ["verify", "{job}"]])
def test_binary_file_given_as_job_is_one_line_exit_2(tmp_path, command):
    from click.testing import CliRunner

    from lasergen_cli import main

    job = tmp_path / "photo.gcode"
    job.write_bytes(bytes(range(256)) * 8)
    res = CliRunner().invoke(main, [a.format(job=job, tmp=tmp_path) for a in command])
    assert res.exit_code == 2 and res.stderr.count("\n") == 1, res.output
    assert "not a text" in res.stderr and "Traceback" not in res.output


HEADER_CHUNK = st.one_of(st.text(max_size=40), st.sampled_from(['{"format":"lasergen-job","version":1}', "[1,2]", "null",
                                                                 '"text"', '{"format":"lasergen-job"', "NaN", "{}"]))


@settings(max_examples=200, deadline=None)
@given(chunks=st.lists(HEADER_CHUNK, max_size=4), first=st.sampled_from([";@lasergen lasergen-job v1", ";@lasergen"]))
def test_job_header_reads_or_is_one_line_error(chunks, first):
    from lasergen.job import parse_header

    lines = [first] + [";@m " + c.replace("\n", " ") for c in chunks] + ["G21G90G94", "M5"]
    try:
        manifest, body_start = parse_header(lines)
    except LasergenError as exc:
        assert "\n" not in str(exc)
        return
    if manifest is None:  # no header: the whole file is the body
        assert body_start == 0 and not first.startswith(";@lasergen ")
    else:
        assert isinstance(manifest, dict) and lines[body_start] == "G21G90G94"
