"""Beam history recorder: what an emulated controller's beam did, stamped by its own clock.

Every emulator (GRBL, PI GCS, ...) reports each interval it executed through `segment` (or the
GRBL-shaped adapters `move` / `dwell` / `hold`), with its clock's start and end times:
  a move      start and end (x, y, z), trapezoidal velocity profile as its executor planned it,
              beam on or off, and the power setting; a move cut short by a hold, reset or alarm
              is recorded up to where it stopped, the profile truncated there; a move under
              GRBL's dynamic power (M4) whose speed varies is recorded as consecutive pieces of
              constant power, one per stepper segment on its ramps (`grbl.dynamic_power`);
  a dwell     the beam on at rest (M3 with S > 0 in G1 mode while the machine stands still,
              e.g. `G1M3S..` / `G4P..` / `M5`, a dot) for as long as it really stayed on;
  a hold      the machine at rest with the beam gated off by a feed hold or pause, from the
              hold to the resume (so the history shows it where it happened in time).
The power setting S becomes pulse energy through the machine's S->energy map after the clamp
the controller applies (GRBL: S is limited to $30, `s_max`) and the laser's own limit
(`max_energy_uJ`); a clamped segment is flagged. `history()` is the `BeamHistory` the glass
model reads; `toolpath()` keeps the executed path as Toolpath rows (marks and travel) for the
stream tests that compare it with the job mark for mark.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hardware_sim.grbl import dynamic_power
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

MIN_DWELL_S = 1e-9  # rest intervals shorter than this are not exposures


def speed_at(distance_mm: float, kinematics: tuple) -> float:
    """Speed of a trapezoidal move (v_entry, v_peak, v_exit, accel, length) at `distance_mm`."""
    v0, vp, v1, accel, length = kinematics
    if accel <= 0:
        return vp
    up = np.sqrt(v0 * v0 + 2 * accel * distance_mm)
    down = np.sqrt(max(v1 * v1 + 2 * accel * (length - distance_mm), 0.0))
    return float(min(vp, up, down))


class ExposureRecorder:
    def __init__(self, machine: MachineProfile, s_max: Callable[[], float] | None = None):
        self.machine = machine
        self.s_max = s_max or (lambda: machine.settings_dict.get("s_max", float("inf")))  # no S word: no clamp
        self.rows: list[tuple] = []        # executed toolpath rows
        self.times_s: list[float] = []     # when each row began, on the emulator's clock
        self.segments: list[tuple] = []    # beam history rows (ledger.COLUMNS order)
        self.pass_id = -1

    # ---- what the emulators call ----
    def laser_enabled(self):
        self.pass_id += 1

    def energy_of(self, power_s: float) -> tuple[float, bool]:
        """Pulse energy delivered for S, and whether a limit clamped it."""
        if power_s <= 0:
            return 0.0, False
        s = min(power_s, self.s_max())
        energy = float(self.machine.s_to_energy_uJ(s))
        delivered = min(energy, self.machine.max_energy_uJ)
        return delivered, bool(s < power_s or delivered < energy)

    def segment(self, t_start_s: float, t_end_s: float, start, end, beam_on: bool, energy_uJ: float,
                kinematics: tuple | None = None, rep_rate_kHz: float | None = None, s_command: float = 0.0,
                clamped: bool = False, hold: bool = False):
        """One executed interval, any controller family. kinematics: (v_entry, v_peak, v_exit, accel)."""
        duration = max(0.0, t_end_s - t_start_s)
        start, end = tuple(start) + (0.0,) * (3 - len(start)), tuple(end) + (0.0,) * (3 - len(end))
        length = float(np.sqrt(sum((end[i] - start[i]) ** 2 for i in range(3))))
        if kinematics is None:
            v = length / duration if duration > 0 else 0.0
            kinematics = (v, v, v, 0.0)
        on = bool(beam_on and energy_uJ > 0)
        self.segments.append((t_start_s, duration, *start[:3], *end[:3], *kinematics, int(on),
                              energy_uJ if on else 0.0, self.machine.rep_rate_kHz if rep_rate_kHz is None else rep_rate_kHz,
                              s_command, int(clamped and on), int(hold)))

    def move(self, start, end, rapid: bool, feed_mm_s: float, power_s: float, t_s: float,
             t_end_s: float | None = None, kinematics: tuple | None = None, dynamic: bool = False):
        """A block executed from t_s to t_end_s (GRBL: the interpreter already zeroes G0's power).
        kinematics: (v_entry, v_peak, v_exit, accel, planned length) of the whole block.
        dynamic: the block ran under M4 (power S x speed / feed_mm_s, per stepper segment); its
        toolpath row keeps the commanded S's energy, its history rows the delivered ones."""
        if tuple(start) == tuple(end):
            return
        energy, clamped = (0.0, False) if rapid else self.energy_of(power_s)
        if start[0] != end[0] or start[1] != end[1]:
            kind = RAPID if rapid else LINE
            self.rows.append((kind, start[0], start[1], end[0], end[1], feed_mm_s, 0.0, energy, max(self.pass_id, 0)))
            self.times_s.append(t_s)
        if t_end_s is None:
            return
        kin = None
        if kinematics is not None:
            v0, vp, v1, accel, length = kinematics
            done = float(np.sqrt(sum((end[i] - start[i]) ** 2 for i in range(len(start)))))
            if done < length - 1e-9 and accel > 0:  # cut short: the profile up to where it stopped
                reached = min(vp, np.sqrt((2 * accel * length + v0 * v0 + v1 * v1) / 2))
                vp, v1 = float(min(reached, np.sqrt(v0 * v0 + 2 * accel * done))), speed_at(done, kinematics)
            kin = (v0, vp, v1, accel)
            if dynamic and energy > 0 and not dynamic_power.at_programmed_rate(
                    v0, vp, v1, float(np.float32(feed_mm_s))):  # F as the planner holds it
                # (an M4 move at its programmed rate throughout fires at S: the row below)
                self._dynamic_move(start, end, feed_mm_s, power_s, t_s, t_end_s, kinematics, done, kin)
                return
        self.segment(t_s, t_end_s, start, end, energy > 0, energy, kin, s_command=0.0 if rapid else power_s,
                     clamped=clamped)

    def _dynamic_move(self, start, end, feed_mm_s, power_s, t_s, t_end_s, kinematics, done, kin):
        """An M4 move: its pieces of constant power (`dynamic_power.pieces`) as consecutive rows,
        on the trapezoid's own times (compressed if the executor stopped it sooner); a move at
        one level throughout (constant speed) is one row, as under M3."""
        v0, vp, v1, accel, length = kinematics
        programmed = float(np.float32(feed_mm_s))  # as the planner holds it: cruise at F is S itself
        energies: dict = {}  # level -> (energy, clamped), each level mapped once
        energy_of = lambda level: energies.get(level) or energies.setdefault(level, self.energy_of(level))
        if v0 == vp == v1:  # constant speed below the programmed rate (an axis limit): one level
            parts = [dynamic_power.Piece(0.0, 0.0, 0.0, done, kin, power_s * dynamic_power.ratio_of(vp, programmed))]
        else:
            profile = dynamic_power.Trapezoid(v0, vp, v1, accel, length)
            same = lambda a, b: energy_of(a) == energy_of(b)
            parts = dynamic_power.pieces(profile, done if done < length - 1e-9 else length, power_s, programmed, same)
        if len(parts) == 1:
            energy, clamped = energy_of(parts[0].power_s)
            self.segment(t_s, t_end_s, start, end, energy > 0, energy, kin, s_command=power_s, clamped=clamped)
            return
        # a whole block: the trapezoid's own times (its stepper idle lock, if any, comes after, at
        # rest with the beam off); a cut one (`position_at` is linear in time) squeezed into its run
        t_done, elapsed = parts[-1].t1_s, t_end_s - t_s
        cut = done < length - 1e-9
        scale = elapsed / t_done if cut and 0 < elapsed < t_done else 1.0
        n = len(start)
        points = [tuple(start)] + [tuple(start[i] + (end[i] - start[i]) * (p.s1_mm / done) for i in range(n))
                                   for p in parts[:-1]] + [tuple(end)]
        for p, a, b in zip(parts, points, points[1:]):
            energy, clamped = energy_of(p.power_s)
            self.segment(t_s + p.t0_s * scale, min(t_s + p.t1_s * scale, t_end_s), a, b, energy > 0, energy,
                         p.kinematics, s_command=power_s, clamped=clamped)

    def dwell(self, x_mm: float, y_mm: float, seconds: float, power_s: float, t_s: float, z_mm: float = 0.0):
        if seconds <= MIN_DWELL_S or power_s <= 0:
            return
        energy, clamped = self.energy_of(power_s)
        self.rows.append((DWELL, x_mm, y_mm, x_mm, y_mm, 0.0, seconds, energy, max(self.pass_id, 0)))
        self.times_s.append(t_s)
        self.segment(t_s, t_s + seconds, (x_mm, y_mm, z_mm), (x_mm, y_mm, z_mm), True, energy, (0.0, 0.0, 0.0, 0.0),
                     s_command=power_s, clamped=clamped)

    def hold(self, position, t_s: float, t_end_s: float):
        """The machine held at `position` with the beam gated off from t_s to t_end_s."""
        if t_end_s > t_s:
            self.segment(t_s, t_end_s, position, position, False, 0.0, (0.0, 0.0, 0.0, 0.0), hold=True)

    # ---- what the glass model and the tests read ----
    def __len__(self) -> int:
        return len(self.rows)

    def history(self):
        from hardware_sim.ledger import COLUMNS, BeamHistory

        if not self.segments:
            return BeamHistory.empty()
        cols = list(zip(*self.segments))
        return BeamHistory(**{name: np.asarray(col, dtype=dtype) for (name, dtype), col in zip(COLUMNS.items(), cols)})

    def ledger(self):
        """The beam history (the name the device and CLI use)."""
        return self.history()

    def toolpath(self) -> Toolpath:
        if not self.rows:
            return Toolpath.empty()
        cols = np.array(self.rows, dtype=np.float64).T
        names = ("kind", "x0", "y0", "x1", "y1", "speed_mm_s", "dwell_s", "energy_uJ", "pass_id")
        return Toolpath.from_columns(**dict(zip(names, cols)))

    def marks(self) -> Toolpath:
        path = self.toolpath()
        return path.take(path.is_mark)
