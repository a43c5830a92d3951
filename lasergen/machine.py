"""Machine profile: the controller family, travel, motion limits, and the beam side.

Coordinates: jobs are written in work coordinates and the travel limits describe the writable
area in those coordinates, from 0 up. (Stock GRBL homes to 0 and keeps machine coordinates
negative; set a work offset, `G10 L20 P1 X0 Y0` at the area's corner, so the job's 0..travel
range lies inside the machine's, or build GRBL with HOMING_FORCE_SET_ORIGIN.)

Profiles are TOML files; `grbl-default` and `pi-c884` ship with the package (`lasergen/profiles/`,
`default` is an alias of `grbl-default`). Tables:
    name, controller        the profile's name; the controller family (a registered back-end)
    [travel]                x_mm, y_mm: writable range [low, high]; z_mm: the Z axis's, when the
                            stage has one (work coordinates, mm)
    [motion]                max_rate_mm_s, accel_mm_s2: per axis [x, y]
    [laser]                 rep_rate_kHz, max_energy_uJ (the amplifier, not set by the controller)
    [beam]                  energy: how a layer's pulse energy is set: "s_word" (the controller's
                            power word), "attenuator" (a motorised half-wave plate before a
                            polariser, [beam.attenuator]) or "fixed" (fixed_energy_uJ);
                            gate: how the beam is switched: "s_word" (GRBL laser mode), "shutter",
                            "pulse_picker" or "digital_output" (a controller output line), with
                            gate_latency_ms from the command to the optical change
    [serial]                baud
    [focus]                 optional: the glass and the objective, for writing in depth
                            (`lasergen.focus`: refractive index, NA, working distance, thickness,
                            which way +Z moves the focus, the surface's Z or plane)
    [<controller>]          the controller's own settings ([grbl], [pi_gcs]), checked by its
                            back-end's PROFILE_TABLE and readable as attributes of the profile
                            (`machine.junction_deviation_mm` on a GRBL profile)
Every table and key is checked (`lasergen.profile_schema`): an unknown key, NaN, inf, a negative
or zero value where a positive one is required, a string where a number goes, an array of the
wrong length are one-line errors naming what is wrong. Profiles of the first layout, with GRBL's
keys under [motion], [laser] and [serial], still load as GRBL profiles.
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

from lasergen import LasergenError
from lasergen.backends import BACKENDS, backend
from lasergen.profile_schema import Field, check_table, non_negative, positive, positive_pair

PROFILE_DIR = Path(__file__).parent / "profiles"
ALIASES = {"default": "grbl-default"}
ENERGY_MODES = ("s_word", "attenuator", "fixed")
GATES = ("s_word", "shutter", "pulse_picker", "digital_output")

TOP = {"name": Field("text", "unnamed"), "controller": Field("text", "grbl"), "description": Field("text", "")}
TABLES = {
    "travel": {"x_mm": Field("list", length=2, item=Field("number")),
               "y_mm": Field("list", length=2, item=Field("number")),
               "z_mm": Field("list", None, length=2, item=Field("number"))},
    "motion": {"max_rate_mm_s": positive_pair(), "accel_mm_s2": positive_pair()},
    "laser": {"rep_rate_kHz": positive(), "max_energy_uJ": positive()},
    "beam": {"energy": Field("choice", "s_word", choices=ENERGY_MODES),
             "gate": Field("choice", "s_word", choices=GATES),
             "gate_latency_ms": non_negative(0.0), "fixed_energy_uJ": Field("number", None, 0.0, True)},
    "serial": {"baud": Field("int", 115200, 1)},
}
ATTENUATOR = {
    "port": Field("text", "", help="serial port of the rotation mount; empty: beside a sim:// stage"),
    "address": Field("text", "0"),
    "p_min_uJ": non_negative(0.0), "p_max_uJ": positive(),
    "theta0_deg": Field("number", 0.0),
    "move_s": non_negative(1.0, help="time one energy change takes (plate rotation)"),
    # written by `lasergen calibrate attenuator`: the fit's provenance and the range it covers
    "calibrated_uJ": Field("list", None, length=2, item=non_negative(),
                           help="[low, high] energies the readings covered; others are refused"),
    "calibrated_on": Field("text", "", help="date of the power-meter readings (ISO 8601)"),
    "wavelength_nm": Field("number", None, 0.0, True),
    "rep_rate_kHz": Field("number", None, 0.0, True, help="repetition rate during the readings"),
    "rms_residual_uJ": Field("number", None, 0.0),
    "readings": Field("int", None, 0),
}
# where the first profile layout kept GRBL's settings
LEGACY_GRBL = {"motion": ("junction_deviation_mm", "planner_blocks", "stepper_idle_lock_ms"),
               "laser": ("s_per_uJ", "s_max"), "serial": ("rx_buffer_bytes",)}


@dataclass(frozen=True)
class MachineProfile:
    name: str
    controller: str
    x_range_mm: tuple[float, float]
    y_range_mm: tuple[float, float]
    max_rate_mm_s: tuple[float, float]
    accel_mm_s2: tuple[float, float]
    rep_rate_kHz: float
    max_energy_uJ: float
    baud: int
    energy_mode: str = "s_word"
    gate: str = "s_word"
    gate_latency_ms: float = 0.0
    fixed_energy_uJ: float | None = None
    attenuator: tuple = ()  # (key, value) pairs of [beam.attenuator]
    z_range_mm: tuple[float, float] | None = None  # the Z axis's travel; None: no Z axis
    focus: tuple = ()  # (key, value) pairs of [focus] (checked by lasergen.focus)
    settings: tuple = ()  # (key, value) pairs of the controller's own table
    description: str = ""

    def __getattr__(self, name):
        """The controller's own settings read as attributes (`machine.s_max` on a GRBL profile)."""
        settings = self.__dict__.get("settings")
        if settings:
            for key, value in settings:
                if key == name:
                    return value
        raise AttributeError(f"machine profile {self.__dict__.get('name')!r} has no setting {name!r}")

    def __repr__(self) -> str:
        (x0, x1), (y0, y1) = self.x_range_mm, self.y_range_mm
        return (f"<MachineProfile {self.name} ({self.controller}): X {x0:g}..{x1:g}, Y {y0:g}..{y1:g} mm, "
                f"max {max(self.max_rate_mm_s):g} mm/s, energy by {self.energy_mode}>")

    # ---- loading ----
    @classmethod
    def from_dict(cls, data: dict, where: str = "machine profile") -> "MachineProfile":
        if not isinstance(data, dict):
            raise LasergenError(f"{where} must be a table")
        data = {k: (dict(v) if isinstance(v, dict) else v) for k, v in data.items()}
        top = check_table({k: v for k, v in data.items() if k in TOP}, TOP, where)
        family = top["controller"]
        if family not in BACKENDS:
            raise LasergenError(f"{where}: unknown controller {family!r} (known: {', '.join(BACKENDS)})")
        lang = backend(family).lang
        own = dict(data.pop(family, {}) or {})
        if family == "grbl":
            for table, keys in LEGACY_GRBL.items():
                for key in keys:
                    if key in data.get(table, {}):
                        own.setdefault(key, data[table].pop(key))
        known = set(TOP) | set(TABLES) | {family, "focus"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise LasergenError(f"{where}: unknown table(s) {', '.join(unknown)} "
                                f"(known: {', '.join(sorted(known - set(TOP)))})")
        attenuator_data = data.get("beam", {}).pop("attenuator", None) if isinstance(data.get("beam"), dict) else None
        tables = {}
        for table, schema in TABLES.items():
            if table in ("travel", "motion", "laser") and table not in data:
                raise LasergenError(f"{where}: missing table [{table}]")
            tables[table] = check_table(data.get(table, {}), schema, f"{where} [{table}]")
        beam = tables["beam"]
        settings = check_table(own, lang.PROFILE_TABLE, f"{where} [{family}]")
        axes = [("x", tables["travel"]["x_mm"]), ("y", tables["travel"]["y_mm"])]
        if tables["travel"]["z_mm"] is not None:
            axes.append(("z", tables["travel"]["z_mm"]))
        for axis, (low, high) in axes:
            if not low < high:
                raise LasergenError(f"{where} [travel] {axis}_mm must be [low, high] with low < high, got [{low:g}, {high:g}]")
        if beam["energy"] not in lang.ENERGY_MODES:
            raise LasergenError(f"{where} [beam] energy {beam['energy']!r} is not one {family} can drive "
                                f"(it can: {', '.join(lang.ENERGY_MODES)})")
        if beam["gate"] not in lang.GATES:
            raise LasergenError(f"{where} [beam] gate {beam['gate']!r} is not one {family} can drive "
                                f"(it can: {', '.join(lang.GATES)})")
        attenuator = ()
        if beam["energy"] == "attenuator":
            if not isinstance(attenuator_data, dict):
                raise LasergenError(f"{where}: energy = \"attenuator\" needs a [beam.attenuator] table")
            att = check_table({"p_max_uJ": tables["laser"]["max_energy_uJ"], **attenuator_data}, ATTENUATOR,
                              f"{where} [beam.attenuator]")
            if att["p_min_uJ"] >= att["p_max_uJ"]:
                raise LasergenError(f"{where} [beam.attenuator] p_min_uJ must be below p_max_uJ")
            if att["calibrated_uJ"] is not None and not att["calibrated_uJ"][0] < att["calibrated_uJ"][1]:
                raise LasergenError(f"{where} [beam.attenuator] calibrated_uJ must be [low, high] with low < high")
            att = {k: v for k, v in att.items() if v is not None}
            attenuator = tuple(sorted(att.items()))
        focus = ()
        if "focus" in data:
            from lasergen.focus import SCHEMA, Focus

            Focus.from_table(data["focus"], f"{where} [focus]")  # every key and value checked here, once
            checked = check_table(data["focus"], SCHEMA, f"{where} [focus]")
            focus = tuple(sorted((k, v) for k, v in checked.items() if v is not None))
        if beam["energy"] == "fixed" and beam["fixed_energy_uJ"] is None:
            raise LasergenError(f"{where}: energy = \"fixed\" needs [beam] fixed_energy_uJ")
        return cls(
            name=top["name"], controller=family, description=top["description"],
            x_range_mm=tables["travel"]["x_mm"], y_range_mm=tables["travel"]["y_mm"],
            max_rate_mm_s=tables["motion"]["max_rate_mm_s"], accel_mm_s2=tables["motion"]["accel_mm_s2"],
            rep_rate_kHz=tables["laser"]["rep_rate_kHz"], max_energy_uJ=tables["laser"]["max_energy_uJ"],
            baud=tables["serial"]["baud"], energy_mode=beam["energy"], gate=beam["gate"],
            gate_latency_ms=beam["gate_latency_ms"], fixed_energy_uJ=beam["fixed_energy_uJ"],
            attenuator=attenuator, settings=tuple(sorted(settings.items())),
            z_range_mm=tables["travel"]["z_mm"], focus=focus)

    @classmethod
    def load(cls, name_or_path: str | Path = "default") -> "MachineProfile":
        path = Path(name_or_path)
        if not path.suffix:
            path = PROFILE_DIR / f"{ALIASES.get(str(name_or_path), str(name_or_path))}.toml"
        if not path.is_file():
            raise LasergenError(f"machine profile {str(name_or_path)!r} not found (built-in: {', '.join(builtin_names())})")
        try:
            return cls.from_dict(tomllib.loads(path.read_text()), f"machine profile {path.name}")
        except tomllib.TOMLDecodeError as exc:
            raise LasergenError(f"machine profile {path}: {exc}") from None
        except UnicodeDecodeError as exc:
            raise LasergenError(f"machine profile {path}: not text ({exc})") from None

    # ---- the beam side ----
    @property
    def attenuator_settings(self) -> dict:
        return dict(self.attenuator)

    @property
    def energy_range_uJ(self) -> tuple[float, float]:
        """Pulse energies the beam side can set: an attenuator's calibrated range (else its
        Malus model's), a fixed energy, or 0..max_energy_uJ; never above max_energy_uJ."""
        if self.energy_mode == "attenuator":
            att = self.attenuator_settings
            low, high = att.get("calibrated_uJ") or (att["p_min_uJ"], att["p_max_uJ"])
            return float(low), float(min(high, self.max_energy_uJ))
        if self.energy_mode == "fixed":
            return float(self.fixed_energy_uJ), float(self.fixed_energy_uJ)
        return 0.0, float(self.max_energy_uJ)

    @property
    def energy_range_source(self) -> str:
        """Where `energy_range_uJ` comes from, for error messages."""
        att = self.attenuator_settings
        if self.energy_mode == "attenuator" and att.get("calibrated_uJ"):
            return f"attenuator calibrated {att.get('calibrated_on') or 'on an unknown date'}"
        return {"attenuator": "attenuator model range, not calibrated", "fixed": "fixed energy"}.get(
            self.energy_mode, "[laser] max_energy_uJ")

    def energy_to_s(self, energy_uJ):
        """The controller's power word for a pulse energy (S on GRBL; 1:1 where no S word exists)."""
        return energy_uJ * self.settings_dict.get("s_per_uJ", 1.0)

    def s_to_energy_uJ(self, s):
        return s / self.settings_dict.get("s_per_uJ", 1.0)

    @property
    def settings_dict(self) -> dict:
        return dict(self.settings)

    def grbl_settings(self) -> dict[int, float]:
        """The GRBL settings this profile implies (GRBL profiles only)."""
        return backend(self.controller).lang.controller_settings(self)

    def summary(self) -> dict:
        """What `lasergen machines` shows."""
        travel = {"x": list(self.x_range_mm), "y": list(self.y_range_mm)}
        if self.z_range_mm is not None:
            travel["z"] = list(self.z_range_mm)
        return {"name": self.name, "controller": self.controller, "title": backend(self.controller).title,
                "travel_mm": travel, "max_depth_um": self.max_depth_um,
                "max_rate_mm_s": list(self.max_rate_mm_s), "accel_mm_s2": list(self.accel_mm_s2),
                "rep_rate_kHz": self.rep_rate_kHz, "max_energy_uJ": self.max_energy_uJ,
                "energy": self.energy_mode, "gate": self.gate, "gate_latency_ms": self.gate_latency_ms,
                "description": self.description}

    @property
    def max_depth_um(self) -> float | None:
        """The deepest focus the profile allows (None: it cannot write in depth)."""
        if not self.focus or self.z_range_mm is None:
            return None
        from lasergen.focus import focus_of

        return round(focus_of(self).max_depth_um, 1)

    def to_manifest(self) -> dict:
        return backend(self.controller).lang.machine_manifest(self)


def builtin_names() -> list[str]:
    return sorted(p.stem for p in PROFILE_DIR.glob("*.toml")) + sorted(ALIASES)


def builtin_profiles() -> list[tuple[str, MachineProfile]]:
    """(file name, profile) of every built-in profile, aliases left out."""
    return [(p.stem, MachineProfile.load(p)) for p in sorted(PROFILE_DIR.glob("*.toml"))]
