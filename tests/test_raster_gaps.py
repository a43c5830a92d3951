"""Raster gaps: every mark at its programmed speed on GRBL's planner model, gaps crossed by a
collinear G0 where that is quicker, line changes through a run-up, the look-ahead's limit
refused with a number, and a resume inside a line still restarting at speed."""

from lasergen import Job
import dataclasses

import numpy as np
import pytest
from PIL import Image

from drivers.grbl import plan as grbl_plan
from drivers.grbl.job_table import job_table
from lasergen import LasergenError
from lasergen.backends.grbl import motion
from lasergen.backends.grbl.gcode import read_program
from lasergen.job import read_job
from lasergen import Layer, Pattern
from lasergen.planner import plan
from lasergen import Recipe
from lasergen.recipe import PRESETS
from lasergen.sources.bitmap import gray_to_mask
from lasergen.sources.qr import make_qr, qr_mask
from lasergen.toolpath import LINE, RAPID


def _dithered(n=48):
    yy, xx = np.mgrid[0:n, 0:n] / n
    gray = 127 + 70 * np.sin(xx * 7) * np.cos(yy * 5) + 50 * np.sin(xx * 23 + yy * 11)
    return gray_to_mask(Image.fromarray(np.clip(gray, 0, 255).astype(np.uint8)), dither="floyd-steinberg")


MASKS = {"dithered": _dithered, "qr": lambda: qr_mask(make_qr("https://example.org/p/0001"), 2)}


def _pattern(mask, pitch_um=20.0, **recipe):
    return Pattern(pitch_um, [Layer(np.asarray(mask, bool), "write", "w")], (10.0, 10.0),
                   {**PRESETS, "write": Recipe(**recipe)})


def _assert_marks_at_speed(path, machine, speed):
    prof = motion.profile(path, machine)
    marks = path.is_mark
    assert marks.any()
    for name in ("v_entry", "v_peak", "v_exit"):
        np.testing.assert_allclose(getattr(prof, name)[marks], speed, rtol=1e-9, err_msg=name)


@pytest.mark.parametrize("speed", [0.4, 5.0])
@pytest.mark.parametrize("image", sorted(MASKS))
def test_every_mark_runs_at_the_recipe_speed_in_the_job_grbl_receives(machine, image, speed):
    pattern = _pattern(MASKS[image](), speed_mm_s=speed, passes=2)
    job = read_job(Job.plan(pattern, machine).text, machine)  # as the controller sees it
    _assert_marks_at_speed(job.toolpath, machine, np.float32(speed))


def test_gaps_at_the_paper_speed_are_collinear_rapids_straight_into_the_next_mark(machine):
    path = plan(_pattern(_dithered()), machine)
    marks = np.flatnonzero(path.is_mark)
    same_line = path.y1[marks[1:]] == path.y1[marks[:-1]]
    between = marks[:-1][same_line] + 1  # the row after a mark that another mark on its line follows
    assert np.all(path.kind[between] == RAPID)
    assert np.all(path.is_mark[between + 1])  # no lead-out, no lead-in: the G0 ends where the mark begins
    gap_dir = np.sign(path.x1[between] - path.x0[between])
    assert np.all(gap_dir == np.sign(path.x1[between - 1] - path.x0[between - 1]))  # collinear, same way


@pytest.mark.parametrize("speed", [0.4, 5.0])
def test_each_scan_line_starts_from_its_restart_g0_through_a_run_up_and_the_pass_ends_with_a_run_out(machine, speed):
    path = plan(_pattern(MASKS["qr"](), speed_mm_s=speed), machine)
    marks = np.flatnonzero(path.is_mark)
    new_line = np.r_[True, path.y1[marks[1:]] != path.y1[marks[:-1]]]
    lead_in = marks[new_line] - 1
    run_up = max(speed ** 2 / min(machine.accel_mm_s2), 1 / 250 + 1e-4)
    assert np.all((path.kind[lead_in] == LINE) & (path.energy_uJ[lead_in] == 0))
    assert np.all(path.length_mm[lead_in] >= run_up * (1 - 1e-6))
    assert np.all(path.y0[lead_in] == path.y1[lead_in])  # collinear with the mark it leads into
    direction = np.sign(path.x1[marks[new_line]] - path.x0[marks[new_line]])
    assert np.all(np.sign(path.x1[lead_in] - path.x0[lead_in]) == direction)
    restart = lead_in - 1  # the G0 a resume restarts the line from: it states Y
    assert np.all((path.kind[restart] == RAPID) & (path.y1[restart] == path.y1[lead_in]))
    assert np.all(np.abs(path.y1[restart] - path.y0[restart])[1:] > 0)
    run_out = marks[-1] + 1
    assert path.kind[run_out] == LINE and path.energy_uJ[run_out] == 0
    assert path.length_mm[run_out] == pytest.approx(run_up, rel=1e-6)


