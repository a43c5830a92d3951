"""The fault campaign's CI subset: 64 seeded runs of `benchmarks/fault_campaign.py` on small
jobs with the emulator's clock at x50, every fault kind, each run resumed until done; its
invariants from the device's own record. SIGKILL and SIGINT hit a real `lasergen stream`
process; the other sessions run the runner in this process (no start-up cost). The full
campaign (>= 1,000 runs) is in the README's reliability section."""

import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "benchmarks"))
import fault_campaign as fc  # noqa: E402

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

    return fc.make_jobs(folder, plan, SMALL, image_px=10), fc.Sender(None)


@pytest.mark.parametrize("run", range(RUNS))
def test_campaign_run(run, campaign, machine, tmp_path):
    jobs, sender = campaign
    out = fc.run_one(run, SEED, jobs, sender, machine, SPEED, tmp_path, in_process=True)
    assert out.complete, out.notes
    assert (out.twice, out.skipped_not_listed, out.stray, out.hangs, out.unclean) == (0, 0, 0, 0, 0), out
    assert out.stray_rest_ms <= (MAX_STALL_REST_MS if "stall" in out.faults else MAX_REST_MS), out
