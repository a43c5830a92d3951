"""Laser heating and the Arrhenius crystallization-rate kernel (PHYSICS.md B.1-B.4).

  absorbed power    P_abs = eta(E) * kappa * E * f * h(f),  eta(E) = eta_max (1 - exp(-E/E_sat)),
                    h(f) = 1 - exp(-f t_acc)   (heat accumulation, ~1 at 10 kHz)
  temperature       T(r) = T_amb + c_T P_abs r0 / sqrt(r^2 + r0^2)   (quasi-static, around the focus)
  rate              k(r) = k_ref exp(-Ea/R (1/T(r) - 1/T_ref)) where T(r) >= T_liquidus, else 0
  incubation        t_inc(E) = t_inc_ref * k_ref / k(0; E)   (nucleation scales with the rate at
                    the centre; infinite where the centre never melts)

T_ref is the centre temperature at the reference writing point (200 uJ, 10 kHz), so `k_ref`
and `t_inc_ref` are the values there. The kernel is sampled on the simulation grid by averaging
4 x 4 sub-samples per pixel, so its integral does not depend on the pitch.
"""

from __future__ import annotations

import numpy as np

from hardware_sim.glass.material import KELVIN, R_J_MOL_K, Material

REFERENCE_ENERGY_uJ = 200.0
REFERENCE_REP_RATE_kHz = 10.0
SUBSAMPLES = 4


def delivered_power_W(material: Material, energy_uJ, rep_rate_kHz):
    """Average power reaching the sample: kappa * E * f (the paper's '500 mW' at 200 uJ, 10 kHz)."""
    return material.laser["delivered_fraction"] * np.asarray(energy_uJ) * 1e-6 * np.asarray(rep_rate_kHz) * 1e3


def absorbed_power_W(material: Material, energy_uJ, rep_rate_kHz):
    lz = material.laser
    eta = lz["eta_max"] * -np.expm1(-np.asarray(energy_uJ, dtype=float) / lz["eta_sat_uJ"])
    accumulation = -np.expm1(-np.asarray(rep_rate_kHz) * 1e3 * lz["accumulation_time_s"])
    return eta * delivered_power_W(material, energy_uJ, rep_rate_kHz) * accumulation


def temperature_K(material: Material, energy_uJ, rep_rate_kHz, r_um):
    th = material.thermal
    rise = th["c_T_K_per_W"] * absorbed_power_W(material, energy_uJ, rep_rate_kHz)
    r0 = th["r0_um"]
    return th["ambient_c"] + KELVIN + rise * r0 / np.sqrt(np.asarray(r_um) ** 2 + r0 ** 2)


def centre_temperature_K(material: Material, energy_uJ, rep_rate_kHz):
    return temperature_K(material, energy_uJ, rep_rate_kHz, 0.0)


def reference_temperature_K(material: Material) -> float:
    return float(centre_temperature_K(material, REFERENCE_ENERGY_uJ, REFERENCE_REP_RATE_kHz))


def rate_per_s(material: Material, temperature):
    """Crystallization rate at temperature (K); zero below the liquidus."""
    kin = material.kinetics
    t = np.asarray(temperature, dtype=float)
    t_ref = reference_temperature_K(material)
    k = kin["rate_ref_per_s"] * np.exp(-kin["activation_kJ_mol"] * 1e3 / R_J_MOL_K * (1 / t - 1 / t_ref))
    return np.where(t >= material.thermal["liquidus_c"] + KELVIN, k, 0.0)


def incubation_s(material: Material, energy_uJ, rep_rate_kHz):
    """Static exposure needed before nucleation at this writing point (inf: never)."""
    k0 = rate_per_s(material, centre_temperature_K(material, energy_uJ, rep_rate_kHz))
    with np.errstate(divide="ignore"):
        return np.where(k0 > 0, material.kinetics["incubation_ref_s"] * material.kinetics["rate_ref_per_s"] / k0, np.inf)


def melt_radius_um(material: Material, energy_uJ, rep_rate_kHz) -> float:
    """Radius inside which T >= liquidus (the kernel's support), 0 if the centre does not melt."""
    th = material.thermal
    rise = th["c_T_K_per_W"] * float(absorbed_power_W(material, energy_uJ, rep_rate_kHz))
    needed = th["liquidus_c"] - th["ambient_c"]
    if rise <= needed:
        return 0.0
    return th["r0_um"] * float(np.sqrt((rise / needed) ** 2 - 1))


def _sampled(material: Material, energy_uJ: float, rep_rate_kHz: float, pitch_um: float, of_temperature):
    radius = melt_radius_um(material, energy_uJ, rep_rate_kHz)
    m = int(np.ceil(radius / pitch_um)) + 1 if radius > 0 else 0
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5
    axis = (np.arange(-m, m + 1)[:, None] + offsets[None, :]).ravel() * pitch_um
    r = np.hypot(axis[:, None], axis[None, :])
    k = of_temperature(temperature_K(material, energy_uJ, rep_rate_kHz, r))
    n = 2 * m + 1
    return k.reshape(n, SUBSAMPLES, n, SUBSAMPLES).mean(axis=(1, 3)).astype(np.float32)


def rate_kernel(material: Material, energy_uJ: float, rep_rate_kHz: float, pitch_um: float) -> np.ndarray:
    """k(r) in 1/s on a (2m+1)^2 pixel grid, pixel-averaged; an all-zero 1x1 kernel if no melt."""
    return _sampled(material, energy_uJ, rep_rate_kHz, pitch_um, lambda t: rate_per_s(material, t))


def melt_kernel(material: Material, energy_uJ: float, rep_rate_kHz: float, pitch_um: float) -> np.ndarray:
    """Fraction of each pixel inside the melt zone (T >= liquidus) around the focus."""
    liquidus = material.thermal["liquidus_c"] + KELVIN
    return _sampled(material, energy_uJ, rep_rate_kHz, pitch_um, lambda t: (t >= liquidus).astype(float))
