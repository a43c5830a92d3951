"""The readers of lasergen's dialect on armed raster passes (M4S0, an arming `G1X..S0` line, the
bare mark `X..S<p>`, a bare `G0` disarm): the vectorised reader gives the interpreter's
toolpath, its numpy and compiled scanners agree, pieces carry M4 across their boundaries, and
what the armed dialect never writes (a bare mark after a G0, a bare G0 under M3, a bare mark
first) is left to the interpreter, which reads it as GRBL would."""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from drivers.grbl import job_table as jt
from lasergen import kernels
from lasergen.backends.grbl.gcode import fastread as fr
from lasergen.backends.grbl.gcode.reader import interpret_program, read_program
from lasergen.machine import MachineProfile
from lasergen.toolpath import COLUMNS, LINE, RAPID

MACHINE = MachineProfile.load()

ARMED = """G21G90G94
M5
;@pass 0 layer 0 recipe r mode raster name x
M4S0
G0X10.0759Y10.49
G1X10.08Y10.49F24S0
X10.22S200
G0
G1X10.24F6000S0
X10.26F24S200
G0X10.5041Y10.47
G1X10.5Y10.47F3000S0
X10.48F24S200
M5
M5
"""


def _both(fn, *args):
    """fn(*args) with the compiled scanner and with the numpy reference."""
    saved = kernels.compiled
    try:
        compiled = fn(*args)
        kernels.compiled = None
        return compiled, fn(*args)
    finally:
        kernels.compiled = saved


def _same_read(a, b):
    if a is None or b is None:
        return a is None and b is None
    return all(np.array_equal(getattr(a[0], c), getattr(b[0], c), equal_nan=True) for c in COLUMNS) \
        and np.array_equal(a[1], b[1]) and a[2] == b[2]


def assert_reads_as_the_interpreter(text: str):
    lines = text.splitlines()
    ref = interpret_program(lines, MACHINE)
    for fast in _both(fr.fast_read, lines, MACHINE):
        assert fast is not None, "an armed body must take the vectorised path"
        for name in COLUMNS:
            np.testing.assert_array_equal(getattr(fast[0], name), getattr(ref.toolpath, name), err_msg=name)
        np.testing.assert_array_equal(fast[1], ref.row_line)
    compiled, numpy_ = _both(fr.read_chunk, text.encode(), MACHINE, fr.ReadState())
    assert _same_read(compiled, numpy_)


def test_a_hand_written_armed_pass_reads_as_the_interpreter():
    assert_reads_as_the_interpreter(ARMED)
    path, row_line = fr.fast_read(ARMED.splitlines(), MACHINE)
    marks = path.is_mark
    assert path.kind.tolist() == [RAPID, LINE, LINE, LINE, LINE, RAPID, LINE, LINE]
    assert row_line[marks].tolist() == [6, 9, 12]  # the bare lines are the marks; a bare G0 makes no row
    np.testing.assert_allclose(path.x1[marks], [10.22, 10.26, 10.48])
    np.testing.assert_allclose(path.speed_mm_s[marks] * 60.0, [24.0, 24.0, 24.0])  # F carried into a bare mark
    np.testing.assert_allclose(path.speed_mm_s[row_line == 8] * 60.0, [6000.0])


def test_the_scan_carries_m4_as_spindle_2_and_keeps_on_truthy():
    for scan in _both(fr.scan_text, ARMED):
        assert scan.kind.tolist() == [0, 5, 0, 6, 1, 2, 7, 8, 2, 7, 1, 2, 7, 5, 5]
        assert scan.spindle.tolist() == [0, 0, 0] + [fr.M4_ON] * 10 + [0, 0]
        assert scan.on.dtype == bool and scan.on.tolist() == [s > 0 for s in scan.spindle]
    old = "M3S0\nG0X1Y1\nG1X2F24S200\nM5\nG0X3Y3\nG1F3000M3S250\nG4P0.5\nM5\n"
    for scan in _both(fr.scan_text, old):
        assert scan.spindle.tolist() == [fr.M3_ON] * 3 + [0, 0, fr.M3_ON, fr.M3_ON, 0]
    _, _, after = fr.read_chunk(b"M4S0\nG0X1Y1\n", MACHINE, fr.ReadState())
    assert after.on == fr.M4_ON and after.on  # the state handed to the next piece


@pytest.mark.parametrize("body, why", [
    ("M4S0\nG0X1Y1\nX2F24S200\nM5\n", "a bare X after a G0: GRBL moves it as a G0, beam off"),
    ("M3S0\nG0X1Y1\nG1X2F24S0\nG0\nG0X3Y1\nM5\n", "a bare G0 under M3: GRBL synchronises on it"),
    ("X2F24S200\n", "a bare X first: no arming line before it"),
    ("M4S0\nG0X1Y1\nG1X2F24S0\nX3S200\nX4S200\nM5\n", "two marks chained"),
    ("M4S0\nG0X1Y1\nG1X2F24S0\n;note\nX3S200\nM5\n", "a line between the arming line and its mark"),
    ("G0\nG0X1Y1\n", "a bare G0 before any M4"),
    ("M4S0\nG0X1Y1\nG1X2F24S0\nX3F0S200\nM5\n", "F0 on a bare mark: error:22"),
])
def test_what_the_armed_dialect_never_writes_goes_to_the_interpreter(body, why):
    lines = body.splitlines()
    assert _both(fr.fast_read, lines, MACHINE) == (None, None), why
    assert _same_read(*_both(fr.read_chunk, body.encode(), MACHINE, fr.ReadState()))
    if "F0" in body:
        with pytest.raises(Exception, match="error:22"):
            read_program(lines, MACHINE)
        return
    ref = interpret_program(lines, MACHINE)
    assert read_program(lines, MACHINE).toolpath.kind.tolist() == ref.toolpath.kind.tolist()


