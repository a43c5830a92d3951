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
MAX_REST_MS = 100.0  # the beam resting on at a mark's end while the sender reacts (sender's clock)
MAX_STALL_REST_MS = 1500.0  # a hung controller keeps its beam until the sender's status timeout


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
    assert out.stray_rest_ms <= (MAX_STALL_REST_MS if "stall" in out.faults else MAX_REST_MS), out
