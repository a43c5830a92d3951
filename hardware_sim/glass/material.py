"""Material profiles: the glass model's constants for one glass (Br, BrI, I, ...), from TOML.

Each constant in `materials/*.toml` carries its provenance in a comment (a figure or section of
the central paper, seed 000, PHYSICS.md, "fit to target X", or "assumed"). This module loads a
profile and checks it against `SCHEMA` (key -> allowed range): an unknown table or key, a
missing key, a value that is not a finite number or is out of range is a one-line error naming
what is wrong and what is known. It also provides the one rate law the heat-treatment
processes share (first order, Arrhenius in temperature):

    extent(T, t) = 1 - exp(-t / tau(T)),   tau(T) = tau_ref * exp(Ea/R * (1/T - 1/T_ref))
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from lasergen import LasergenError

MATERIAL_DIR = Path(__file__).parent / "materials"
R_J_MOL_K = 8.314462618
KELVIN = 273.15
INF = math.inf

SCHEMA: dict[str, dict[str, tuple[float, float]]] = {
    "laser": {"delivered_fraction": (1e-6, 1.0), "eta_max": (1e-6, 1.0), "eta_sat_uJ": (1e-6, 1e6)},
    "focus": {"numerical_aperture": (0.01, 1.4), "refractive_index": (1.0, 3.0), "depth_at_z0_um": (0.0, 1e5)},
    "thermal": {"conductivity_W_mK": (1e-3, 100.0), "diffusivity_m2_s": (1e-9, 1e-3), "r0_um": (0.1, 1000.0),
                "ambient_c": (-100.0, 200.0), "liquidus_c": (0.0, 3000.0), "dissolve_c": (0.0, 5000.0),
                "dissolve_width_K": (1.0, 2000.0), "damage_c": (0.0, 10000.0)},
    "kinetics": {"activation_kJ_mol": (1.0, 1000.0), "rate_ref_per_s": (1e-9, 1e9), "avrami_n": (0.5, 5.0),
                 "detect_fraction": (1e-6, 0.999), "incubation_ref_s": (1e-6, 1e6),
                 "nucleation_speed_mm_s": (1e-6, 1e6), "incubation_memory_s": (1e-3, 1e12), "dissolve_time_s": (1e-6, 1e3), "damage_time_s": (1e-9, 1e3),
                 "rewrite_cool_s": (0.0, 10.0), "rewrite_max": (0.0, 100.0)},
    "chemistry": {"green_weight": (0.0, 100.0), "red_weight": (0.0, 100.0), "green_peak_nm": (300.0, 900.0),
                  "green_ht_shift_nm": (-50.0, 50.0), "iodide_as_written": (0.0, 1.0), "iodide_max": (0.0, 1.0),
                  "bromide_gap_eV": (1.0, 4.0), "iodide_gap_eV": (1.0, 4.0), "gap_bowing_eV": (-2.0, 2.0),
                  "rewrite_beta": (0.0, 100.0), "rewrite_red_gain": (0.0, 100.0), "rewrite_green_keep": (0.0, 1.0),
                  "iodide_red_gain": (0.0, 100.0), "growth_gain": (0.0, 100.0)},
    "recombination": {"radiative_rate_per_ns": (1e-6, 100.0), "nonradiative_rate_per_ns": (0.0, 100.0),
                      "trapping_rate_per_ns": (0.0, 100.0), "detrapping_rate_per_ns": (0.0, 100.0),
                      "trap_loss_rate_per_ns": (0.0, 100.0), "vacancy_trap_density": (1.0, 1e6),
                      "healed_trap_density": (0.0, 1.0), "growth_radiative_slowdown": (0.0, 100.0),
                      "halide_to_lead_as_written": (1.0, 5.0), "halide_to_lead_vacancy": (1.0, 5.0),
                      "halide_to_lead_healed": (1.0, 5.0)},
    "spectra": {"green_fwhm_meV": (1.0, 1000.0), "red_fwhm_meV": (1.0, 1000.0), "green_stokes_nm": (0.0, 100.0),
                "red_stokes_nm": (0.0, 100.0)},
    "daylight": {"absorbance": (0.0, 10.0), "edge_width_nm": (0.1, 100.0), "scatter": (0.0, 1.0),
                 "damage_scatter": (0.0, 1.0)},
    "measurement": {"ref_c": (-100.0, 400.0), "quench_activation_eV": (0.0, 5.0), "quench_prefactor": (0.0, 1e9),
                    "peak_shift_meV_per_K": (-10.0, 10.0), "phonon_width_meV": (0.0, 1000.0),
                    "phonon_energy_meV": (0.1, 1000.0)},
}
PROCESSES = ("iodide", "growth", "green_shift", "vacancy", "healing")
PROCESS_SCHEMA = {"activation_kJ_mol": (0.0, 2000.0), "tau_ref_h": (1e-12, 1e12), "ref_c": (-100.0, 3000.0)}
TOP_LEVEL = {"name", "description", "processes", "extras", *SCHEMA}


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


def _unknown(where: str, what: str, found, known) -> None:
    extra = sorted(set(found) - set(known))
    if extra:
        raise LasergenError(f"{where}: unknown {what} {', '.join(extra)}; known: {', '.join(sorted(known))}")


def _table(data: dict, name: str, schema: dict[str, tuple[float, float]], where: str) -> dict[str, float]:
    table = data.get(name)
    if not isinstance(table, dict):
        raise LasergenError(f"{where}: missing table [{name}]")
    _unknown(where, f"key(s) in [{name}]:", table, schema)
    missing = [k for k in schema if k not in table]
    if missing:
        raise LasergenError(f"{where}: [{name}] lacks {', '.join(missing)}")
    out = {}
    for key, (lo, hi) in schema.items():
        value = table[key]
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise LasergenError(f"{where}: [{name}] {key} must be a number, got {value!r}")
        if not math.isfinite(value):
            raise LasergenError(f"{where}: [{name}] {key} must be finite, got {value}")
        if not lo <= value <= hi:
            raise LasergenError(f"{where}: [{name}] {key} = {value:g} is outside {lo:g}..{hi:g}")
        out[key] = float(value)
    return out


@dataclass(frozen=True)
class Material:
    name: str
    description: str
    laser: dict
    focus: dict
    thermal: dict
    kinetics: dict
    chemistry: dict
    recombination: dict
    spectra: dict
    daylight: dict
    measurement: dict
    processes: dict[str, Process]
    extras: dict

    @classmethod
    def from_dict(cls, data: dict, where: str = "material") -> "Material":
        _unknown(where, "table(s)/key(s)", data, TOP_LEVEL)
        sections = {name: _table(data, name, schema, where) for name, schema in SCHEMA.items()}
        procs = data.get("processes")
        if not isinstance(procs, dict):
            raise LasergenError(f"{where}: missing table [processes]")
        _unknown(where, "process(es)", procs, PROCESSES)
        processes = {name: Process(**_table(procs, name, PROCESS_SCHEMA, f"{where} [processes]"))
                     for name in PROCESSES}
        extras = data.get("extras", {})
        if not isinstance(extras, dict):
            raise LasergenError(f"{where}: [extras] must be a table")
        return cls(name=str(data.get("name", "unnamed")), description=str(data.get("description", "")),
                   processes=processes, extras=dict(extras), **sections)

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
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise LasergenError(f"material {path.name}: {str(exc).splitlines()[0]}") from None
        return cls.from_dict(data, where=f"material {path.name}")

    @staticmethod
    def builtin() -> list[str]:
        return sorted(p.stem for p in MATERIAL_DIR.glob("*.toml"))
