"""report.json: the numbers behind the renders, with warnings and labelled predictions.

Keys (ARCHITECTURE.md contract): phases.{green,red}.{peak_nm,integrated,fwhm_nm},
crystallized_area_um2, renders (view -> file). Also: conditions, grid, beam-history statistics
(`ledger`), per-depth-plane statistics (`planes`: written, rewritten, damaged areas), writing
points (temperatures, heat accumulation, damage), feature sizes (dot diameter, line width),
per-view contrasts, warnings (the paper's 200 uJ x 10 kHz = 2 W vs "500 mW", clamped power,
damage, dissolution), `predictions` (each labelled: values the paper did not measure) and
`extras` (lifetimes and crystal sizes quoted from the paper).
Integrated intensities are sum(intensity) * pixel area in um^2: the same arbitrary units for
every run, material and grid pitch. Every number's unit is named in its key (`_nm`, `_um2`,
`_s`, ...) or in the report's `units` block (`UNITS`), which also gives signs and references.
The file is strict JSON (`to_json`): a quantity that is infinite or undefined (no incubation at
a power that never crystallizes) is `null`, never `Infinity`/`NaN`, so any JSON parser reads it.
"""

from __future__ import annotations

import json

import numpy as np

from hardware_sim.glass.features import dot_diameters_um, line_widths_um
from hardware_sim.glass.optics import PEAK_GRID_NM, line_shape
from hardware_sim.glass.phase_model import HC_EV_NM
from hardware_sim.glass import thermal
from hardware_sim.glass.material import KELVIN
from hardware_sim.glass.thermal import absorbed_power_W, centre_temperature_K, delivered_power_W, incubation_s
from lasergen.colour import D65_WHITE_XYZ, xyz_to_lab

PREDICTION = "prediction: not measured in the paper"
AU = "relative photoluminescence, arbitrary units (the same scale for every run, material and pitch)"
UNITS = {  # dotted key (* = any name) -> unit, sign convention or reference
    "phases.*.integrated": AU + " x um^2: the sum over pixels of intensity times pixel area",
    "phases.*.peak_nm": "nm, peak of the summed emission spectrum (null: no emission)",
    "phases.*.mean_peak_nm": "nm, intensity-weighted mean of per-pixel peaks",
    "phases.*.fwhm_nm": "nm", "phases.*.fwhm_meV": "meV, full width at half maximum in photon energy",
    "layers[].mean_green": AU + ", mean over the layer's lit pixels", "layers[].mean_red": AU,
    "views.*.mean_Y_*": "CIE 1931 Y, relative: 1 = the D65 white of the daylight view",
    "views.*.written_to_clear": "ratio of mean Y", "views.*.rewritten_to_single_pass": "ratio of mean Y",
    "views.*.delta_e_ab_written_vs_clear": "CIE 1976 Delta E*ab",
    "model_factors.measurement.shift_meV": "meV added to the photon energy of both peaks when measured at "
                                           "measure_c instead of the material's ref_c: positive = blue shift "
                                           "(shorter wavelength), negative = red shift",
    "model_factors.measurement.broadening_meV": "meV added to both line widths",
    "model_factors.measurement.intensity": "factor on intensity (thermal quenching), 1 at ref_c",
    "model_factors.heat_treatment_extents.*": "fraction 0..1 of each heat-treatment process completed",
    "model_factors.*_factor": "dimensionless factor on intensity",
    "conditions.heat_treat_c": "degrees C (null: no heat treatment)", "conditions.measure_c": "degrees C",
    "conditions.heat_treat_hours": "h", "writing_points[].centre_temperature_K": "K",
    "writing_points[].incubation_s": "s of dwell before nucleation (null: never crystallizes at this point)",
    "max_crystallized_fraction": "fraction 0..1", "render_scale_um_per_px": "um per image pixel",
    "renders": "view name -> PNG file in the output folder", "views": "per view: see views.*.*",
    "grid.origin_mm": "machine X, Y in mm of the simulation grid's first pixel",
}