def _lead_turns_reference(monkeypatch, pattern, machine):
    import lasergen.turns as turns

    with monkeypatch.context() as m:
        m.setattr(turns, "VARIANTS", ("lead",))
        return plan(pattern, machine)


def _staircase(n=24, step=6):
    """Lines whose ends move by `step` pixels each line, in and out: turns that step back far
    (a diagonal there would reverse and stop) and ones that reach further."""
    mask = np.zeros((n, 4 * n), bool)
    for k in range(n):
        a, b = (k * step) % (2 * n), 4 * n - (k * step * 2) % (3 * n) - 1
        mask[k, a:max(a + 3, b)] = True
    return mask


TURN_MASKS = {**MASKS, "staircase": _staircase}


@pytest.mark.parametrize("speed", [0.4, 5.0])
@pytest.mark.parametrize("image", sorted(TURN_MASKS))
def test_line_changes_keep_every_mark_at_speed_the_beam_off_outside_marks_and_beat_lead_turns(
        machine, monkeypatch, image, speed):
    pattern = _pattern(TURN_MASKS[image](), speed_mm_s=speed, passes=2)
    job = Job.plan(pattern, machine)
    path = read_job(job.text, machine).toolpath  # the coordinates as written
    _assert_marks_at_speed(path, machine, np.float32(speed))
    moves = path.kind != motion.DWELL
    assert not motion.stepless(path, machine)[moves].any()  # no move GRBL would drop (a stop)
    lines = [l for l in job.text.splitlines() if not l.startswith(";")]
    assert max(map(len, lines)) < 80
    lit = [l for l in lines if "S" in l and not l.endswith("S0") and l.startswith(("G1", "X"))]
    assert len(lit) == int(path.is_mark.sum())  # every G1 with power is a mark, the rest S0 or G0
    assert not any("S" in l for l in lines if l.startswith("G0"))
    ours = motion.estimate(plan(pattern, machine), machine)["time_s"]
    lead = motion.estimate(_lead_turns_reference(monkeypatch, pattern, machine), machine)["time_s"]
    assert ours <= lead * (1 + 1e-12)
    if speed == 0.4:  # GRBL's 90 deg corner (2.2 mm/s) is above v: every line change is quicker
        assert ours < lead - 0.015 * (len(np.unique(path.y1[path.is_mark])) - 1)


def test_at_the_paper_speed_line_changes_are_a_g0_corner_and_a_run_up_at_the_rapid_rate(machine):
    path = plan(_pattern(MASKS["qr"](), speed_mm_s=0.4), machine)
    marks = np.flatnonzero(path.is_mark)
    change = np.flatnonzero(path.y1[marks[1:]] != path.y1[marks[:-1]])
    for i, j in zip(marks[change], marks[change + 1]):
        between = np.arange(i + 1, j)
        assert between.size in (2, 3)  # [G0 along the line,] G0 across, run-up
        assert np.all(path.kind[between[:-1]] == RAPID)  # no lead-out at writing speed
        assert path.kind[j - 1] == LINE and path.speed_mm_s[j - 1] == machine.max_rate_mm_s[0]


def test_a_controller_without_look_ahead_keeps_lead_out_and_lead_in(machine):
    from lasergen import MachineProfile

    pi = MachineProfile.load("pi-c884")
    path = plan(_pattern(MASKS["qr"](), speed_mm_s=0.4), pi)
    marks = np.flatnonzero(path.is_mark)
    change = np.flatnonzero(path.y1[marks[1:]] != path.y1[marks[:-1]])
    after = marks[change] + 1
    assert np.all((path.kind[after] == LINE) & (path.speed_mm_s[after] == np.float32(0.4)))
    assert np.all(path.speed_mm_s[marks[change + 1] - 1] == np.float32(0.4))


@pytest.mark.parametrize("steps_per_mm", [250.0, 80.0, 3200.0])
def test_slow_run_ups_are_whole_motor_steps_in_the_written_job(machine, steps_per_mm):
    """At 0.4 mm/s v^2/a is 0.8 um, under one of GRBL's steps: the run-up is then one step plus
    the G-code's resolution, so GRBL executes every lead-in and lead-out (a move of no step is
    dropped, and under M3 it stops the machine and starts the line's first mark from rest)."""
    stage = dataclasses.replace(machine, settings=tuple((k, [steps_per_mm] * 2 if k == "steps_per_mm" else v)
                                                        for k, v in machine.settings))
    job = Job.plan(_pattern(MASKS["qr"](), speed_mm_s=0.4, energy_uJ=200.0), stage)
    path = read_job(job.text, stage).toolpath  # the coordinates as written (0.1 um)
    moves = path.kind != motion.DWELL
    assert not motion.stepless(path, stage)[moves].any()
    marks = np.flatnonzero(path.is_mark)
    lead_in = marks[np.r_[True, path.y1[marks[1:]] != path.y1[marks[:-1]]]] - 1
    assert np.all(path.length_mm[lead_in] >= 1.0 / steps_per_mm)
    prof = motion.profile(path, stage)
    assert np.allclose(prof.v_entry[marks], np.float32(0.4))  # every mark, the first of a line too, at speed


