"""Laser heating: the temperature the beam sustains around its focus, per pulse and between
pulses, the heat it leaves behind, and the Arrhenius rate kernels the glass model convolves.

Constants come from the material profile ([laser], [thermal], [kinetics], [focus]).
  absorbed      per pulse Q = eta(E) kappa E, eta(E) = eta_max (1 - exp(-E / E_sat)) (nonlinear
                absorption saturates); average power P = Q f. kappa is the delivered fraction
                that reconciles the paper's 200 uJ x 10 kHz (2 W) with its "500 mW".
  average       the time-averaged field of the average power around the absorbing volume (radius
                r0): T(r) = T_amb + P / (4 pi k sqrt(r^2 + r0^2)) (a point source's 1/r far field).
                Growth integrates over many pulses, so this field sets the growth kernel and the
                melt zone.
  between       heat accumulation (Eaton et al., Opt. Express 2005, 2008): in one pulse period
  pulses        heat diffuses L_p = sqrt(4 D / f) (D ~ 6e-7 m^2/s: 15.5 um at 10 kHz, 1.5 um at
                1 MHz). Just before each pulse the glass holds the same field smoothed over L_p:
                T_b(r) = T_amb + P / (4 pi k sqrt(r^2 + r_c^2)), r_c^2 = r0^2 + L_p^2. Accumulation
                A = r0 / r_c is the share of the average core that persists between pulses: for a
                tight focus (r0 ~ 1 um) ~0.06 at 10 kHz (each pulse's heat leaves before the next),
                growing above a few hundred kHz; ~0.5 for the paper's ~10 um volume at 10 kHz.
                Nucleation needs a melt that persists between pulses: t_inc uses T_b(0), so at a
                fixed average power a lower repetition rate nucleates later, or never.
  per pulse     each pulse adds dT_p = Q / (rho c V) in the focal volume V = pi^1.5 r0^2 r_z
                (rho c = k / D); the peak T_b(0) + dT_p decides damage.
  limits        crystals survive only below the dissolution temperature (the perovskite phase
                dissolves back into the melt, after Huang et al., Nat. Photon. 2020, and Sun et al.,
                Adv. Opt. Mater. 2021): survival s(T) = 1 / (1 + exp((T - T_dis) / w)); where the
                per-pulse peak exceeds T_damage the glass is damaged (voids, cracks): dark.
  rates         growth k(T) = k_ref exp(-Ea/R (1/T - 1/T_ref)) s(T) where T >= liquidus, else 0;
                nucleation time t_inc = t_inc_ref exp(Ea/R (1/T_b - 1/T_b,ref)) at the centre's
                between-pulse temperature (none if that is below the liquidus). T_ref, T_b,ref are
                the centre temperatures at the reference point (200 uJ, 10 kHz). Ea is seed 000's
                DSC value of another borosilicate glass (130 kJ/mol), applied at 1000-2000 K: an
                extrapolation, stated in the profiles.
  left behind   a finished exposure of power P from t_a to t_b leaves, at distance r and time t,
                P / (4 pi k r') [erfc(r' / sqrt(4 D (t - t_a))) - erfc(r' / sqrt(4 D (t - t_b)))],
                r' = sqrt(r^2 + r_c^2) (a point source switched on and off; `residual_rise_K`).
Kernels are sampled on the simulation grid by averaging 4 x 4 sub-samples per pixel.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erfc

from hardware_sim.glass.focus import axial_radius_um
from hardware_sim.glass.material import KELVIN, R_J_MOL_K, Material

REFERENCE_ENERGY_uJ = 200.0
REFERENCE_REP_RATE_kHz = 10.0
SUBSAMPLES = 4


def delivered_power_W(material: Material, energy_uJ, rep_rate_kHz):
    """Average power reaching the sample: kappa * E * f (the paper's '500 mW' at 200 uJ, 10 kHz)."""
    return material.laser["delivered_fraction"] * np.asarray(energy_uJ) * 1e-6 * np.asarray(rep_rate_kHz) * 1e3


def absorbed_pulse_uJ(material: Material, energy_uJ):
    lz = material.laser
    e = np.asarray(energy_uJ, dtype=float)
    return lz["eta_max"] * -np.expm1(-e / lz["eta_sat_uJ"]) * lz["delivered_fraction"] * e


def absorbed_power_W(material: Material, energy_uJ, rep_rate_kHz):
    return absorbed_pulse_uJ(material, energy_uJ) * 1e-6 * np.asarray(rep_rate_kHz, dtype=float) * 1e3


def pulse_diffusion_um(material: Material, rep_rate_kHz):
    """L_p: how far heat diffuses in one pulse period."""
    return np.sqrt(4.0 * material.thermal["diffusivity_m2_s"] / (np.asarray(rep_rate_kHz, dtype=float) * 1e3)) * 1e6


def core_radius_um(material: Material, rep_rate_kHz):
    return np.hypot(material.thermal["r0_um"], pulse_diffusion_um(material, rep_rate_kHz))


def accumulation(material: Material, rep_rate_kHz):
    """Share of a fully accumulated core the glass keeps between pulses (0..1)."""
    return material.thermal["r0_um"] / core_radius_um(material, rep_rate_kHz)


def _field(material: Material, energy_uJ, rep_rate_kHz, r_um, core_um):
    th = material.thermal
    rise = absorbed_power_W(material, energy_uJ, rep_rate_kHz) / (4 * np.pi * th["conductivity_W_mK"])
    return th["ambient_c"] + KELVIN + rise / (np.sqrt(np.asarray(r_um, dtype=float) ** 2 + core_um ** 2) * 1e-6)


def temperature_K(material: Material, energy_uJ, rep_rate_kHz, r_um):
    """Time-averaged temperature at distance r_um from the focus axis."""
    return _field(material, energy_uJ, rep_rate_kHz, r_um, material.thermal["r0_um"])


def baseline_temperature_K(material: Material, energy_uJ, rep_rate_kHz, r_um=0.0):
    """Temperature just before a pulse (what persists between pulses)."""
    return _field(material, energy_uJ, rep_rate_kHz, r_um, core_radius_um(material, rep_rate_kHz))


def centre_temperature_K(material: Material, energy_uJ, rep_rate_kHz):
    return temperature_K(material, energy_uJ, rep_rate_kHz, 0.0)


def pulse_rise_K(material: Material, energy_uJ):
    """Temperature jump of one pulse in the focal volume."""
    th = material.thermal
    rho_c = th["conductivity_W_mK"] / th["diffusivity_m2_s"]
    volume_m3 = np.pi ** 1.5 * (th["r0_um"] * 1e-6) ** 2 * axial_radius_um(material) * 1e-6
    return absorbed_pulse_uJ(material, energy_uJ) * 1e-6 / (rho_c * volume_m3)


def peak_temperature_K(material: Material, energy_uJ, rep_rate_kHz, r_um=0.0):
    r = np.asarray(r_um, dtype=float)
    return (baseline_temperature_K(material, energy_uJ, rep_rate_kHz, r)
            + pulse_rise_K(material, energy_uJ) * np.exp(-(r / material.thermal["r0_um"]) ** 2))


def reference_temperature_K(material: Material) -> float:
    return float(centre_temperature_K(material, REFERENCE_ENERGY_uJ, REFERENCE_REP_RATE_kHz))


def survival(material: Material, temperature):
    th = material.thermal
    x = (np.asarray(temperature, dtype=float) - th["dissolve_c"] - KELVIN) / th["dissolve_width_K"]
    return 1.0 / (1.0 + np.exp(np.clip(x, -50, 50)))


def arrhenius(material: Material, temperature):
    """exp(-Ea/R (1/T - 1/T_ref)): a rate at T relative to the reference point's centre."""
    t = np.maximum(np.asarray(temperature, dtype=float), 1.0)
    return np.exp(-material.kinetics["activation_kJ_mol"] * 1e3 / R_J_MOL_K * (1 / t - 1 / reference_temperature_K(material)))


def rate_per_s(material: Material, temperature):
    """Crystal growth rate at temperature (K): zero below the liquidus, dissolving above T_dis."""
    t = np.asarray(temperature, dtype=float)
    k = material.kinetics["rate_ref_per_s"] * arrhenius(material, t) * survival(material, t)
    return np.where(t >= material.thermal["liquidus_c"] + KELVIN, k, 0.0)


def incubation_s(material: Material, energy_uJ, rep_rate_kHz, extra_K=0.0):
    """Time the melt must persist before the first nucleus (inf: no melt persists between pulses)."""
    th = material.thermal
    t_b = baseline_temperature_K(material, energy_uJ, rep_rate_kHz) + np.asarray(extra_K, dtype=float)
    t_ref = float(baseline_temperature_K(material, REFERENCE_ENERGY_uJ, REFERENCE_REP_RATE_kHz))
    ea_r = material.kinetics["activation_kJ_mol"] * 1e3 / R_J_MOL_K
    with np.errstate(divide="ignore", over="ignore"):
        t_inc = material.kinetics["incubation_ref_s"] * np.exp(ea_r * (1 / np.maximum(t_b, 1.0) - 1 / t_ref))
    return np.where(t_b >= th["liquidus_c"] + KELVIN, t_inc, np.inf)


def radius_above_um(material: Material, energy_uJ, rep_rate_kHz, temperature_K_: float, peak: bool = False) -> float:
    """Radius inside which the sustained (or per-pulse peak) temperature reaches temperature_K_."""
    field = peak_temperature_K if peak else temperature_K
    if float(field(material, energy_uJ, rep_rate_kHz, 0.0)) < temperature_K_:
        return 0.0
    lo, hi = 0.0, 10.0
    while float(field(material, energy_uJ, rep_rate_kHz, hi)) >= temperature_K_ and hi < 1e5:
        hi *= 2
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        lo, hi = (mid, hi) if float(field(material, energy_uJ, rep_rate_kHz, mid)) >= temperature_K_ else (lo, mid)
    return lo


def melt_radius_um(material: Material, energy_uJ, rep_rate_kHz) -> float:
    return radius_above_um(material, energy_uJ, rep_rate_kHz, material.thermal["liquidus_c"] + KELVIN)


def damage_radius_um(material: Material, energy_uJ, rep_rate_kHz) -> float:
    return radius_above_um(material, energy_uJ, rep_rate_kHz, material.thermal["damage_c"] + KELVIN, peak=True)


def axial_length_um(material: Material, energy_uJ: float, rep_rate_kHz: float) -> float:
    """L_axial = integral of k(|x|) dx / k(0) along a line through the focus: a pool moving at v
    gives the glass on its axis the dose k(0) L_axial / v."""
    melt = melt_radius_um(material, energy_uJ, rep_rate_kHz)
    k0 = float(rate_per_s(material, centre_temperature_K(material, energy_uJ, rep_rate_kHz)))
    if melt <= 0 or k0 <= 0:
        return 0.0
    x = np.linspace(-melt, melt, 801)
    k = rate_per_s(material, temperature_K(material, energy_uJ, rep_rate_kHz, x))
    return float(np.sum(k) * (x[1] - x[0]) / k0)


def _sampled(material: Material, energy_uJ: float, rep_rate_kHz: float, pitch_um: float, radius_um: float,
             of_r) -> np.ndarray:
    m = int(np.ceil(radius_um / pitch_um)) + 1 if radius_um > 0 else 0
    offsets = (np.arange(SUBSAMPLES) + 0.5) / SUBSAMPLES - 0.5
    axis = (np.arange(-m, m + 1)[:, None] + offsets[None, :]).ravel() * pitch_um
    k = of_r(np.hypot(axis[:, None], axis[None, :]))
    n = 2 * m + 1
    return k.reshape(n, SUBSAMPLES, n, SUBSAMPLES).mean(axis=(1, 3)).astype(np.float32)


def rate_kernel(material: Material, energy_uJ: float, rep_rate_kHz: float, pitch_um: float) -> np.ndarray:
    """k(r) in 1/s on a (2m+1)^2 pixel grid, pixel-averaged; an all-zero 1x1 kernel if no melt."""
    return _sampled(material, energy_uJ, rep_rate_kHz, pitch_um, melt_radius_um(material, energy_uJ, rep_rate_kHz),
                    lambda r: rate_per_s(material, temperature_K(material, energy_uJ, rep_rate_kHz, r)))


def dissolve_kernel(material: Material, energy_uJ: float, rep_rate_kHz: float, pitch_um: float) -> np.ndarray:
    """How strongly each pixel dissolves existing crystals (1 - survival), per second of exposure."""
    radius = radius_above_um(material, energy_uJ, rep_rate_kHz,
                             material.thermal["dissolve_c"] + KELVIN - 3 * material.thermal["dissolve_width_K"])
    return _sampled(material, energy_uJ, rep_rate_kHz, pitch_um, radius,
                    lambda r: 1.0 - survival(material, temperature_K(material, energy_uJ, rep_rate_kHz, r)))


def damage_kernel(material: Material, energy_uJ: float, rep_rate_kHz: float, pitch_um: float) -> np.ndarray:
    radius = damage_radius_um(material, energy_uJ, rep_rate_kHz)
    limit = material.thermal["damage_c"] + KELVIN
    return _sampled(material, energy_uJ, rep_rate_kHz, pitch_um, radius,
                    lambda r: (peak_temperature_K(material, energy_uJ, rep_rate_kHz, r) >= limit).astype(float))


def residual_rise_K(material: Material, r_um, t_s, t_on_s, t_off_s, power_W, core_um):
    """Heat left at distance r_um and time t_s by sources of power_W on from t_on_s to t_off_s
    (broadcasting arrays; a source still on at t_s counts up to t_s)."""
    th = material.thermal
    d = th["diffusivity_m2_s"]
    r = np.sqrt(np.asarray(r_um, dtype=float) ** 2 + np.asarray(core_um, dtype=float) ** 2) * 1e-6
    since_on = np.maximum(np.asarray(t_s) - t_on_s, 0.0)
    since_off = np.maximum(np.asarray(t_s) - t_off_s, 0.0)
    with np.errstate(divide="ignore", invalid="ignore"):
        on = np.where(since_on > 0, erfc(r / np.sqrt(4 * d * np.maximum(since_on, 1e-30))), 0.0)
        off = np.where(since_off > 0, erfc(r / np.sqrt(4 * d * np.maximum(since_off, 1e-30))), 0.0)
    return power_W / (4 * np.pi * th["conductivity_W_mK"] * r) * (on - off)
