"""Simulator pipeline: beam-history seam, G-code equivalence, acceleration, orientation, QR end to end."""

from __future__ import annotations

from lasergen import Job

import numpy as np
import pytest

from hardware_sim.batch import history_of
from hardware_sim.glass.exposure import cut_into_pieces
from hardware_sim.glass.simulate import simulate, write_outputs
from hardware_sim.glass.verify import check_views, decode_qr
from hardware_sim.ledger import ExposureLedger
from lasergen import LasergenError
from lasergen.job import read_job
from lasergen import Layer, Pattern
from lasergen import Recipe
from lasergen.sources import make_artwork

from .sim_helpers import MACHINE, line_path, run


def test_history_save_load_append_concat(tmp_path):
    led = history_of(line_path(0.4, passes=2), MACHINE)
    assert led.is_exposure.sum() == 2 and (led.beam_on == 0).any()  # two exposures, travel between them
    led.save(tmp_path / "l.npz")
    back = ExposureLedger.load(tmp_path / "l.npz")
    assert all(np.array_equal(getattr(led, c), getattr(back, c)) for c in ("x0", "duration_s", "z1", "t_start_s"))
    grown = ExposureLedger.concat([led, led.take([0])])
    grown.append(x0=1.0, y0=1.0, duration_s=1.5, energy_uJ=200.0, rep_rate_kHz=10.0, t_start_s=99.0)
    assert len(grown) == len(led) + 2 and grown.is_dwell.tolist()[-1]
    with pytest.raises(LasergenError, match="unknown column.*pass_id"):
        ExposureLedger.from_columns(pass_id=[1])



def test_a_ledger_is_saved_whole_or_not_at_all(tmp_path, monkeypatch):
    """`sim serve` saves its ledger on request while a client may be reading it: a save cut
    short (here, the writer fails half-way) leaves the previous file as it was, and no debris."""
    led = history_of(line_path(0.4, passes=2), MACHINE)
    target = tmp_path / "serve.ledger.npz"
    led.save(target)
    before = target.read_bytes()

    def half_written(file, **columns):
        file.write(b"PK\x03\x04 half a zip")
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez_compressed", half_written)
    with pytest.raises(OSError, match="disk full"):
        led.take([0]).save(target)
    assert target.read_bytes() == before and ExposureLedger.load(target).is_exposure.sum() == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["serve.ledger.npz"]

def test_ledger_and_gcode_give_identical_predictions(tmp_path):
    mask = np.zeros((6, 6), bool)
    mask[1:5, 1:4] = True
    pattern = Pattern(20.0, [Layer(mask, "write", "a"), Layer(mask & (np.arange(6) < 3)[:, None], "rewrite", "b")],
                      (5.0, 5.0), {"write": Recipe(), "rewrite": Recipe()})
    text = Job.plan(pattern, MACHINE).text
    job = read_job(text, MACHINE)
    from_gcode = simulate(job, MACHINE, "BrI")
    history_of(job, MACHINE).save(tmp_path / "job.npz")
    from_ledger = simulate(ExposureLedger.load(tmp_path / "job.npz"), MACHINE, "BrI")
    assert np.array_equal(from_gcode.exposure.crystallized, from_ledger.exposure.crystallized)
    assert np.array_equal(from_gcode.maps.red_peak_nm, from_ledger.maps.red_peak_nm)
    assert from_gcode.exposure.rewrites.max() > 0.5  # the second layer did rewrite


def test_marks_written_while_accelerating_get_more_dose_per_length():
    # hand-written: the rapid comes from the right, so the mark reverses it and starts from rest;
    # the executor's own profile says so, and the beam lingers where the stage is still slow
    led = history_of("G21G90G94\nG0X6Y5\nG0X5\nM3S200\nG1X5.5F300\nM5\n", MACHINE).exposures()
    assert len(led) == 1 and led.v_entry[0] == 0 and led.v_peak[0] == pytest.approx(5.0)
    pieces = cut_into_pieces(led, 2.0)
    per_length = pieces.dt_s  # equal-length pieces
    assert per_length[0] > 5 * per_length[len(per_length) // 2]
    assert pieces.dt_s.sum() == pytest.approx(led.duration_s.sum())


def test_f_reads_as_f_from_the_laser_side():
    art = make_artwork({"kind": "text", "text": "F", "height_um": 240.0, "pitch_um": 10.0})
    pattern = Pattern(art.pitch_um, [Layer(art.mask, "write", "F")], (5.0, 5.0), {"write": Recipe(line_pitch_um=10.0)})
    pred = simulate(Job.plan(pattern, MACHINE).toolpath, MACHINE, "BrI", pitch_um=2.0)
    img = pred.render("uv365", um_per_px=10.0).rgb.sum(axis=2).astype(float)
    rows, cols = np.nonzero(img > 0.4 * img.max())
    crop = img[rows.min():rows.max() + 1, cols.min():cols.max() + 1] > 0.4 * img.max()
    top, bottom = crop[: crop.shape[0] // 5], crop[-crop.shape[0] // 5:]
    left, right = crop[:, : crop.shape[1] // 3], crop[:, -crop.shape[1] // 3:]
    assert top.mean() > 2 * bottom.mean()       # the bar is at the top (not flipped upside down)
    assert left.mean() > 2 * right.mean()       # the stem is on the left (not mirrored)


def test_qr_job_planned_on_default_recipes_decodes_from_uv(tmp_path):
    art = make_artwork({"kind": "qr", "data": "lasergen QR 0042", "module_um": 20.0})
    pattern = Pattern(art.pitch_um, [Layer(art.mask, "write", "qr")], (10.0, 10.0), meta=art.meta)
    job = read_job(Job.plan(pattern, MACHINE).text, MACHINE)
    pred = simulate(job, MACHINE, "BrI")
    checks = check_views(pred, job.manifest["promises"])
    assert [c.kind for c in checks] == ["qr"] and checks[0].ok, checks
    assert checks[0].margin["blur_sigma_um"] > 0 and checks[0].margin["noise_sigma"] > 0
    report = write_outputs(pred, tmp_path)
    assert set(report["renders"]) == {"daylight", "uv365", "uv365_lp645"}
    assert decode_qr(tmp_path / "uv365.png") == ["lasergen QR 0042"]
    assert decode_qr(tmp_path / "daylight.png") == []          # level 1: nothing to read in daylight
    for key in ("phases", "crystallized_area_um2", "planes", "features", "warnings", "predictions"):
        assert key in report


def test_bad_inputs_are_one_line_errors():
    with pytest.raises(LasergenError, match="material 'Cl'"):
        run(line_path(0.4), "Cl")
    with pytest.raises(LasergenError, match="hours"):
        run(line_path(0.4), heat_treat_c=300, heat_treat_hours=0)
    with pytest.raises(LasergenError, match="never turns the laser on"):
        simulate(ExposureLedger.empty(), MACHINE)