def test_out_of_dialect_lines_read_as_grbl_would():
    after_g0 = read_program("M4S0\nG0X1Y1\nX2F24S200\nM5\n".splitlines(), MACHINE).toolpath
    assert after_g0.kind.tolist() == [RAPID, RAPID] and not after_g0.is_mark.any()  # G0 by mode: never fires
    under_m3 = read_program("M3S0\nG0X1Y1\nG1X2F24S0\nG0\nX3S200\nM5\n".splitlines(), MACHINE).toolpath
    assert under_m3.kind.tolist() == [RAPID, LINE, RAPID] and not under_m3.is_mark.any()


# ---- generated armed jobs ---------------------------------------------------------------------

def _num(v: float) -> str:
    return f"{v:.4f}".rstrip("0").rstrip(".")


coord = st.integers(-200_000, 600_000).map(lambda v: _num(v / 10_000))
feed = st.sampled_from(["24", "60", "3000", "6000", "1.5"])
power = st.sampled_from(["0", "0.5", "200", "1000"])
maybe = lambda s: st.one_of(st.just(""), s)  # noqa: E731


@st.composite
def armed_pass(draw):
    """A raster pass as the armed dialect writes it: restarts, arming lines, bare marks, disarms."""
    lines = ["M4S0"]
    for _ in range(draw(st.integers(1, 3))):
        lines.append(f"G0X{draw(coord)}Y{draw(coord)}" + draw(maybe(coord.map(lambda z: "Z" + z.lstrip("-")))))
        for k in range(draw(st.integers(1, 4))):
            if k:
                lines.append("G0")
            lines.append(f"G1X{draw(coord)}" + draw(maybe(coord.map("Y{}".format))) + f"F{draw(feed)}S0")
            lines.append(f"X{draw(coord)}" + draw(maybe(coord.map("Y{}".format))) + draw(maybe(feed.map("F{}".format)))
                         + f"S{draw(power)}")
        if draw(st.booleans()):
            lines += ["G0", f"G1X{draw(coord)}S0"]  # a lead-out at writing speed
    return lines + ["M5"]


@st.composite
def old_pass(draw):
    """A pass in the M3 dialect (a vector chain, or dots)."""
    if draw(st.booleans()):
        return ["M3S0", f"G0X{draw(coord)}Y{draw(coord)}", f"G1X{draw(coord)}F{draw(feed)}S0",
                f"G1X{draw(coord)}Y{draw(coord)}S{draw(power)}", "M5"]
    return [f"G0X{draw(coord)}Y{draw(coord)}", f"G1F3000M3S{draw(power)}", "G4P0.25", "M5"]


@st.composite
def armed_job(draw):
    markers = draw(st.booleans())
    lines = ["G21G90G94", "M5"]
    for i, part in enumerate(draw(st.lists(st.one_of(armed_pass(), old_pass()), min_size=1, max_size=4))):
        if markers:
            lines.append(f";@pass {i} layer {i % 2} recipe r mode raster name p")
        lines += part
    return "\n".join(lines + ["M5"]) + "\n"


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(armed_job(), st.integers(1, 10**6))
def test_generated_armed_jobs_read_as_the_interpreter_whole_and_in_pieces(text, cut_seed):
    assert_reads_as_the_interpreter(text)
    # in two pieces at any line the job table may cut at (never right before a bare mark)
    data = text.encode()
    ends = [i + 1 for i, b in enumerate(data) if b == 10][:-1]
    cuts = [c for c in ends if data[c:c + 1] != b"X" and not data[data.rfind(b"\n", 0, c - 1) + 1:].startswith((b"G1F", b"G4"))]
    if not cuts:
        return
    cut = cuts[cut_seed % len(cuts)]
    whole = fr.read_chunk(data, MACHINE, fr.ReadState())
    for first in _both(fr.read_chunk, data[:cut], MACHINE, fr.ReadState()):
        second = fr.read_chunk(data[cut:], MACHINE, first[2])
        assert second is not None
        for name in COLUMNS:
            np.testing.assert_array_equal(np.r_[getattr(first[0], name), getattr(second[0], name)],
                                          getattr(whole[0], name), err_msg=name)
        np.testing.assert_array_equal(np.r_[first[1], second[1]], whole[1])


# ---- the job table's pieces -------------------------------------------------------------------

def test_pieces_never_end_between_an_arming_line_and_its_mark(tmp_path):
    body = ARMED * 40
    data = body.encode()
    for piece_bytes in (8, 17, 23, 40, 64):
        at = 0
        while at < len(data):
            cut = jt._piece_end(data, at, piece_bytes)
            assert cut > at and data[cut:cut + 1] != b"X", (piece_bytes, cut)
            at = cut
    job = tmp_path / "armed.gcode"
    job.write_bytes(data)
    fast = jt.job_table(job, MACHINE, piece_bytes=23)
    assert fast.texts is None, "an armed job in pieces must take the dialect path"
    slow = jt.job_table(job, MACHINE, dialect=False)
    # where GRBL synchronises: M4S0 after M5 and M5 after M4 do, a bare G0 under M4 never does
    np.testing.assert_array_equal(fast.sync, slow.sync)
    np.testing.assert_array_equal(fast.laser_on_before, slow.laser_on_before)
    np.testing.assert_array_equal(fast.offsets[1:], np.cumsum([len(line) + 1 for line in body.splitlines()]))
    bare_g0 = np.array([line == "G0" for line in body.splitlines()])
    assert not fast.sync[bare_g0].any() and fast.sync[np.array([line == "M4S0" for line in body.splitlines()])].all()
