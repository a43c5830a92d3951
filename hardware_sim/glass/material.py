"""Material profiles: the phase-model constants of one glass (Br, BrI, I), loaded from TOML.

Each constant in `materials/*.toml` carries its provenance in a comment (paper figure, seed,
PHYSICS.md section B, "fit to target C.x" or "assumed"). This module only loads and checks the
profile against the schema below (a table, so a missing or misspelt key is a one-line error) and
provides the one generic rate law the heat-treatment processes share:

    extent(T, t) = 1 - exp(-t / tau(T)),   tau(T) = tau_ref * exp(Ea/R * (1/T - 1/T_ref))
"""

from __future__ import annotations

import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lasergen import LasergenError

MATERIAL_DIR = Path(__file__).parent / "materials"
R_J_MOL_K = 8.314462618
KELVIN = 273.15

SCHEMA: dict[str, tuple[str, ...]] = {
    "laser": ("delivered_fraction", "eta_max", "eta_sat_uJ", "accumulation_time_s"),
    "thermal": ("c_T_K_per_W", "r0_um", "ambient_c", "liquidus_c"),
    "kinetics": ("activation_kJ_mol", "rate_ref_per_s", "avrami_n", "detect_fraction",
                 "incubation_ref_s", "incubation_sigma_um", "rewrite_melt_s"),
    "chemistry": ("green_weight", "red_weight", "green_peak_nm", "green_ht_shift_nm",
                  "red_peak_start_nm", "red_peak_end_nm", "rewrite_beta", "rewrite_red_gain",
                  "rewrite_green_keep", "iodide_red_gain", "growth_gain", "vacancy_depth",
                  "healing_gain"),
    "spectra": ("green_fwhm_meV", "red_fwhm_meV", "green_stokes_nm", "red_stokes_nm"),
    "daylight": ("absorbance", "edge_width_nm", "scatter"),
    "measurement": ("ref_c", "quench_activation_eV", "quench_prefactor", "peak_shift_meV_per_K",
                    "phonon_width_meV", "phonon_energy_meV"),
}
PROCESSES = ("iodide", "growth", "green_shift", "vacancy", "healing")
PROCESS_KEYS = ("activation_kJ_mol", "tau_ref_h", "ref_c")


@dataclass(frozen=True)
class Process:
    """A thermally activated first-order process of the heat treatment."""
    activation_kJ_mol: float
    tau_ref_h: float
    ref_c: float

    def extent(self, temperature_c: float | None, hours: float) -> float:
        if temperature_c is None or hours <= 0:
            return 0.0
        t_k, ref_k = temperature_c + KELVIN, self.ref_c + KELVIN
        tau_h = self.tau_ref_h * np.exp(self.activation_kJ_mol * 1e3 / R_J_MOL_K * (1 / t_k - 1 / ref_k))
        return float(-np.expm1(-hours / tau_h))


@dataclass(frozen=True)
class Material:
    name: str
    description: str
    laser: dict
    thermal: dict
    kinetics: dict
    chemistry: dict
    spectra: dict
    daylight: dict
    measurement: dict
    processes: dict[str, Process]
    extras: dict

    @classmethod
    def from_dict(cls, data: dict, where: str = "material") -> "Material":
        sections = {}
        for section, keys in SCHEMA.items():
            table = data.get(section)
            if not isinstance(table, dict):
                raise LasergenError(f"{where}: missing section [{section}]")
            missing = [k for k in keys if k not in table]
            if missing:
                raise LasergenError(f"{where}: [{section}] lacks {', '.join(missing)}")
            try:
                sections[section] = {k: float(table[k]) for k in keys}
            except (TypeError, ValueError):
                raise LasergenError(f"{where}: [{section}] values must be numbers") from None
        processes = {}
        for name in PROCESSES:
            table = data.get("processes", {}).get(name)
            if not isinstance(table, dict) or any(k not in table for k in PROCESS_KEYS):
                raise LasergenError(f"{where}: [processes.{name}] needs {', '.join(PROCESS_KEYS)}")
            processes[name] = Process(*(float(table[k]) for k in PROCESS_KEYS))
        return cls(name=str(data.get("name", "unnamed")), description=str(data.get("description", "")),
                   processes=processes, extras=dict(data.get("extras", {})), **sections)

    @classmethod
    def load(cls, name_or_path: "str | Path | Material" = "BrI") -> "Material":
        if isinstance(name_or_path, Material):
            return name_or_path
        path = Path(name_or_path)
        if not path.suffix:
            path = MATERIAL_DIR / f"{name_or_path}.toml"
        if not path.is_file():
            known = ", ".join(sorted(p.stem for p in MATERIAL_DIR.glob("*.toml")))
            raise LasergenError(f"material {str(name_or_path)!r} not found (built-in: {known})")
        try:
            data = tomllib.loads(path.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise LasergenError(f"material {path.name}: {exc}") from None
        return cls.from_dict(data, where=f"material {path.name}")

    @staticmethod
    def builtin() -> list[str]:
        return sorted(p.stem for p in MATERIAL_DIR.glob("*.toml"))