def strict(value):
    """The report with non-finite floats as None and numpy scalars as Python numbers."""
    if isinstance(value, dict):
        return {str(k): strict(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


def to_json(report: dict) -> str:
    """Strict JSON (RFC 8259): what JavaScript's JSON.parse and every other parser accept."""
    return json.dumps(strict(report), indent=2, sort_keys=True, allow_nan=False)


def fwhm_nm(peak_nm: float, fwhm_meV: float) -> float:
    e0, half = HC_EV_NM / peak_nm, fwhm_meV * 1e-3 / 2
    return float(HC_EV_NM / (e0 - half) - HC_EV_NM / (e0 + half))


def spectrum_peak_nm(intensity: np.ndarray, peak_nm: np.ndarray, fwhm_meV: float) -> float | None:
    """Peak of the summed emission of all pixels (what a spectrometer over the mark reports):
    the intensity histogram of per-pixel peaks (PEAK_GRID_NM bins) times the line shapes."""
    total = float(intensity.sum(dtype=np.float64))
    if total <= 0:
        return None
    step = PEAK_GRID_NM[1] - PEAK_GRID_NM[0]
    to_bin = lambda p: np.clip(np.rint((p - PEAK_GRID_NM[0]) / step).astype(np.int64), 0, PEAK_GRID_NM.size - 1)
    peaks = np.asarray(peak_nm)
    if peaks.size == 1 or float(peaks.max()) - float(peaks.min()) < 1e-3:  # one peak everywhere
        hist = np.zeros(PEAK_GRID_NM.size)
        hist[to_bin(float(peaks.flat[0]))] = total
    else:
        lit = intensity > 0
        hist = np.bincount(to_bin(peaks[lit]), intensity[lit].astype(np.float64), minlength=PEAK_GRID_NM.size)
    used = np.flatnonzero(hist)
    lam = np.arange(np.floor(PEAK_GRID_NM[used[0]]) - 60, np.ceil(PEAK_GRID_NM[used[-1]]) + 60, 0.25)
    spectrum = hist[used] @ line_shape(lam, PEAK_GRID_NM[used], fwhm_meV)
    return float(lam[np.argmax(spectrum)])


def phase_summary(prediction) -> dict:
    maps, area = prediction.maps, prediction.grid.pixel_area_um2
    out = {}
    for name, intensity, peak, width in (("green", maps.green, np.float32(maps.green_peak_nm), maps.green_fwhm_meV),
                                         ("red", maps.red, maps.red_peak_nm, maps.red_fwhm_meV)):
        total = float(intensity.sum(dtype=np.float64))
        spectral = spectrum_peak_nm(intensity, peak, width)
        uniform = np.size(peak) == 1 or float(np.max(peak)) - float(np.min(peak)) < 1e-3
        if total <= 0:
            mean = None
        elif uniform:
            mean = float(np.asarray(peak).flat[0])
        else:
            mean = float((intensity * peak).sum(dtype=np.float64) / total)
        out[name] = {"integrated": total * area, "peak_nm": spectral, "mean_peak_nm": mean,
                     "fwhm_nm": fwhm_nm(spectral or float(np.mean(peak)), width), "fwhm_meV": width}
    return out


def regions(sample) -> dict[str, np.ndarray]:
    """Written / clear, and the cores of rewritten (n_rw >= 0.9) and single-pass (n_rw <= 0.1)
    parts; the partly rewritten fringe between them belongs to neither."""
    lit = sample.lit
    return {"written": lit, "clear": ~lit, "rewritten": lit & (sample.rewrites >= 0.9),
            "single_pass": lit & (sample.rewrites <= 0.1)}


# Each region of `regions` as a union of disjoint pixel classes (`region_labels`): 0 clear,
# 1 single-pass core, 2 rewritten core, 3 the partly rewritten fringe.
REGION_CLASSES = {"written": [1, 2, 3], "clear": [0], "rewritten": [2], "single_pass": [1]}
N_CLASSES = 4


def region_labels(sample) -> np.ndarray:
    """Each pixel's class (`REGION_CLASSES`), flat, in memory order."""
    rewrites = sample.rewrites
    label = np.where(rewrites >= 0.9, 2, np.where(rewrites <= 0.1, 1, 3)).astype(np.intp).ravel()
    label[~sample.lit.ravel()] = 0
    return label


def view_stats(sample, xyz_by_view: dict[str, np.ndarray], label: np.ndarray | None = None) -> dict:
    """Mean luminance per region (written, clear, rewritten, single pass) and contrasts, per view.
    Sums are float64 bincounts over the pixels in memory order: the same digits whatever the BLAS
    thread count (a float32 product with the region masks drifted by 0.6 % on 3 M pixels, and its
    summation order, hence its error, changed with OMP_NUM_THREADS). `label`: the sample's
    `region_labels`, when the caller keeps them for several views of one sample."""
    label = region_labels(sample) if label is None else label
    class_counts = np.bincount(label, minlength=N_CLASSES)
    counts = {k: int(class_counts[c].sum()) for k, c in REGION_CLASSES.items()}
    out = {}
    for name, xyz in xyz_by_view.items():
        flat = xyz.reshape(-1, 3)
        class_sums = np.stack([np.bincount(label, flat[:, i], minlength=N_CLASSES) for i in range(3)], axis=1)
        means = {k: class_sums[c].sum(axis=0) / counts[k] if counts[k] else None for k, c in REGION_CLASSES.items()}
        mean_y = {k: (float(v[1]) if v is not None else None) for k, v in means.items()}
        entry = {f"mean_Y_{k}": v for k, v in mean_y.items()}
        ratio = lambda a, b: (a / b if a is not None and b else None)
        entry["written_to_clear"] = ratio(mean_y["written"], mean_y["clear"])
        entry["rewritten_to_single_pass"] = ratio(mean_y["rewritten"], mean_y["single_pass"])
        if counts["written"] and counts["clear"]:
            lab = xyz_to_lab(np.stack([means["written"], means["clear"]]).astype(float) / D65_WHITE_XYZ[1])
            entry["delta_e_ab_written_vs_clear"] = float(np.linalg.norm(lab[0] - lab[1]))
        out[name] = entry
    return out


def plane_stats(prediction) -> list[dict]:
    """Per depth plane: areas written, rewritten (n_rw >= 0.5), erased and damaged."""
    area, detect = prediction.grid.pixel_area_um2, prediction.material.kinetics["detect_fraction"]
    return [{"depth_um": p.depth_um, "lit_area_um2": float((p.crystallized >= detect).sum() * area),
             "rewritten_area_um2": float(((p.crystallized >= detect) & (p.rewrites >= 0.5)).sum() * area),
             "erased_area_um2": float((p.erased >= 0.5).sum() * area),
             "damaged_area_um2": float(p.damaged.sum() * area)} for p in prediction.exposure.planes]


def writing_points(prediction) -> list[dict]:
    """Each (energy, rep rate) the beam wrote with. Temperatures above the damage limit are not
    physical (the glass is destroyed first): they are reported capped at it, with `damaged`."""
    exp, mat = prediction.history.exposures(), prediction.material
    points = np.unique(np.stack([exp.energy_uJ, exp.rep_rate_kHz], axis=1), axis=0)
    limit = mat.thermal["damage_c"] + KELVIN
    out = []
    for e, f in points:
        sel = (exp.energy_uJ == e) & (exp.rep_rate_kHz == f)
        peak = float(thermal.peak_temperature_K(mat, e, f))
        out.append({"energy_uJ": float(e), "rep_rate_kHz": float(f),
                    "nominal_power_W": float(e * f * 1e-3), "delivered_power_W": float(delivered_power_W(mat, e, f)),
                    "absorbed_power_W": float(absorbed_power_W(mat, e, f)),
                    "centre_temperature_K": min(float(centre_temperature_K(mat, e, f)), limit),
                    "pulse_peak_temperature_K": min(peak, limit), "damaged": peak >= limit,
                    "heat_accumulation": float(thermal.accumulation(mat, f)),
                    "pulse_diffusion_um": float(thermal.pulse_diffusion_um(mat, f)),
                    "melt_radius_um": thermal.melt_radius_um(mat, e, f),
                    "incubation_s": float(incubation_s(mat, e, f)),
                    "clamped": bool(exp.clamped[sel].any()),
                    "commanded_s_max": float(exp.s_command[sel].max())})
    return out


def as_written_red_nm(material) -> float:
    from hardware_sim.glass.phase_model import red_gap_eV

    return HC_EV_NM / float(red_gap_eV(material, material.chemistry["iodide_as_written"]))


def warnings_for(prediction, points: list[dict]) -> list[str]:
    mat, out = prediction.material, []
    kappa = mat.laser["delivered_fraction"]
    if abs(kappa - 1.0) > 1e-9 and points:  # one warning for the job, however many writing points
        p = points[0]
        more = f" (and {len(points) - 1} other writing point(s), same fraction)" if len(points) > 1 else ""
        out.append(f"power mismatch: {p['energy_uJ']:g} uJ x {p['rep_rate_kHz']:g} kHz = {p['nominal_power_W']:.2f} W "
                   f"nominal, but the model delivers {p['delivered_power_W']:.2f} W{more} (delivered_fraction {kappa:g}, "
                   f"chosen to match the paper's 'average power 500 mW' at 200 uJ, 10 kHz); set [laser] "
                   f"delivered_fraction in material {mat.name} if your laser's power meter says otherwise")
    for p in points:
        if not np.isfinite(p["incubation_s"]):
            out.append(f"no crystallization at {p['energy_uJ']:g} uJ, {p['rep_rate_kHz']:g} kHz: the focus stays below "
                       f"the liquidus ({p['centre_temperature_K']:.0f} K)")
        if p["clamped"]:
            out.append(f"power clamped: S{p['commanded_s_max']:g} was commanded but the controller ($30) or the laser "
                       f"delivers at most {p['energy_uJ']:g} uJ; simulated at the clamped energy")
        if p["damaged"]:
            out.append(f"damage: at {p['energy_uJ']:g} uJ, {p['rep_rate_kHz']:g} kHz each pulse heats the focus above "
                       f"{mat.thermal['damage_c']:g} C (heat accumulation {p['heat_accumulation']:.2f}): the glass cracks or "
                       f"forms voids there, predicted dark (no PL)")
        elif p["centre_temperature_K"] > mat.thermal["dissolve_c"] + KELVIN:
            out.append(f"over-exposure: at {p['energy_uJ']:g} uJ, {p['rep_rate_kHz']:g} kHz the centre "
                       f"({p['centre_temperature_K']:.0f} K) is above the dissolution temperature: dots come out with a dark "
                       f"core and a second pass there erases earlier dots")
    exp = prediction.exposure
    if exp.beam_on_s > 0 and exp.incubating_s / exp.beam_on_s > 0.5:
        out.append(f"{100 * exp.incubating_s / exp.beam_on_s:.0f} % of the beam time went into incubation "
                   f"(marks too short, too fast or too sparse to nucleate)")
    ht = prediction.treatment.heat_treat_c
    red_start = as_written_red_nm(mat)
    if ht is not None and mat.chemistry["red_weight"] > 0 and red_start < 645:
        shifted = prediction.maps.red_peak_nm[prediction.lit & (exp.rewrites < 0.5)]
        if shifted.size and float(np.median(shifted)) > 640:
            out.append(f"heat treatment at {ht:g} C moves single-pass red to {float(np.median(shifted)):.0f} nm: it passes "
                       f"the 645 nm filter too, which erases the filtered (level-3) view")
    return out


def predictions_for(prediction, stats: dict, features: dict) -> list[dict]:
    exp = prediction.exposure
    items = [{"name": "incubation_fraction", "value": exp.incubating_s / exp.beam_on_s if exp.beam_on_s else 0.0,
              "unit": "of beam time", "basis": PREDICTION + " (lead-in before nucleation)"}]
    for name, entry in stats.items():
        if entry.get("rewritten_to_single_pass") is not None and prediction.views[name].filter is not None:
            items.append({"name": f"{name}_rewritten_to_single_pass", "value": entry["rewritten_to_single_pass"],
                          "unit": "luminance ratio", "basis": PREDICTION + " (paper: only rewritten parts glow)"})
        if "delta_e_ab_written_vs_clear" in entry and prediction.views[name].kind == "transmission":
            items.append({"name": "daylight_delta_e_ab", "value": entry["delta_e_ab_written_vs_clear"],
                          "unit": "Delta E*ab", "basis": PREDICTION + " (paper: 'no significant differences')"})
    for key in ("dot_diameter", "line_width"):
        if features[key].get("median_um") is not None:
            items.append({"name": f"{key}_um", "value": features[key]["median_um"], "unit": "um",
                          "basis": PREDICTION + " (paper: tens of um, Fig. 1 scale bars)"})
    return items


def build_report(prediction, renders: dict | None = None, view_stats_by_view: dict | None = None) -> dict:
    if view_stats_by_view is None:
        sample = prediction.sample_at(prediction.scale_for())
        view_stats_by_view = {name: view_stats(sample, {name: prediction.xyz(name, sample)})[name]
                              for name in prediction.views}
    grid, mat, t = prediction.grid, prediction.material, prediction.treatment
    lit = prediction.lit
    features = {"dot_diameter": dot_diameters_um(prediction.ledger, grid, lit),
                "line_width": line_widths_um(prediction.ledger, grid, lit, crystallized=prediction.exposure.crystallized,
                                             detect=mat.kinetics["detect_fraction"])}
    stats = view_stats_by_view
    points = writing_points(prediction)
    return {
        "material": {"name": mat.name, "description": mat.description},
        "conditions": {"heat_treat_c": t.heat_treat_c, "heat_treat_hours": t.heat_treat_hours if t.heat_treat_c is not None else 0.0,
                       "measure_c": t.measure_c},
        "grid": {"pitch_um": grid.pitch_um, "shape": [grid.ny, grid.nx], "origin_mm": [grid.x0_mm, grid.y0_mm]},
        "ledger": prediction.ledger.stats(),
        "writing_points": points,
        "phases": phase_summary(prediction),
        "crystallized_area_um2": float(lit.sum() * grid.pixel_area_um2),
        "max_crystallized_fraction": float(prediction.exposure.crystallized.max()),
        "planes": plane_stats(prediction),
        "features": features,
        "views": stats,
        "renders": dict(renders or {}),
        "model_factors": prediction.maps.factors,
        "warnings": warnings_for(prediction, points),
        "predictions": predictions_for(prediction, stats, features),
        "extras": {**mat.extras, "basis": "quoted from the paper, not modelled"},
        "units": UNITS,
    }
