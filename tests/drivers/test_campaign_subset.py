"""The fault campaign's CI subset: 64 seeded runs of `benchmarks/fault_campaign.py` on small
jobs with the emulator's clock at x50, on both back-ends (blocks of four runs alternate
between the GRBL board and the PI C-884 rig), every fault kind each emulator takes, each run
resumed until done; its
invariants from the device's own record. SIGKILL and SIGINT hit a real `lasergen stream`
process; the other sessions run the runner in this process (no start-up cost). The full
campaign (>= 1,000 runs) is in the README's reliability section."""

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import fault_campaign as fc  # noqa: E402

from lasergen import MachineProfile  # noqa: E402
from lasergen_cli import main  # noqa: E402

SEED, SPEED, RUNS = 9, 50.0, 64
SMALL = {
    "qr_raster": ["qr", "A", "--micro", "yes", "--speed-mm-s", "4"],
    "qr_dots": ["qr", "A", "--micro", "yes", "--mode", "dots", "--dwell-s", "0.02"],
    "bitmap": ["bitmap", "FOLDER/grad.png", "--dither", "floyd-steinberg", "--speed-mm-s", "4"],
    "three_level": ["pattern", "FOLDER/levels.toml"],
}
MAX_STALL_REST_MS = 500.0  # a hung controller keeps its beam one status interval (200 ms) + the stop's
# reaction; the runner shares this process with the emulator here, hence 300 ms of host allowance (the
# old rule, three unanswered 0.2 s polls, kept it 600-950 ms)
# A rest of campaign_check.REST_DEFECT_S (2 ms) or more is a defect in the campaign's figures; here
# the runner shares this process (and the GIL) with the emulator on a loaded 2-core box, so the
# sender's reaction at a mark's end, which the record shows as a rest, can pass 2 ms without any
# change in the code: CI bounds it by this host allowance instead (a stuck beam still fails).
MAX_REST_MS = 100.0


@pytest.fixture(scope="module")
def campaign(tmp_path_factory):
    folder = tmp_path_factory.mktemp("campaign")

    def plan(args):
        res = CliRunner().invoke(main, args)
        return res.exit_code, res.stderr

    jobs = {name: fc.make_jobs(folder, plan, SMALL, image_px=10, machine=name) for name in fc.MACHINES}
    return jobs, fc.Sender(None)


@pytest.mark.parametrize("run", range(RUNS))
def test_campaign_run(run, campaign, tmp_path):
    jobs, sender = campaign
    name = fc.machine_of_run(run, "mixed")
    out = fc.run_one(run, SEED, jobs[name], sender, MachineProfile.load(name), SPEED, tmp_path, in_process=True)
    assert out.complete, out.notes
    assert (out.twice, out.skipped_not_listed, out.stray, out.hangs, out.unclean) == (0, 0, 0, 0, 0), out
    assert out.stray_rest_ms <= MAX_REST_MS, out
    assert out.stall_rest_ms <= MAX_STALL_REST_MS, out


class _Device:
    def __init__(self, lines):
        self.lines = iter(lines)

    def call(self, fn, timeout_s=10.0):
        return next(self.lines)


def test_a_session_is_hung_only_when_the_device_stops_taking_lines(monkeypatch):
    """A slow session on a loaded host still feeds its device: not a hang; a sender whose device
    saw no new line for STALLED_S is one, whatever its time limit."""
    import campaign_sessions as cs

    monkeypatch.setattr(cs, "STALLED_S", 0.6)
    monkeypatch.setattr(cs.time, "sleep", lambda s: None)
    clock = iter(range(10_000))
    monkeypatch.setattr(cs.time, "monotonic", lambda: next(clock) * 0.1)
    calls = {"n": 0}

    def done_after(n):
        def done():
            calls["n"] += 1
            return calls["n"] > n
        return done
    assert cs.wait_alive(done_after(200), _Device(range(10_000)), limit_s=1e9)  # progress all along
    calls["n"] = 0
    assert not cs.wait_alive(done_after(200), _Device([1, 2, 3] + [3] * 10_000), limit_s=1e9)
