"""Machine profile: travel, motion limits, how S maps to pulse energy, the laser's rep rate.

Coordinates: jobs are written in work coordinates (G54) and the travel limits describe the
writable area in those coordinates, from 0 up. Stock GRBL homes to 0 and keeps machine
coordinates negative; set a work offset (`G10 L20 P1 X0 Y0` at the area's corner) so the
job's 0..travel range lies inside the machine's, or build GRBL with HOMING_FORCE_SET_ORIGIN.

Profiles are TOML files; `default` ships with the package (`lasergen/profiles/`). The GRBL
settings a profile implies ($30, $110.., $120.., $130..) are derived here so the driver can
check a controller against them and the emulator can boot with them.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from lasergen import LasergenError

PROFILE_DIR = Path(__file__).parent / "profiles"


@dataclass(frozen=True)
class MachineProfile:
    name: str
    x_range_mm: tuple[float, float]
    y_range_mm: tuple[float, float]
    max_rate_mm_s: tuple[float, float]
    accel_mm_s2: tuple[float, float]
    junction_deviation_mm: float
    planner_blocks: int
    stepper_idle_lock_ms: float
    s_per_uJ: float
    s_max: float
    rep_rate_kHz: float
    max_energy_uJ: float
    baud: int
    rx_buffer_bytes: int

    @classmethod
    def from_dict(cls, data: dict) -> "MachineProfile":
        try:
            travel, motion, laser = data["travel"], data["motion"], data["laser"]
            serial = data.get("serial", {})
            return cls(
                name=str(data.get("name", "unnamed")),
                x_range_mm=tuple(map(float, travel["x_mm"])),
                y_range_mm=tuple(map(float, travel["y_mm"])),
                max_rate_mm_s=tuple(map(float, motion["max_rate_mm_s"])),
                accel_mm_s2=tuple(map(float, motion["accel_mm_s2"])),
                junction_deviation_mm=float(motion.get("junction_deviation_mm", 0.01)),
                planner_blocks=int(motion.get("planner_blocks", 15)),
                stepper_idle_lock_ms=float(motion.get("stepper_idle_lock_ms", 25.0)),
                s_per_uJ=float(laser.get("s_per_uJ", 1.0)),
                s_max=float(laser.get("s_max", 1000.0)),
                rep_rate_kHz=float(laser["rep_rate_kHz"]),
                max_energy_uJ=float(laser["max_energy_uJ"]),
                baud=int(serial.get("baud", 115200)),
                rx_buffer_bytes=int(serial.get("rx_buffer_bytes", 128)),
            )
        except KeyError as exc:
            raise LasergenError(f"machine profile: missing key {exc.args[0]!r}") from None
        except (TypeError, ValueError) as exc:
            raise LasergenError(f"machine profile: {exc}") from None

    @classmethod
    def load(cls, name_or_path: str | Path = "default") -> "MachineProfile":
        path = Path(name_or_path)
        if not path.suffix:
            path = PROFILE_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            known = ", ".join(p.stem for p in PROFILE_DIR.glob("*.toml"))
            raise LasergenError(f"machine profile {str(name_or_path)!r} not found (built-in: {known})")
        try:
            return cls.from_dict(tomllib.loads(path.read_text()))
        except tomllib.TOMLDecodeError as exc:
            raise LasergenError(f"machine profile {path}: {exc}") from None

    def energy_to_s(self, energy_uJ):
        return energy_uJ * self.s_per_uJ

    def s_to_energy_uJ(self, s):
        return s / self.s_per_uJ

    def grbl_settings(self) -> dict[int, float]:
        """The GRBL 1.1 settings this profile assumes ($-number to value, GRBL units)."""
        return {
            1: self.stepper_idle_lock_ms,
            11: self.junction_deviation_mm,
            20: 1.0,  # soft limits on
            22: 1.0,  # homing on (soft limits need it)
            30: self.s_max,
            31: 0.0,
            32: 1.0,  # laser mode
            110: self.max_rate_mm_s[0] * 60.0,
            111: self.max_rate_mm_s[1] * 60.0,
            120: self.accel_mm_s2[0],
            121: self.accel_mm_s2[1],
            130: self.x_range_mm[1] - self.x_range_mm[0],
            131: self.y_range_mm[1] - self.y_range_mm[0],
        }

    def to_manifest(self) -> dict:
        return {"name": self.name, "rep_rate_kHz": self.rep_rate_kHz, "s_per_uJ": self.s_per_uJ}
