"""Exciton recombination in the red phase: PL yield and lifetime from one rate model (PHYSICS D.25).

An exciton X decays radiatively (k_r) or non-radiatively (k_nr), or is captured by a shallow
trap (halide vacancies, rate k_t d at trap density d) from which it is released back (k_d) or
lost (k_l); released excitons emit late. With X(0) = 1, T(0) = 0 the linear system
    dX/dt = -(k_r + k_nr + k_t d) X + k_d T,      dT/dt = k_t d X - (k_d + k_l) T
gives in closed form (a = k_r + k_nr + k_t d, b = k_d + k_l, r = k_d k_t d / b, what the trap gives back):
    PL yield       eta = k_r integral X dt = k_r / (a - r)
    lifetime       tau = integral t I dt / integral I dt = (1 + r / b) / (a - r)
(the intensity-weighted mean lifetime a multi-exponential fit reports). More traps quench the
PL and lengthen the decay at once (the delayed emission of trapped excitons): the paper's pure
I glass after 200-450 C (120 -> ~2000 ns, quenched). Larger crystals radiate more slowly
(weaker confinement): k_r = k_r0 / (1 + s xi_growth), so the grown, healed crystals of 550 C
decay in 153 ns; their brighter PL is mostly the grown crystal volume (`growth_gain`).
Trap density follows the heat-treatment processes (`material.Process` extents xi):
    d = (1 - xi_heal) (1 + (d_vac - 1) xi_vac) + xi_heal d_heal     (as written d = 1)
and the surface halide-to-lead ratio is read off the same state, between the paper's XPS
anchors (I/Pb 3.01 as written, 2.97 after 200 C, 3.07 after 550 C: Table S3).
"""

from __future__ import annotations


from hardware_sim.glass.material import Material


def trap_density(material: Material, xi: dict[str, float]) -> float:
    r = material.recombination
    vacancies = 1.0 + (r["vacancy_trap_density"] - 1.0) * xi["vacancy"]
    return float((1.0 - xi["healing"]) * vacancies + xi["healing"] * r["healed_trap_density"])


def rates(material: Material, d: float, growth: float) -> tuple[float, float]:
    """(PL yield, mean lifetime in ns) at trap density d and growth extent."""
    r = material.recombination
    k_r = r["radiative_rate_per_ns"] / (1.0 + r["growth_radiative_slowdown"] * growth)
    k_t, k_d = r["trapping_rate_per_ns"] * d, r["detrapping_rate_per_ns"]
    a, b = k_r + r["nonradiative_rate_per_ns"] + k_t, k_d + r["trap_loss_rate_per_ns"]
    back = k_d * k_t / b if b > 0 else 0.0  # a trap that never empties returns nothing
    return k_r / (a - back), (1.0 + (back / b if b > 0 else 0.0)) / (a - back)


def halide_to_lead(material: Material, d: float) -> float:
    """Surface halide/lead ratio of the trap state d, between the XPS anchors."""
    r = material.recombination
    x0, d_vac, d_heal = r["halide_to_lead_as_written"], r["vacancy_trap_density"], r["healed_trap_density"]
    if d >= 1.0:
        span = d_vac - 1.0
        return float(x0 + (r["halide_to_lead_vacancy"] - x0) * ((d - 1.0) / span if span > 0 else 0.0))
    span = 1.0 - d_heal
    return float(x0 + (r["halide_to_lead_healed"] - x0) * ((1.0 - d) / span if span > 0 else 0.0))


def recombination(material: Material, xi: dict[str, float]) -> dict:
    """Trap density, PL quality (yield relative to as written), lifetime and I/Pb after treatment."""
    d = trap_density(material, xi)
    eta, tau = rates(material, d, xi["growth"])
    eta0, tau0 = rates(material, 1.0, 0.0)
    return {"trap_density": d, "quality": eta / eta0, "lifetime_ns": tau, "lifetime_as_written_ns": tau0,
            "halide_to_lead": halide_to_lead(material, d)}
