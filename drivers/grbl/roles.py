"""GRBL 1.1 as a Stage and a Laser (laser mode, $32=1).

Stage: `$H` homing, G0/G1 absolute moves in G21 G90, position from status reports, limits
from $130/$131. Laser: the S word carries power (the profile's s_per_uJ maps uJ to S), M3
opens the gate at rest in G1 mode (constant-power mode), M5 closes it; `armed` reads the
parser state from `$G`. The repetition rate is the amplifier's and not set through GRBL.
"""

from __future__ import annotations

from drivers.grbl.client import GrblClient
from drivers.hal import Laser, Machine, Stage, StageStatus
from lasergen import LasergenError
from lasergen.machine import MachineProfile


class GrblStage(Stage):
    def __init__(self, client: GrblClient):
        self.client = client

    def home(self):
        self.client.command("$H", timeout_s=120.0)

    def move_to(self, x_mm, y_mm, speed_mm_s=None):
        (x_lo, x_hi), (y_lo, y_hi) = self.limits_mm()
        if not (x_lo <= x_mm <= x_hi and y_lo <= y_mm <= y_hi):
            raise LasergenError(f"target X{x_mm:g} Y{y_mm:g} is outside the travel")
        motion = "G0" if speed_mm_s is None else f"G1F{speed_mm_s * 60:.2f}"
        self.client.command(f"G21G90{motion}X{x_mm:.4f}Y{y_mm:.4f}")

    def position_mm(self):
        return self.client.status().mpos

    def limits_mm(self):
        s = self.client.settings or self.client.read_settings()
        return (0.0, s[130]), (0.0, s[131])

    def status(self):
        st = self.client.status()
        return StageStatus(st.state, st.mpos, st.state in ("Run", "Jog", "Home"))


class GrblLaser(Laser):
    def __init__(self, client: GrblClient, machine: MachineProfile):
        self.client = client
        self.machine = machine
        self.rep_rate_kHz = machine.rep_rate_kHz
        self._energy_uJ = 0.0

    def set_energy_uJ(self, energy_uJ):
        if not 0 <= energy_uJ <= self.machine.max_energy_uJ:
            raise LasergenError(f"pulse energy {energy_uJ:g} uJ outside 0..{self.machine.max_energy_uJ:g}")
        self._energy_uJ = energy_uJ
        self.client.command(f"S{self.machine.energy_to_s(energy_uJ):.1f}")

    def energy_uJ(self):
        return self._energy_uJ

    def gate(self, on):
        s = self.machine.energy_to_s(self._energy_uJ)
        self.client.command(f"G1M3S{s:.1f}" if on else "M5")

    @property
    def armed(self):
        modes = next(m.groups[1] for m in self.client.command("$G") if m.kind == "feedback" and m.groups[0] == "GC")
        words = modes.split()
        s = float(next(w[1:] for w in words if w.startswith("S")))
        return ("M3" in words or "M4" in words) and s > 0


def grbl_machine(url: str, profile: MachineProfile) -> Machine:
    client = GrblClient(url, profile).open()
    client.connect()
    return Machine(profile, GrblStage(client), GrblLaser(client, profile))
