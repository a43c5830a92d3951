"""What the emulated laser actually did, as rows of a Toolpath, in the order it happened.

The emulator only sees bytes, so this is built from executed motion, not from the job:
  LINE   a G1 block executed (energy from its S through the machine's S->energy map, 0 = blank);
         a block cut short by a hold, reset or alarm is recorded up to where it stopped
  RAPID  a G0 block (laser mode gates the beam off)
  DWELL  the beam on at rest: M3 with S > 0 in G1 mode while the machine stands still, e.g.
         from `G1M3S..` through `G4P..` to `M5` (a dot), for as long as it really stayed on
`pass_id` counts laser enables (M5 -> M3/M4), as the G-code reader does without pass markers.
`ledger()` hands the rows to the sample model's `ExposureLedger.from_toolpath` when that
module is present; the Toolpath itself is the seam (same columns as a planned job).
"""

from __future__ import annotations

import numpy as np

from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

MIN_DWELL_S = 1e-9  # rest intervals shorter than this are not exposures


class ExposureRecorder:
    def __init__(self, machine: MachineProfile):
        self.machine = machine
        self.rows: list[tuple] = []
        self.times_s: list[float] = []
        self.pass_id = -1

    def laser_enabled(self):
        self.pass_id += 1

    def move(self, start, end, rapid: bool, feed_mm_s: float, power_s: float, t_s: float):
        if start[0] == end[0] and start[1] == end[1]:
            return
        kind = RAPID if rapid else LINE
        energy = 0.0 if rapid else float(self.machine.s_to_energy_uJ(power_s))
        self.rows.append((kind, start[0], start[1], end[0], end[1], feed_mm_s, 0.0, energy, max(self.pass_id, 0)))
        self.times_s.append(t_s)

    def dwell(self, x_mm: float, y_mm: float, seconds: float, power_s: float, t_s: float):
        if seconds <= MIN_DWELL_S or power_s <= 0:
            return
        energy = float(self.machine.s_to_energy_uJ(power_s))
        self.rows.append((DWELL, x_mm, y_mm, x_mm, y_mm, 0.0, seconds, energy, max(self.pass_id, 0)))
        self.times_s.append(t_s)

    def __len__(self) -> int:
        return len(self.rows)

    def toolpath(self) -> Toolpath:
        if not self.rows:
            return Toolpath.empty()
        cols = np.array(self.rows, dtype=np.float64).T
        names = ("kind", "x0", "y0", "x1", "y1", "speed_mm_s", "dwell_s", "energy_uJ", "pass_id")
        return Toolpath.from_columns(**dict(zip(names, cols)))

    def marks(self) -> Toolpath:
        path = self.toolpath()
        return path.take(path.is_mark)

    def ledger(self):
        """The sample model's ExposureLedger of what was executed (the Toolpath if it is absent)."""
        try:
            from hardware_sim.ledger import ExposureLedger
        except ImportError:
            return self.toolpath()
        return ExposureLedger.from_toolpath(self.toolpath(), self.machine)
