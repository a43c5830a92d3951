"""Passes are derived from what the beam did, identically for streamed and planned ledgers."""

import numpy as np

from hardware_sim.ledger import ExposureLedger


def test_dots_revisiting_a_spot_start_a_rewrite_pass():
    xs = [1.0, 1.02, 1.04, 1.0, 1.02, 1.04]
    # recorded as the emulator sees it: one laser enable (pass) per dot
    ledger = ExposureLedger.from_columns(x0=xs, y0=[2.0] * 6, dwell_s=1.5, energy_uJ=200.0, duration_s=1.5,
                                         pass_id=np.arange(6))
    assert ledger.with_physical_passes().pass_id.tolist() == [0, 0, 0, 1, 1, 1]


def test_line_passes_are_kept_and_a_recipe_change_splits_dots():
    ledger = ExposureLedger.from_columns(x0=[0, 0, 0, 1, 2], x1=[1, 1, 0, 1, 2], y0=[0, 0.02, 0, 0, 0],
                                         y1=[0, 0.02, 0, 0, 0], dwell_s=[0, 0, 1.0, 1.0, 2.0],
                                         energy_uJ=200.0, pass_id=[4, 4, 5, 6, 7])
    assert ledger.with_physical_passes().pass_id.tolist() == [0, 0, 1, 1, 2]
