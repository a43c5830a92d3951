"""The emulator's scalar block timing is `profile` of the planner's window, bit for bit."""

import numpy as np
import pytest

from hardware_sim.grbl.block_timing import BlockTimer
from hardware_sim.grbl.motion import Block
from lasergen.machine import MachineProfile


def random_window(rng, m):
    """m chained blocks: rapids and lines, reversals, collinear runs, right angles, Z steps."""
    pos = np.round(rng.uniform(0, 50, 3), 4)
    blocks = []
    for _ in range(m):
        kind = rng.integers(5)
        step = np.round(rng.uniform(-3, 3, 3), 4)
        if kind == 0 and blocks:  # collinear with the last block
            step = np.array(blocks[-1].end) - np.array(blocks[-1].start)
        elif kind == 1 and blocks:  # a reversal
            step = np.array(blocks[-1].start) - np.array(blocks[-1].end)
        if rng.random() < 0.7:
            step[2] = 0.0
        if rng.random() < 0.3:
            step[rng.integers(2)] = 0.0
        end = pos + step
        if np.all(end == pos):
            end[0] += 0.02
        blocks.append(Block(tuple(float(v) for v in pos), tuple(float(v) for v in end), bool(rng.random() < 0.3),
                            float(rng.choice([0.4, 2.0, 24.0, 1e4])), 0.0, 0.0))
        pos = end
    return blocks


@pytest.mark.parametrize("seed", range(4))
def test_scalar_timing_is_profile_bit_for_bit(seed):
    machine = MachineProfile.load()
    timer = BlockTimer(machine)
    rng = np.random.default_rng(seed)
    checked = 0
    for _ in range(150):
        window = random_window(rng, int(rng.integers(1, 18)))
        for first in (0, 1)[:len(window)]:
            fast = timer._timing(window, first)
            assert fast is not None
            assert fast == timer._profiled(window, first)
            checked += 1
    # the same blocks planned again in a sliding window reuse their cached figures
    stream = random_window(rng, 60)
    for start in range(len(stream) - 16):
        window = stream[start:start + 17]
        assert timer._timing(window, 1) == timer._profiled(window, 1)
    assert checked > 250


def test_zero_length_block_goes_to_profile():
    timer = BlockTimer(MachineProfile.load())
    still = Block((1.0, 1.0, 0.0), (1.0, 1.0, 0.0), False, 2.0, 0.0, 0.0)
    move = Block((1.0, 1.0, 0.0), (2.0, 1.0, 0.0), False, 2.0, 0.0, 0.0)
    assert timer._timing([move, still], 0) is None
    assert timer.timing([move, still], 0) == timer._profiled([move, still], 0)
