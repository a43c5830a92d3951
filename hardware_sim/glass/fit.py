"""Fitting a material profile to measured calibration grids (`lasergen calibrate fit`).

Model: the simulator itself, per isolated cell (`cell_model`). Data: the rows of `calibrate
measure` CSVs (dots and/or lines grids), each a cell with its recipe, whether it glows, its size
(dot diameter or line width, um) and its green/red glow relative to the fiducials.

Algorithm:
  1. Parameters are fitted as theta = ln(p / p_prior) (all are positive; a step means the same
     relative change for each), starting at the prior profile (`--material`).
  2. Residuals over the cells that glow: r = (predicted - measured) / (noise x scale), scale =
     max(measured, half the median lit size) for sizes, the same for intensities; noise starts at
     NOISE_GUESS and is re-estimated per kind (size, green, red) from the fit's residuals. A dark
     cell is a step, not a smooth residual (the pool nucleates or not): dark cells do not enter
     the least squares; the report counts the cells whose presence the fit predicts wrongly.
  3. Which parameters the data determine: the weighted Jacobian J (forward differences of
     STEP in theta) at the prior. The candidates are ordered by pivoted QR (the most informative
     first, each after removing what earlier ones explain); the covariance (J_S^T J_S)^-1 of the
     chosen set S must give every member a relative standard uncertainty <= SIGMA_MAX, or the
     worst is dropped and the rest re-checked. A parameter with no effect above the noise (a
     column norm < 1), or one another explains (eta_max with delivered_fraction: only their
     product enters), is left at its prior value and reported with the reason.
  4. scipy.optimize.least_squares (trust region reflective, bounds from the profile schema) on
     S with the Jacobian of step 3; uncertainties from the Jacobian at the optimum, scaled by
     the reduced chi^2; the determinability check is repeated there and a parameter that fails
     it is reset to its prior and the rest refitted.
The fitted profile is written by `profile_writer` in the built-in profiles' schema.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np
from scipy import linalg, optimize

from hardware_sim.glass.cell_model import Cell, predict_cells
from hardware_sim.glass.material import SCHEMA, Material
from lasergen import LasergenError

# candidate parameter -> what it governs in the data (the report's words). The saturation energy
# eta_sat_uJ and the liquidus also set the melt radius; on grids at one repetition rate they trade
# off against eta_max within the noise, so they are not candidates (they keep the prior's values).
PARAMETERS = {
    "laser.eta_max": "absorbed share of each pulse: size growth with energy",
    "laser.delivered_fraction": "delivered share of the pulse (enters only with eta_max)",
    "kinetics.rate_ref_per_s": "crystal growth rate: size growth with dwell, width vs speed",
    "kinetics.incubation_ref_s": "incubation time: the writing threshold in dwell",
    "chemistry.green_weight": "absolute green brightness (a photo relative to its fiducials cannot show it)",
    "chemistry.red_weight": "absolute red brightness (a photo relative to its fiducials cannot show it)",
    "chemistry.rewrite_red_gain": "red gain of a second pass (needs cells with passes > 1)",
    "chemistry.rewrite_green_keep": "green left after a second pass (needs cells with passes > 1)",
}
NOISE_GUESS = {"size": 0.05, "green": 0.05, "red": 0.05}
SIGMA_MAX = 0.05     # a parameter is determined if the data pin it to 5 % (one standard uncertainty)
STEP = 0.02          # forward-difference step in ln(p): 2 %, above the model's sub-pixel roughness
REQUIRED = ("cell", "mode", "energy_uJ", "rep_rate_kHz", "passes", "dwell_s", "speed_mm_s", "present", "merged",
            "outside", "diameter_um", "width_um", "green_rel", "red_rel")


@dataclass
class Observations:
    cells: list[Cell]
    names: list[str]
    present: np.ndarray
    size_um: np.ndarray
    green_rel: np.ndarray
    red_rel: np.ndarray
    sources: list[str]

    def __len__(self) -> int:
        return len(self.cells)


def _number(row: dict, key: str, where: str) -> float:
    text = (row.get(key) or "").strip()
    try:
        value = float(text)
    except ValueError:
        raise LasergenError(f"{where}: column {key} is {text!r}, not a number") from None
    if not math.isfinite(value):
        raise LasergenError(f"{where}: column {key} is {text}, not a finite number")
    return value


def read_measurements(paths, line_um: float = 150.0) -> Observations:
    """Cells of one or more `calibrate measure` CSVs that can be fitted (not merged, inside the photo)."""
    cells, names, present, size, green, red, sources = [], [], [], [], [], [], []
    for path in paths:
        path = Path(path)
        try:
            with open(path, newline="", encoding="utf-8") as f:
                reader = csv.DictReader(line for line in f if not line.startswith("#"))
                missing = [c for c in REQUIRED if c not in (reader.fieldnames or [])]
                if missing:
                    raise LasergenError(f"{path.name}: not a `calibrate measure` CSV: missing column(s) "
                                        f"{', '.join(missing)}")
                rows = list(reader)
        except FileNotFoundError:
            raise LasergenError(f"measurements not found: {path}") from None
        except (UnicodeDecodeError, csv.Error, IsADirectoryError) as exc:
            raise LasergenError(f"cannot read {path}: {exc}") from None
        for i, row in enumerate(rows, start=2):
            where = f"{path.name} line {i} ({row.get('cell') or '?'})"
            if _number(row, "outside", where) or _number(row, "merged", where):
                continue
            mode = (row.get("mode") or "").strip()
            if mode not in ("dots", "lines"):
                raise LasergenError(f"{where}: mode must be dots or lines, got {mode!r}")
            lit = bool(_number(row, "present", where))
            recipe = {k: _number(row, k, where) for k in ("energy_uJ", "rep_rate_kHz", "passes")}
            exposure = {"dwell_s": _number(row, "dwell_s", where)} if mode == "dots" else \
                {"speed_mm_s": _number(row, "speed_mm_s", where), "line_um": line_um}
            if any(v <= 0 for v in (*recipe.values(), *[v for k, v in exposure.items()])):
                raise LasergenError(f"{where}: recipe values must be > 0")
            cells.append(Cell(mode, recipe["energy_uJ"], recipe["rep_rate_kHz"], int(recipe["passes"]), **exposure))
            size_key = "diameter_um" if mode == "dots" else "width_um"
            size.append(_number(row, size_key, where) if lit else 0.0)
            green.append(_number(row, "green_rel", where) if lit else 0.0)
            red.append(_number(row, "red_rel", where) if lit else 0.0)
            names.append(f"{path.stem}:{row['cell']}")
            present.append(lit)
            sources.append(path.name)
    if not cells:
        raise LasergenError("no cells to fit: every row is merged or outside the photo")
    obs = Observations(cells, names, np.array(present), np.array(size), np.array(green), np.array(red), sources)
    if not obs.present.any():
        raise LasergenError("no cell glows in the measurements: nothing to fit (is the grid below threshold?)")
    varied = {f for f in ("energy_uJ", "rep_rate_kHz", "passes", "dwell_s", "speed_mm_s")
              if len({getattr(c, f) for c in cells if (c.mode == "dots") == (f != "speed_mm_s")}) > 1}
    if not varied & {"energy_uJ", "dwell_s", "speed_mm_s", "passes"}:
        raise LasergenError("the grids vary no recipe parameter the fit can use (energy, dwell, speed or passes)")
    return obs


def material_with(material: Material, values: dict[str, float]) -> Material:
    """`material` with some `section.key` values replaced."""
    sections = {}
    for name, value in values.items():
        section, key = name.split(".")
        sections.setdefault(section, dict(getattr(material, section)))[key] = float(value)
    return replace(material, **sections)


def prior_value(material: Material, name: str) -> float:
    section, key = name.split(".")
    return getattr(material, section)[key]


def bounds_of(name: str, prior: float) -> tuple[float, float]:
    section, key = name.split(".")
    lo, hi = SCHEMA[section][key]
    return math.log(max(lo, 1e-12) / prior), math.log(hi / prior)


@dataclass
class FitResult:
    prior: Material
    fitted: Material
    values: dict[str, float]                # determined parameters: fitted value
    sigma: dict[str, float]                 # their standard uncertainty (same units)
    undetermined: dict[str, str]            # parameter -> why it was left at its prior value
    noise: dict[str, float]                 # re-estimated relative noise per kind
    predicted_prior: np.ndarray             # (n, 3) size_um, green_rel, red_rel
    predicted: np.ndarray
    observations: Observations
    rms_size_um: float
    singular_values: list[float] = field(default_factory=list)
    evaluations: int = 0


class _Problem:
    def __init__(self, obs: Observations, prior: Material, names: list[str]):
        self.obs, self.prior, self.names = obs, prior, names
        self.p0 = np.array([prior_value(prior, n) for n in names])
        lit_size = obs.size_um[obs.present]
        typical = 0.5 * float(np.median(lit_size)) if lit_size.size else 10.0
        self.scale = {"size": np.maximum(obs.size_um, typical)}
        for kind, values in (("green", obs.green_rel), ("red", obs.red_rel)):
            lit = values[obs.present & (values > 0)]
            self.scale[kind] = np.maximum(values, 0.5 * float(np.median(lit)) if lit.size else 1.0)
        self.use = {"size": obs.present.copy(), "green": obs.present & (obs.green_rel > 0),
                    "red": obs.present & (obs.red_rel > 0)}
        self.noise = dict(NOISE_GUESS)
        self.evaluations = 0

    def material(self, theta) -> Material:
        return material_with(self.prior, dict(zip(self.names, self.p0 * np.exp(theta))))

    def predict(self, theta) -> np.ndarray:
        self.evaluations += 1
        return predict_cells(self.obs.cells, self.material(theta))

    def residuals_of(self, predicted: np.ndarray) -> dict[str, np.ndarray]:
        measured = {"size": self.obs.size_um, "green": self.obs.green_rel, "red": self.obs.red_rel}
        return {kind: ((predicted[:, k] - measured[kind]) / self.scale[kind])[self.use[kind]]
                for k, kind in enumerate(("size", "green", "red"))}

    def weighted(self, predicted: np.ndarray) -> np.ndarray:
        parts = self.residuals_of(predicted)
        return np.concatenate([parts[kind] / self.noise[kind] for kind in parts])

    def jacobian(self, theta, columns, base=None) -> tuple[np.ndarray, np.ndarray]:
        """Weighted residuals at theta and their forward-difference Jacobian for `columns`."""
        base = self.predict(theta) if base is None else base
        r0 = self.weighted(base)
        J = np.empty((r0.size, len(columns)))
        for j, c in enumerate(columns):
            t = np.array(theta, dtype=float)
            t[c] += STEP
            J[:, j] = (self.weighted(self.predict(t)) - r0) / STEP
        return r0, J


def choose_determined(J: np.ndarray, names: list[str], chi2_red: float = 1.0) -> tuple[list[int], dict[str, str]]:
    """Columns the data determine (pivoted QR order, covariance check) and why the rest are not."""
    why = {}
    norms = np.linalg.norm(J, axis=0)
    for j, n in enumerate(names):
        if norms[j] < 1.0:
            why[n] = (f"no effect above the noise: a 100 % change moves the data by {norms[j]:.2g} noise "
                      f"standard deviations in all")
    live = [j for j in range(len(names)) if names[j] not in why]
    if not live:
        return [], why
    _, R, piv = linalg.qr(J[:, live], mode="economic", pivoting=True)
    order = [live[p] for p in piv]
    diag = np.abs(np.diag(R)) if R.size else np.zeros(0)
    chosen = [order[k] for k in range(len(order)) if k < diag.size and diag[k] > 1e-6 * max(diag[0], 1e-300)]
    for j in order:
        if j not in chosen:
            why[names[j]] = "another parameter explains the same change in the data (degenerate)"
    while chosen:
        Js = J[:, chosen]
        cov = np.linalg.pinv(Js.T @ Js) * chi2_red
        sigma = np.sqrt(np.maximum(np.diag(cov), 0.0))
        worst = int(np.argmax(sigma))
        if sigma[worst] <= SIGMA_MAX:
            break
        j = chosen.pop(worst)
        partner = _correlated(J, j, chosen, names)
        why[names[j]] = (f"the data pin it only to +-{100 * sigma[worst]:.0f} % (limit {100 * SIGMA_MAX:.0f} %)"
                         + (f"; correlated with {partner}" if partner else ""))
    return chosen, why


def _correlated(J, j, others, names) -> str | None:
    if not others:
        return None
    a = J[:, j]
    scores = [abs(a @ J[:, k]) / max(np.linalg.norm(a) * np.linalg.norm(J[:, k]), 1e-300) for k in others]
    k = int(np.argmax(scores))
    return f"{names[others[k]]} (|cos| {scores[k]:.2f})" if scores[k] > 0.9 else None


def fit(obs: Observations, prior: Material, candidates: list[str] | None = None) -> FitResult:
    names = list(candidates or PARAMETERS)
    problem = _Problem(obs, prior, names)
    theta0 = np.zeros(len(names))
    base = problem.predict(theta0)
    predicted_prior = base
    _, J0 = problem.jacobian(theta0, range(len(names)), base)
    chosen, why = choose_determined(J0, names)
    singular = [float(s) for s in np.linalg.svd(J0, compute_uv=False)]
    theta = theta0.copy()
    for _round in range(3):
        if not chosen:
            break
        lo = np.array([bounds_of(names[j], problem.p0[j])[0] for j in chosen])
        hi = np.array([bounds_of(names[j], problem.p0[j])[1] for j in chosen])
        cache = {}

        def full(x):
            t = theta0.copy()
            t[chosen] = x
            return t

        def fun(x):
            key = tuple(np.round(x, 12))
            if key not in cache:
                cache[key] = problem.predict(full(x))
            return problem.weighted(cache[key])

        def jac(x):
            key = tuple(np.round(x, 12))
            return problem.jacobian(full(x), chosen, cache.get(key))[1]

        x0 = np.clip(theta[chosen], lo + 1e-9, hi - 1e-9)
        sol = optimize.least_squares(fun, x0, jac=jac, bounds=(lo, hi), x_scale=1.0, xtol=1e-4, ftol=1e-6,
                                     max_nfev=40)
        theta = full(sol.x)
        predicted = problem.predict(theta)
        # noise per kind from the residuals (at least 0.5 % so a perfect fit stays finite)
        parts = problem.residuals_of(predicted)
        n_all = sum(p.size for p in parts.values())
        inflate = n_all / max(1, n_all - len(chosen))
        for kind, r in parts.items():
            if r.size:
                problem.noise[kind] = max(float(np.sqrt(np.mean(r ** 2) * inflate)), 0.005)
        _, J = problem.jacobian(theta, chosen, predicted)
        keep, why_more = choose_determined(J, [names[j] for j in chosen])
        if len(keep) == len(chosen):
            break
        for name, reason in why_more.items():
            why[name] = reason + " (at the fitted values)"
        chosen = [chosen[k] for k in keep]
        theta = np.where(np.isin(np.arange(len(names)), chosen), theta, 0.0)
    predicted = problem.predict(theta)
    values, sigma = {}, {}
    if chosen:
        _, J = problem.jacobian(theta, chosen, predicted)
        cov = np.linalg.pinv(J.T @ J)
        for k, j in enumerate(chosen):
            value = float(problem.p0[j] * np.exp(theta[j]))
            values[names[j]] = value
            sigma[names[j]] = float(value * np.sqrt(max(cov[k, k], 0.0)))
    lit = obs.present
    sizes = (predicted[:, 0] - obs.size_um)[lit]
    return FitResult(prior, problem.material(theta), values, sigma, {n: why[n] for n in names if n in why and n not in values},
                     dict(problem.noise), predicted_prior, predicted, obs, float(np.sqrt(np.mean(sizes ** 2))),
                     singular, problem.evaluations)


def summary(result: FitResult) -> dict:
    """The fit as one JSON-able object (what `--json` prints)."""
    return {
        "determined": {n: {"value": v, "sigma": result.sigma[n], "prior": prior_value(result.prior, n),
                           "governs": PARAMETERS.get(n, "")} for n, v in result.values.items()},
        "undetermined": {n: {"prior": prior_value(result.prior, n), "why": why} for n, why in result.undetermined.items()},
        "noise_relative": result.noise, "cells": len(result.observations), "lit": int(result.observations.present.sum()),
        "rms_size_error_um": result.rms_size_um,
        "rms_size_error_prior_um": float(np.sqrt(np.mean(((result.predicted_prior[:, 0] - result.observations.size_um)
                                                          [result.observations.present]) ** 2))),
        "presence_mismatches": [name for name, m, p in zip(result.observations.names, result.observations.present,
                                                             result.predicted[:, 0] > 0) if m != p],
        "jacobian_singular_values": result.singular_values, "model_evaluations": result.evaluations,
    }
