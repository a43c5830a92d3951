"""The compiled kernels give byte- and bit-identical results to their numpy references: the
G-code formatter on every kind of row and number, the dialect scanner on lasergen's jobs and on
mutated lines (accepting and refusing exactly the same text)."""

import numpy as np
import pytest

from lasergen import kernels
from lasergen.backends.grbl.gcode import emit, fastread
from lasergen.job import render_job
from lasergen import Layer, Pattern
from lasergen.planner import plan
from lasergen import Recipe
from lasergen.recipe import PRESETS
from lasergen.toolpath import COLUMNS, Toolpath

pytestmark = pytest.mark.skipif(kernels.compiled is None, reason="built without the compiled kernels")


@pytest.fixture
def numpy_only(monkeypatch):
    def run(fn, *args):
        with monkeypatch.context() as m:
            m.setattr(kernels, "compiled", None)
            return fn(*args)
    return run


def _random_rows(n, seed):
    rng = np.random.default_rng(seed)
    decimals = rng.integers(0, 8, n)
    x1 = np.round(rng.uniform(-120, 120, n) * 10.0 ** decimals) / 10.0 ** decimals
    x1[::7], x1[::11], x1[::13] = -0.00004, 0.00005, 0.00015  # rounding to 0, half-way cases
    y1 = np.where(rng.random(n) < 0.5, x1, rng.uniform(-300, 300, n))
    y1[::17] = -0.0
    path = Toolpath.from_columns(
        kind=rng.integers(0, 3, n).astype(np.uint8), x1=x1, y1=y1,
        speed_mm_s=rng.choice([0.4, 3.0, 0.123456, 50.0, 1e-3, 7.77777], n),
        dwell_s=rng.choice([1.5, 0.0005, 0.12345, 2.0, 1e-4], n),
        energy_uJ=rng.choice([200.0, 0.0, 0.05, 123.456, 399.99, 0.04999], n),
        pass_id=np.repeat(np.arange(n // 50 + 1), 50)[:n])
    return path.chain((1.0, 2.0))


@pytest.mark.parametrize("seed", range(4))
def test_formatter_is_byte_identical_on_random_rows(machine, numpy_only, seed):
    path = _random_rows(5000, seed)
    inline = emit.inline_rapids(path)
    need_y, need_f = emit.modal_words(path, inline)
    assert emit.format_rows(path, machine, need_y, need_f, inline) == \
        emit.format_rows_numpy(path, machine, need_y, need_f, inline)



@pytest.mark.parametrize("seed", range(3))
def test_formatter_is_byte_identical_on_armed_rows(machine, numpy_only, seed):
    """Armed passes' forms (bare marks, `G0` lines before arming lines, Y and F each where
    needed), on random rows with random form bits and Z words."""
    path = _random_rows(5000, 10 + seed)
    rng = np.random.default_rng(seed)
    form = np.where(path.kind == 1, rng.integers(0, 8, len(path)), 0).astype(np.uint8)
    inline = emit.inline_rapids(path)
    need_y, need_f = emit.modal_words(path, inline)
    z_mode = rng.integers(0, 2, len(path)).astype(np.uint8)
    args = (path, machine, need_y, need_f, inline, z_mode, form)
    compiled = emit.format_rows(*args)
    assert compiled == emit.format_rows_numpy(*args)
    assert b"\nG0\nG1X" in compiled and b"\nX" in compiled


def test_formatter_is_byte_identical_across_magnitudes(machine, numpy_only):
    """Integer parts past the kernel's 4-digit table (F of a fast rapid rate, far coordinates)
    and fractions of every length, both signs."""
    rng = np.random.default_rng(21)
    n = 6000
    magnitude = 10.0 ** rng.integers(-5, 7, n)
    x1 = np.round(rng.uniform(-1, 1, n) * magnitude, int(rng.integers(0, 6)))
    path = Toolpath.from_columns(kind=rng.integers(0, 3, n).astype(np.uint8), x1=x1, y1=-x1[::-1],
                                 speed_mm_s=rng.uniform(0, 2000, n), dwell_s=rng.uniform(0, 20000, n),
                                 energy_uJ=rng.uniform(0, 2e4, n), pass_id=np.zeros(n, np.int32)).chain((0.0, 0.0))
    inline = emit.inline_rapids(path)
    need_y, need_f = emit.modal_words(path, inline)
    assert emit.format_rows(path, machine, need_y, need_f, inline) == \
        emit.format_rows_numpy(path, machine, need_y, need_f, inline)

def _jobs(machine):
    rng = np.random.default_rng(5)
    base = rng.random((30, 40)) < 0.5
    recipes = {**PRESETS, "rewrite": Recipe(passes=2, speed_mm_s=3.0), "dots": Recipe(mode="dots", dwell_s=0.75)}
    for origin in ((10.0, 20.0), (-5.3, -2.1)):
        pattern = Pattern(20.0, [Layer(base, "write", "w"), Layer(base & (rng.random(base.shape) < 0.4), "rewrite", "r"),
                                 Layer(rng.random(base.shape) < 0.05, "dots", "d")], origin, recipes)
        yield render_job(pattern, plan(pattern, machine.__class__(**{**machine.__dict__,
                                                                        "x_range_mm": (-50.0, 50.0),
                                                                        "y_range_mm": (-50.0, 50.0)})), machine)


def _same(a, b):
    if a is None or b is None:
        return a is None and b is None
    return all(np.array_equal(getattr(a[0], c), getattr(b[0], c), equal_nan=True) for c in COLUMNS) \
        and np.array_equal(a[1], b[1]) and a[2] == b[2]


def test_jobs_emit_identically(machine, numpy_only):
    """Whole jobs (armed raster passes, rewrite passes, dots) format the same both ways."""
    rng = np.random.default_rng(5)
    base = rng.random((30, 40)) < 0.5
    pattern = Pattern(20.0, [Layer(base, "write", "w")], (10.0, 20.0), dict(PRESETS))
    path = plan(pattern, machine)
    text = render_job(pattern, path, machine)
    assert "\nM4S0\n" in text and text == numpy_only(render_job, pattern, path, machine)


def test_jobs_emit_and_read_back_identically(machine, numpy_only):
    for text in _jobs(machine):
        data = text.encode()
        compiled = fastread.read_chunk(data, machine, fastread.ReadState())
        assert compiled is not None
        assert _same(compiled, numpy_only(fastread.read_chunk, data, machine, fastread.ReadState()))


def test_scanner_accepts_and_refuses_exactly_what_the_grammar_does(machine, numpy_only):
    rng = np.random.default_rng(9)
    lines = next(_jobs(machine)).splitlines()
    alphabet = list(b"0123456789.-XYFSPGM ;\n\xc3")
    for _ in range(400):
        picked = [bytearray(lines[i].encode()) for i in sorted(rng.choice(len(lines), 6, replace=False))]
        for line in picked:
            if rng.random() < 0.6 and line:
                at = int(rng.integers(0, len(line)))
                op = rng.integers(0, 3)
                if op == 0:
                    del line[at]
                elif op == 1:
                    line[at] = int(rng.choice(alphabet))
                else:
                    line.insert(at, int(rng.choice(alphabet)))
        data = b"\n".join(bytes(line) for line in picked) + b"\n"
        assert _same(fastread.read_chunk(data, machine, fastread.ReadState()),
                     numpy_only(fastread.read_chunk, data, machine, fastread.ReadState())), data


ARMED_LINES = ["G21G90G94", "M5", ";@pass 0 layer 0 recipe r mode raster name x", "M4S0", "G0X10.0759Y10.49",
               "G1X10.08Y10.49F24S0", "X10.22S200", "G0", "G1X10.24F6000S0", "X10.26F24S200", "G0X10.5041Y10.47",
               "G1X10.5Y10.47F3000S0", "X-10.48Y2Z0.1F24S200", "G0", "G1X10.4S0", "M5", "M3S0", "G0X1Y1",
               "G1X2F24S0", "G1X3S200", "M5", "G0X3Y3", "G1F3000M3S250", "G4P0.5", "M5"]


def test_scanner_accepts_and_refuses_armed_lines_exactly_as_the_grammar_does(machine, numpy_only):
    """Windows of an armed job (M4S0, bare marks, bare G0) from every spindle state, lines
    dropped, repeated or mutated: bare marks and bare G0 out of their context included."""
    rng = np.random.default_rng(13)
    alphabet = list(b"0123456789.-XYFSGM4\n")
    accepted = 0
    for _ in range(600):
        a = int(rng.integers(0, len(ARMED_LINES) - 1))
        window = [bytearray(line.encode()) for line in ARMED_LINES[a:a + int(rng.integers(1, 9))]]
        for _ in range(int(rng.integers(0, 3))):
            at, op = int(rng.integers(0, len(window))), rng.integers(0, 4)
            line = window[at]
            if op == 0 and len(window) > 1:
                del window[at]
            elif op == 1:
                window.insert(at, bytearray(line))
            elif line:
                line[int(rng.integers(0, len(line)))] = int(rng.choice(alphabet))
        data = b"\n".join(bytes(line) for line in window) + b"\n"
        state = fastread.ReadState(feed=24.0, on=float(rng.integers(0, 3)))
        compiled = fastread.read_chunk(data, machine, state)
        assert _same(compiled, numpy_only(fastread.read_chunk, data, machine, state)), (data, state.on)
        accepted += compiled is not None
    assert 150 < accepted < 550  # both sides of the grammar are tried


@pytest.mark.parametrize("chunk", [97, 500_000])
def test_estimate_is_bit_identical(machine, numpy_only, monkeypatch, chunk):
    from lasergen.backends.grbl import motion
    from lasergen.job import read_job

    monkeypatch.setattr(motion, "CHUNK_BLOCKS", chunk)
    for text in _jobs(machine):
        path = read_job(text, machine).toolpath
        assert motion.estimate(path, machine) == numpy_only(motion.estimate, path, machine)
    path = _random_rows(3000, 1)  # arbitrary angles, reversals, rapids and speeds
    assert motion.estimate(path, machine) == numpy_only(motion.estimate, path, machine)


def test_mark_bounds_are_identical(numpy_only):
    path = _random_rows(4000, 3)
    assert path.mark_bounds_mm() == numpy_only(path.mark_bounds_mm)


@pytest.mark.parametrize("reverse", [False, True])
def test_serpentine_runs_are_identical(numpy_only, reverse):
    from lasergen.raster import serpentine_runs, serpentine_runs_numpy

    rng = np.random.default_rng(11)
    for _ in range(300):  # empty rows and masks, single pixels, full rows, odd and even line counts
        mask = rng.random((int(rng.integers(0, 9)), int(rng.integers(0, 13)))) < rng.random()
        if mask.size and rng.random() < 0.3:
            mask[int(rng.integers(0, mask.shape[0])):] = False
        got, want = serpentine_runs(mask, reverse), serpentine_runs_numpy(mask, reverse)
        assert all(a.dtype == b.dtype and np.array_equal(a, b) for a, b in zip(got, want)), mask


def _raster_patterns():
    rng = np.random.default_rng(12)
    for shape, density, recipe in (((1, 1), 1.0, Recipe()), ((40, 60), 0.5, Recipe(passes=3)),
                                   ((25, 33), 0.1, Recipe(speed_mm_s=2.0, line_pitch_um=13.0, passes=2)),
                                   ((30, 30), 0.9, Recipe(overscan_mm=0.0)), ((12, 200), 0.97, Recipe(passes=2))):
        mask = rng.random(shape) < density
        mask[min(2, shape[0] - 1)] = False  # an empty line inside the pattern
        mask[0, 0] = True
        yield Pattern(20.0, [Layer(mask, "write", "w")], (10.0, 10.0), {**PRESETS, "write": recipe})


@pytest.mark.parametrize("profile", ["grbl-default", "pi-c884"])
def test_raster_plans_are_bit_identical(numpy_only, profile):
    """Every column of every raster plan (serpentine, gaps by G0 or G1, each kind of line
    change, lead-outs, reversed passes, a line pitch that resamples rows) from the kernels and
    from the numpy references."""
    from lasergen.machine import MachineProfile

    machine = MachineProfile.load(profile)
    for pattern in _raster_patterns():
        got, want = plan(pattern, machine), numpy_only(plan, pattern, machine)
        for name, dtype in COLUMNS.items():
            a, b = getattr(got, name), getattr(want, name)
            assert a.dtype == b.dtype == dtype and np.array_equal(a, b), name


def test_a_chained_build_equals_a_chain_of_separate_columns(machine):
    """The raster planner's start columns are views of its end columns (no copy when chained):
    the same toolpath as chaining separate copies, and chaining it again from another start
    moves only the first row's start."""
    mask = np.random.default_rng(13).random((20, 30)) < 0.5
    path = plan(Pattern(20.0, [Layer(mask, "write", "w")], (10.0, 10.0), PRESETS), machine)
    assert np.shares_memory(path.x0, path.x1) and np.shares_memory(path.y0, path.y1)
    copied = Toolpath(**{name: getattr(path, name).copy() for name in COLUMNS}).chain((0.0, 0.0))
    assert all(np.array_equal(getattr(path, c), getattr(copied, c)) for c in COLUMNS)
    for start in ((3.0, 4.0), (0.0, 0.0)):
        path.chain(start), copied.chain(start)
        assert all(np.array_equal(getattr(path, c), getattr(copied, c)) for c in COLUMNS)
