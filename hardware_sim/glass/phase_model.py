"""Phase model: crystallized fraction -> green and red phases, their intensities, peaks, widths.

PHYSICS.md B.5-B.6 with section D's corrections, per pixel (vectorised), constants from the
material profile:
  rewrites   two populations per pixel: the share s of its crystals that existed before a rewrite
             (`exposure`: X(D1) / X(D1 + D2)) is rewritten with extent n_rw (the second exposure's
             dose over the first's, in units of one identical second pass; iodide incorporation
             p_rw = 1 - exp(-beta n_rw)); the rest grew in the rewriting pass and is a first write.
             A faint first pass under a strong one is therefore mostly a first write (PHYSICS D.17);
             the red peak is the red-intensity-weighted mean of the two in photon energy.
  heat treat each process of the profile is a first-order Arrhenius extent xi(T, hours)
             (`material.Process`): iodide p_HT, growth, green shift, vacancy (quench), healing.
             Activation energies are high enough that nothing happens at room temperature (a
             year at 25 C changes < 1 %), so the written glass is stable (PHYSICS D.23).
  iodide     the red phase's iodide fraction x = x_w + (x_max - x_w) p, p = 1 - (1 - p_HT)(1 - p_rw);
             x_w = 0.53 from the paper's XRD by Vegard's law: its (200) peak at 29.7 deg lies
             0.9 / 1.7 of the way from CsPbBr3 (30.6 deg) to CsPbI3 (28.9 deg).
  red peak   band gap of CsPb(Br1-xIx)3 with bowing: E(x) = (1 - x) E_Br + x E_I - b x (1 - x), E_Br
             from the green phase (514 nm), E_I an assumed CsPbI3 edge, b fitted so E(0.53) = 613 nm
             (PHYSICS D.24); more iodide, longer wavelength (a rewritten core x ~ 0.78: 658 nm).
  green      peak + green_ht_shift * xi_green_shift (<= 2 nm, paper Fig. S8a)
  intensity  common = X * (1 + growth_gain xi_growth) * Q, Q the PL yield relative to as written
             from `recombination` (one rate model: halide-vacancy traps formed at 200-450 C quench
             the PL and lengthen the decay, healing at 550 C removes them; pure I only)
             green = w_g * common * rewrite_green_keep ** n_rw
             red   = w_r * common * (1 + iodide_red_gain p_HT) * (1 + (rewrite_red_gain - 1) p_rw)
  measuring  at T_meas instead of the reference 25 C (reversible, so a function of T_meas only):
             thermal quenching 1/(1 + A exp(-Ea/kT)) normalised at 25 C, LO-phonon broadening
             Gamma_LO (n_B(T) - n_B(T_ref)), blue shift dE/dT (T - T_ref).
Heat treatment alone creates no phase: everything scales with X, which only the laser makes.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware_sim.glass.material import KELVIN, Material
from hardware_sim.glass.recombination import recombination

HC_EV_NM = 1239.841984
K_B_EV = 8.617333262e-5


@dataclass(frozen=True)
class Treatment:
    heat_treat_c: float | None = None
    heat_treat_hours: float = 2.0
    measure_c: float = 25.0


@dataclass
class PhaseMaps:
    green: np.ndarray          # intensity (arbitrary units, same across runs), per pixel
    red: np.ndarray
    red_peak_nm: np.ndarray    # per pixel (meaningful where red > 0)
    green_peak_nm: float
    green_fwhm_meV: float
    red_fwhm_meV: float
    factors: dict              # the scalar factors that produced the maps, for the report


def nm_to_eV(nm):
    return HC_EV_NM / np.asarray(nm)


def eV_to_nm(ev):
    return HC_EV_NM / np.asarray(ev)


def bose(energy_meV: float, temperature_c: float) -> float:
    return 1.0 / np.expm1(energy_meV * 1e-3 / (K_B_EV * (temperature_c + KELVIN)))


def measurement_factors(material: Material, measure_c: float) -> dict:
    m = material.measurement
    quench = lambda c: 1.0 / (1.0 + m["quench_prefactor"] * np.exp(-m["quench_activation_eV"] / (K_B_EV * (c + KELVIN))))
    return {
        "intensity": float(quench(measure_c) / quench(m["ref_c"])),
        "broadening_meV": float(m["phonon_width_meV"] * (bose(m["phonon_energy_meV"], measure_c)
                                                         - bose(m["phonon_energy_meV"], m["ref_c"]))),
        "shift_meV": float(m["peak_shift_meV_per_K"] * (measure_c - m["ref_c"])),
    }


def iodide_fraction(material: Material, incorporation):
    """Iodide fraction x of the red phase for an incorporation extent p in [0, 1]."""
    ch = material.chemistry
    return ch["iodide_as_written"] + (ch["iodide_max"] - ch["iodide_as_written"]) * np.asarray(incorporation)


def red_gap_eV(material: Material, x_iodide):
    """Emission energy of CsPb(Br1-xIx)3: linear in x between the end members, with bowing."""
    ch = material.chemistry
    x = np.asarray(x_iodide, dtype=np.float64)
    return (1 - x) * ch["bromide_gap_eV"] + x * ch["iodide_gap_eV"] - ch["gap_bowing_eV"] * x * (1 - x)


def red_peak_range_nm(material: Material) -> list[float]:
    """Red peak as written and at full iodide incorporation (p = 1), nm."""
    return [round(float(eV_to_nm(red_gap_eV(material, iodide_fraction(material, p)))), 1) for p in (0.0, 1.0)]


def vegard_iodide(peak_deg: float, bromide_deg: float = 30.6, iodide_deg: float = 28.9) -> float:
    """Iodide fraction from the (200) XRD peak between CsPbBr3 and CsPbI3 (Vegard's law)."""
    return (bromide_deg - peak_deg) / (bromide_deg - iodide_deg)


def heat_treatment_extents(material: Material, treatment: Treatment) -> dict[str, float]:
    return {name: proc.extent(treatment.heat_treat_c, treatment.heat_treat_hours)
            for name, proc in material.processes.items()}


def phases(crystallized: np.ndarray, rewrites: np.ndarray, material: Material,
           treatment: Treatment = Treatment(), share: np.ndarray | None = None) -> PhaseMaps:
    """Phase maps. `rewrites`: the pixel's rewrite extent; `share`: the share of its crystals that
    existed before the rewrite (None: all of them where rewrites > 0). Those crystals are rewritten
    with extent rewrites / share; the rest grew in the rewriting pass itself and are first writes."""
    ch, sp = material.chemistry, material.spectra
    xi = heat_treatment_extents(material, treatment)
    meas = measurement_factors(material, treatment.measure_c)
    n_pix = np.maximum(rewrites, np.float32(0.0))
    rewritten = bool(n_pix.any())
    p_ht = xi["iodide"]
    recomb = recombination(material, xi)
    quality = recomb["quality"]
    common_scalar = float((1 + ch["growth_gain"] * xi["growth"]) * quality * meas["intensity"])
    green = crystallized * np.float32(common_scalar * ch["green_weight"])
    red = crystallized * np.float32(common_scalar * ch["red_weight"] * (1 + ch["iodide_red_gain"] * p_ht))
    shift_eV = np.float32(meas["shift_meV"] * 1e-3)
    first_eV = np.float32(red_gap_eV(material, iodide_fraction(material, p_ht))) + shift_eV
    if rewritten:
        old = (n_pix > 0).astype(np.float32) if share is None else np.clip(share, 0, 1).astype(np.float32)
        n_old = np.where(old > 0, n_pix / np.maximum(old, np.float32(1e-6)), np.float32(0.0))
        p_rw = -np.expm1(-np.float32(ch["rewrite_beta"]) * n_old)
        green *= (1 - old) + old * np.exp(np.float32(np.log(max(ch["rewrite_green_keep"], 1e-30))) * n_old)
        red_old = old * (1 + np.float32(ch["rewrite_red_gain"] - 1) * p_rw)   # per unit of first-write red
        p = 1.0 - (1.0 - p_ht) * (1.0 - p_rw)
        old_eV = red_gap_eV(material, iodide_fraction(material, p)).astype(np.float32) + shift_eV
        weight = (1 - old) + red_old
        red_energy = ((1 - old) * first_eV + red_old * old_eV) / np.maximum(weight, np.float32(1e-12))
        red *= weight
    else:
        red_energy = np.full(crystallized.shape, first_eV, np.float32)
    red_peak = (np.float32(HC_EV_NM) / red_energy).astype(np.float32)
    green_peak = float(eV_to_nm(nm_to_eV(ch["green_peak_nm"] + ch["green_ht_shift_nm"] * xi["green_shift"]) + shift_eV))
    factors = {"heat_treatment_extents": xi, "iodide_from_heat_treatment": p_ht, "quality_factor": quality, "recombination": recomb,
               "iodide_fraction_as_written": float(iodide_fraction(material, p_ht)),
               "brightness_factor": common_scalar, "measurement": meas}
    return PhaseMaps(green, red, red_peak, green_peak,
                     sp["green_fwhm_meV"] + meas["broadening_meV"], sp["red_fwhm_meV"] + meas["broadening_meV"],
                     factors)
