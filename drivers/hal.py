"""The hardware abstraction: what lasergen needs from a stage and a laser, nothing more.

`Stage` moves and reports in machine coordinates (mm, [0, travel] after homing); `Laser`
sets pulse energy (uJ) and gates the beam; `Machine` composes one of each for a machine
profile. Implementations: GRBL (`drivers.grbl.roles`: stage motion, beam gate and power via
M3/M5 and S) and a motorised half-wave plate (`drivers.beam.attenuator`) that sets the energy on
its own port while GRBL gates. A new device family is one module implementing these.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

from lasergen.machine import MachineProfile


@dataclass
class StageStatus:
    state: str  # Idle, Run, Hold, Alarm, ...
    position_mm: tuple[float, float, float]
    moving: bool


class Stage(ABC):
    @abstractmethod
    def home(self) -> None: ...

    @abstractmethod
    def move_to(self, x_mm: float, y_mm: float, speed_mm_s: float | None = None) -> None:
        """Absolute move; None = rapid. Returns when the move is queued."""

    @abstractmethod
    def position_mm(self) -> tuple[float, float, float]: ...

    @abstractmethod
    def limits_mm(self) -> tuple[tuple[float, float], tuple[float, float]]: ...

    @abstractmethod
    def status(self) -> StageStatus: ...


class Laser(ABC):
    rep_rate_kHz: float

    @abstractmethod
    def set_energy_uJ(self, energy_uJ: float) -> None: ...

    @abstractmethod
    def energy_uJ(self) -> float: ...

    @abstractmethod
    def gate(self, on: bool) -> None:
        """Open (beam on at the set energy) or close the gate."""

    @property
    @abstractmethod
    def armed(self) -> bool:
        """True when the beam would fire on the next writing move."""


@dataclass
class Machine:
    profile: MachineProfile
    stage: Stage
    laser: Laser

    def safe(self) -> None:
        """Gate the beam off; the one call every stop path makes."""
        self.laser.gate(False)
