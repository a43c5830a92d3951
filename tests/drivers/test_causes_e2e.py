"""Issue 9's causes and issue 8's journal rules, black box: `lasergen stream` as its own process
against an emulated GRBL behind TCP, faults at exact points of each job, verdicts read from
the device's own exposure record (`blackbox.Rig`). Nothing here needs lasergen's internals, so
the same tests measure another version's sender: LASERGEN_SENDER_PYTHON=OTHER_VENV/bin/python.
"""

import json
import os
import re
import shutil
import signal
import threading
import time

import numpy as np
import pytest
from click.testing import CliRunner

from lasergen_cli import main

from .blackbox import Rig, sent_lines


@pytest.fixture(scope="module")
def jobs(tmp_path_factory):
    folder = tmp_path_factory.mktemp("jobs")
    recipes = {"raster": ["qr", "LG", "--micro", "yes", "--speed-mm-s", "2"],
               "dots": ["qr", "LG", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.05"],
               "long_dots": ["qr", "LG", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.3"]}
    out = {}
    for name, args in recipes.items():
        out[name] = folder / f"{name}.gcode"
        assert CliRunner().invoke(main, args + ["-o", str(out[name])]).exit_code == 0
    return out


@pytest.fixture
def job(jobs, tmp_path):
    def copy(name):
        path = tmp_path / jobs[name].name
        shutil.copy(jobs[name], path)
        return path
    return copy


@pytest.fixture
def rigs(machine):
    made = []

    def make(**kw):
        made.append(Rig(machine, **kw))
        return made[-1]
    yield make
    for rig in made:
        rig.close()


def _nth(lines, prefix, n):
    return [i for i, t in enumerate(lines) if t.startswith(prefix)][n]


def _exactly_once(rig, job):
    final = rig.resume_until_done(job)
    assert final.code == 0, final.stderr
    v = rig.verdict(job, final)
    assert v.twice == [] and v.unlisted == [] and v.stray == 0, v
    return v


def test_cause1_a_dot_stopped_on_during_its_dwell_is_listed_not_rewritten(job, rigs):
    path, rig = job("dots"), rigs()
    k = _nth(sent_lines(path), "G4", 3)
    first = rig.stream(path, faults=f"stall_after={rig.job_line(path, k)}")
    assert first.code == 2
    v = _exactly_once(rig, path)
    assert 3 in v.listed


@pytest.mark.parametrize("where", ["1.5 um into the mark", "2.3 um before its end"])
def test_cause2_a_stop_strictly_inside_a_mark_is_a_cut(where, job, rigs):
    path, rig = job("raster"), rigs()
    lines = sent_lines(path)
    marks = [i for i, t in enumerate(lines) if t.startswith(("G1X", "X")) and not t.endswith("S0")]
    k = marks[4]
    x = [float(re.search(r"X(-?[\d.]+)", t).group(1)) for t in (lines[k - 1], lines[k])]
    distance_um = 1.5 if where.startswith("1.5") else abs(x[1] - x[0]) * 1000 - 2.3
    assert rig.stream(path, faults=f"alarm_at={rig.job_line(path, k)}:{distance_um}").code == 2
    v = _exactly_once(rig, path)
    assert 4 in v.listed  # cut: treated as done, listed, never written twice


@pytest.mark.parametrize("line", ["G1F", "G4"])
def test_cause3_a_refused_line_of_a_dot_does_not_book_it(line, job, rigs):
    """A refused beam-on line: the dot never started, the resume writes it once. A refused
    dwell: its beam came on and off at once, it is cut (listed, never written twice)."""
    path, rig = job("long_dots"), rigs()
    k = _nth(sent_lines(path), line, 4)
    first = rig.stream(path, faults=f"error_on={rig.job_line(path, k)}:20")
    assert first.code == 2 and "refused" in first.stderr
    v = _exactly_once(rig, path)
    assert (4 in v.listed) == (line == "G4")


@pytest.mark.parametrize("fault", ["reset_after", "power_after"])
def test_cause4_a_reset_of_the_controller_mid_dwell_halts_the_stream(fault, job, rigs):
    path, rig = job("dots"), rigs()
    k = _nth(sent_lines(path), "G4", 4)
    first = rig.stream(path, faults=f"{fault}={rig.job_line(path, k)}", timeout_s=20)
    assert not first.hung and first.code == 2
    _exactly_once(rig, path)


def test_cause5_a_refused_gap_move_never_lets_the_next_mark_run(job, rigs):
    """With the emulator running as fast as the link, whatever is in its RX buffer after a
    refused line runs before any feed hold can arrive. In an armed pass the refused gap move is
    the mark's arming line: the mark runs as a G0 (beam disabled), later marks run where they
    belong, and the resume writes the refused one."""
    template = job("raster")
    lines = sent_lines(template)
    gaps = [i for i in range(1, len(lines) - 1) if lines[i].startswith("G1X") and lines[i].endswith("S0")
            and lines[i + 1].startswith(("G1X", "X")) and not lines[i + 1].endswith("S0")]
    for n, k in enumerate(gaps[2:5]):
        path = template.with_name(f"gap{n}.gcode")
        shutil.copy(template, path)
        rig = rigs(clock="ff")
        assert rig.stream(path, faults=f"error_on={rig.job_line(path, k)}:20").code == 2
        _exactly_once(rig, path)


# What a stall's beam-off may exceed the status interval by on this shared 2-core machine: the
# stop's reaction (the sender's hold + reset write, the device thread's wake; a few ms idle)
# and time the sender was not scheduled (added back to the silence it judges, by design).
STALL_TOLERANCE_S = 0.15


def test_cause6_a_stalled_controller_has_its_beam_off_within_one_status_interval(job, rigs):
    """Issue 9 capability 3: the firmware hangs mid-dot (in its G4, beam on); the device's own
    record, on its real clock, shows the beam off within one status interval of the hang
    (plus the tolerance above). Polling every 0.2 s and calling a stall after three
    unanswered intervals kept it 0.6-0.8 s (a fixed 3 s limit before that)."""
    from drivers.session import STATUS_INTERVAL_S

    path, rig = job("long_dots"), rigs(speed=1.0)
    k = _nth(sent_lines(path), "G4", 2)
    assert rig.stream(path, faults=f"stall_after={rig.job_line(path, k)}", timeout_s=30).code == 2
    assert "stopped responding" in rig.sessions[-1].stderr
    stalled = next(t for t, what in rig.fault_log() if what == "stall")
    record = rig.record()
    assert np.any(record.beam_on & (record.t_start_s <= stalled) & (record.t_end_s > stalled)), "beam on in the hang"
    assert rig.beam_off_s(stalled) <= STATUS_INTERVAL_S + STALL_TOLERANCE_S


def test_cause7_ctrl_c_during_start_up_is_one_line_and_blocks_nothing(job, rigs):
    path, rig = job("raster"), rigs()
    t0 = time.monotonic()
    proc = rig.start(path)
    rig.on_line(lambda text, n: text == "$$", lambda: os.kill(proc.pid, signal.SIGINT))
    first = rig.finish(proc, t0)
    assert first.code == 2, first.stderr
    lines = first.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("lasergen: error:") and "nterrupt" in lines[0]
    again = rig.stream(path)  # nothing demands --resume: a fresh run goes ahead
    assert again.code == 0, again.stderr


def test_cause7_a_second_ctrl_c_never_skips_the_stop_and_the_journal(job, rigs):
    path, rig = job("raster"), rigs(speed=2.0)
    k = rig.job_line(path, 40)
    t0 = time.monotonic()
    proc = rig.start(path)

    def twice():
        os.kill(proc.pid, signal.SIGINT)
        threading.Timer(0.05, lambda: os.kill(proc.pid, signal.SIGINT)).start()
    rig.on_line(lambda text, n: n == k, twice)
    first = rig.finish(proc, t0)
    assert first.code == 2 and "Traceback" not in first.stderr and len(first.stderr.strip().splitlines()) == 1
    journals = sorted(path.parent.glob(f"{path.name}*journal"))
    assert journals and "end" in json.loads(journals[-1].read_text().splitlines()[-1])
    _exactly_once(rig, path)


def test_issue8_a_dry_run_never_blocks_another_device_and_a_resume_there_is_refused(job, rigs):
    path = job("raster")
    dry, real = rigs(), rigs()
    k = next(i for i, t in enumerate(sent_lines(path)) if i > 60 and t.startswith(("G1X", "X")) and not t.endswith("S0"))
    assert dry.stream(path, faults=f"error_on={dry.job_line(path, k)}:20").code == 2  # a mark refused
    refused = real.stream(path, resume=True)
    assert refused.code == 2 and len(refused.stderr.strip().splitlines()) == 1 and "device" in refused.stderr
    fresh = real.stream(path)  # the dry run's journal is the other device's: the real run is not blocked
    assert fresh.code == 0, fresh.stderr
    back = dry.stream(path, resume=True)  # and the first device's run resumes on it, bare --resume
    assert back.code == 0 and back.result.get("skipped", 0) > 0, back.stderr
    v = dry.verdict(path, back)
    assert v.twice == [] and v.unlisted == [] and v.stray == 0