def _all_rapid_reference(monkeypatch, pattern, machine):
    import lasergen.raster as raster

    with monkeypatch.context() as m:
        m.setattr(raster, "rapid_gaps", lambda gap, *a: np.ones(gap.shape, bool))
        return plan(pattern, machine)


@pytest.mark.parametrize("image", sorted(MASKS))
def test_job_time_no_longer_than_crossing_every_gap_with_a_g0(machine, monkeypatch, image):
    for speed in (0.4, 5.0):
        pattern = _pattern(MASKS[image](), speed_mm_s=speed)
        ours = motion.estimate(plan(pattern, machine), machine)["time_s"]
        reference = motion.estimate(_all_rapid_reference(monkeypatch, pattern, machine), machine)["time_s"]
        assert ours <= reference * (1 + 1e-12)


def test_at_the_rapid_rate_a_g0_cannot_be_quicker_so_gaps_stay_blank_lines(machine):
    machine = dataclasses.replace(machine, accel_mm_s2=(2000.0, 2000.0))  # run-ups that fit the travel
    row = [1] * 40 + [0] * 40 + [1] * 40
    fast = min(machine.max_rate_mm_s)
    for speed, gap_kind in ((fast, LINE), (fast / 2, RAPID)):
        path = plan(_pattern([row], pitch_um=100.0, speed_mm_s=speed), machine)
        marks = np.flatnonzero(path.is_mark)
        assert path.kind[marks[0] + 1] == gap_kind and marks[1] == marks[0] + 2


def test_a_speed_the_look_ahead_cannot_hold_is_refused_with_the_speed_it_can(machine):
    mask = _dithered()
    with pytest.raises(LasergenError, match=r"recipe 'write': at 20 mm/s .*15-block look-ahead.* at most ([\d.]+) mm/s"):
        plan(_pattern(mask, speed_mm_s=20.0), machine)
    try:
        plan(_pattern(mask, speed_mm_s=20.0), machine)
    except LasergenError as exc:
        allowed = float(str(exc).split("at most ")[1].split()[0])
    path = plan(_pattern(mask, speed_mm_s=allowed), machine)  # the figure given plans, at speed
    _assert_marks_at_speed(path, machine, np.float32(allowed))


def test_resume_inside_a_line_of_rapid_gaps_restarts_at_the_lines_run_up(machine, tmp_path):
    mask = np.zeros((3, 40), bool)
    mask[1, ::3] = True  # one line of 14 one-pixel marks, 2-pixel gaps
    pattern = _pattern(mask, speed_mm_s=5.0)
    job = tmp_path / "gaps.gcode"
    job.write_text(Job.plan(pattern, machine).text)
    table = job_table(job, machine, planner=grbl_plan.plan)
    done = np.zeros(table.n_marks, bool)
    done[:6] = True
    start = grbl_plan.resume_start(table, 6)
    assert table.rapid[start] and not table.rapid[start + 1] and table.mark_of[start + 1] == -1  # G0, then a lead-in
    sent = table.plan(done)
    resumed = read_program([grbl_plan.seq_text(table, sent, k) for k in range(len(sent))], machine).toolpath
    written = resumed.is_mark
    assert written.sum() == 8  # the 6 done marks are passed blank, the 8 others written
    _assert_marks_at_speed(resumed, machine, np.float32(5.0))


def test_resume_at_a_later_lines_first_mark_restarts_from_its_g0_and_writes_each_mark_once_at_speed(machine, tmp_path):
    pattern = _pattern(MASKS["qr"](), speed_mm_s=0.4)
    job = tmp_path / "qr.gcode"
    job.write_text(Job.plan(pattern, machine).text)
    table = job_table(job, machine, planner=grbl_plan.plan)
    path = read_job(job.read_text(), machine).toolpath
    marks = np.flatnonzero(path.is_mark)
    line_first = np.flatnonzero(np.r_[True, path.y1[marks[1:]] != path.y1[marks[:-1]]])
    for mark in line_first[[1, len(line_first) // 2, -1]]:
        done = np.zeros(table.n_marks, bool)
        done[:mark] = True
        start = grbl_plan.resume_start(table, int(mark))
        assert table.rapid[start] and "Y" in table.text(start)  # the line's G0 across
        assert not table.rapid[start + 1] and table.mark_of[start + 1] == -1  # then the run-up
        sent = table.plan(done)
        texts = [grbl_plan.seq_text(table, sent, k) for k in range(len(sent))]
        resumed = read_program(texts, machine).toolpath
        assert resumed.is_mark.sum() == table.n_marks - mark  # the done marks are not sent lit
        _assert_marks_at_speed(resumed, machine, np.float32(0.4))
