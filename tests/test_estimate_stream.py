"""`lasergen estimate` reads a job in pieces: the figures equal those of the whole toolpath,
whatever the piece size, for lasergen's own dialect and for G-code only the interpreter takes,
and a body edited after planning is still caught."""

from lasergen import Job
import json

import numpy as np
import pytest

from lasergen import LasergenError
from lasergen.backends.grbl import motion
from lasergen.backends.grbl.estimate import JobEstimate
from lasergen.backends.grbl.gcode import stream
from lasergen.job import estimate_job_file, read_job
from lasergen import Layer, Pattern
from lasergen import Recipe
from lasergen.recipe import PRESETS


@pytest.fixture(scope="module")
def job_text(machine_module):
    rng = np.random.default_rng(2)
    base = rng.random((40, 60)) < 0.5
    recipes = {**PRESETS, "rewrite": Recipe(passes=2, speed_mm_s=3.0), "dots": Recipe(mode="dots", dwell_s=0.75)}
    pattern = Pattern(20.0, [Layer(base, "write", "w"), Layer(base & (rng.random(base.shape) < 0.4), "rewrite", "r"),
                             Layer(rng.random(base.shape) < 0.05, "dots", "d")], (10.0, 10.0), recipes)
    return Job.plan(pattern, machine_module).text


@pytest.fixture(scope="module")
def machine_module():
    from lasergen import MachineProfile

    return MachineProfile.load()


@pytest.mark.parametrize("piece_bytes", [40, 997, 1 << 16])
def test_estimate_in_pieces_equals_the_whole_toolpath(tmp_path, monkeypatch, job_text, machine_module, piece_bytes):
    monkeypatch.setattr(motion, "CHUNK_BLOCKS", 333)  # several planning windows, cut anywhere by the pieces
    monkeypatch.setattr(stream, "PIECE_BYTES", piece_bytes)
    path = tmp_path / "job.gcode"
    path.write_text(job_text)
    whole = motion.estimate(read_job(path, machine_module).toolpath, machine_module)
    assert estimate_job_file(path, machine_module)[0] == whole
    foreign = tmp_path / "foreign.nc"  # another sender's spacing: only the interpreter reads it
    foreign.write_text("\r\n".join(line.replace("G1X", "G1 X") for line in job_text.splitlines()[3:]) + "\r\n")
    assert estimate_job_file(foreign, machine_module)[0] == \
        motion.estimate(read_job(foreign, machine_module).toolpath, machine_module)


def test_feeding_a_toolpath_in_any_cut_gives_the_same_figures(job_text, machine_module, monkeypatch):
    monkeypatch.setattr(motion, "CHUNK_BLOCKS", 101)
    path = read_job(job_text, machine_module).toolpath
    whole = motion.estimate(path, machine_module)
    for piece in (1, 13, 700):
        job = JobEstimate(machine_module)
        for start in range(0, len(path), piece):
            job.feed(path.take(slice(start, start + piece)))
        assert job.result() == whole


def test_an_edited_body_is_refused_and_errors_name_their_file_line(tmp_path, job_text, machine_module):
    path = tmp_path / "job.gcode"
    path.write_text(job_text.replace("S200\n", "S201\n", 1))
    with pytest.raises(LasergenError, match="checksum"):
        estimate_job_file(path, machine_module)
    lines = job_text.splitlines()
    bad = len(lines) - 3
    lines[bad] = "G1X1Y1F0S1 G4P-1"
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(LasergenError, match=f"line {bad + 1}: error:"):
        estimate_job_file(path, machine_module, check_sum=False)


def test_cli_estimate_streams(tmp_path, job_text, machine_module):
    from click.testing import CliRunner

    from lasergen_cli import main

    path = tmp_path / "job.gcode"
    path.write_text(job_text)
    out = CliRunner().invoke(main, ["estimate", "--json", str(path)])
    assert out.exit_code == 0, out.output
    got = json.loads(out.output)
    assert got["time_s"] == pytest.approx(motion.estimate(read_job(path, machine_module).toolpath, machine_module)["time_s"])


@pytest.mark.parametrize("piece_bytes", [40, 997, 1 << 16])
def test_toolpath_read_in_pieces_equals_read_job(tmp_path, monkeypatch, job_text, machine_module, piece_bytes):
    from lasergen.job import read_toolpath
    from lasergen.toolpath import COLUMNS

    monkeypatch.setattr(stream, "PIECE_BYTES", piece_bytes)
    path = tmp_path / "job.gcode"
    path.write_text(job_text)
    foreign = tmp_path / "foreign.nc"  # only the interpreter reads it
    foreign.write_text("\r\n".join(line.replace("G1X", "G1 X") for line in job_text.splitlines()[3:]) + "\r\n")
    for source in (path, foreign):
        whole = read_job(source, machine_module, check_sum=False).toolpath
        got, _ = read_toolpath(source, machine_module)
        assert len(got) == len(whole) > 0
        assert all(np.array_equal(getattr(got, c), getattr(whole, c)) for c in COLUMNS)
    assert len(read_toolpath(path, machine_module, pieces=True)[0]) > (1 if piece_bytes < 1000 else 0)
