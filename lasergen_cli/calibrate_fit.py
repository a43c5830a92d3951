"""`calibrate fit` and `calibrate window`: a material profile from measured grids, and the recipe a
profile predicts for a requested size (library: `hardware_sim.glass.fit`, `.window`, imported lazily)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import click

from lasergen_cli.calibrate import calibrate
from lasergen_cli.common import Number, emit, json_option, machine_option


@calibrate.command("fit")
@click.argument("measured", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option("--material", default="BrI", show_default=True, metavar="NAME|FILE.toml",
              help="The prior profile: the fit starts from it and keeps its values where the data say nothing.")
@click.option("-o", "--out", required=True, help="Fitted material profile (TOML) to write.")
@click.option("--plot", default=None, help="Residual plot (PNG): measured vs predicted size (um) and glow per cell; default: none.")
@click.option("--line-um", type=Number("line_um"), default=150.0, show_default=True,
              help="Written line length of lines grids (um; the grid's --line-um, default 0.6 x 250 um cells).")
@json_option
def fit_command(measured, material, out, plot, line_um, as_json):
    """Fit a material profile to one or more `calibrate measure` CSVs (dots and/or lines grids).

    The forward model is the simulator, cell by cell. Fitted (when the data determine them): the
    absorbed share of the pulse (size growth with energy), the crystal growth rate (size growth with
    dwell, width vs speed), the incubation time (the writing threshold in dwell; needs dwells near
    it), and the rewrite gains (needs cells with passes > 1). Each is reported with its standard
    uncertainty (from the Jacobian, scaled by the residuals); a parameter the data cannot pin to 5 %
    keeps the prior's value and the report says why. The profile keeps the built-in schema and keys;
    fitted lines carry "fitted DATE from CSV: value +- sigma (prior ...)".
    """
    from hardware_sim.glass.fit import fit, read_measurements, summary
    from hardware_sim.glass.material import Material
    from hardware_sim.glass.profile_writer import write_fitted

    prior = Material.load(material)
    obs = read_measurements(measured, line_um)
    result = fit(obs, prior)
    names = [Path(m).name for m in measured]
    written = write_fitted(out, material, result.values, result.sigma, names, sorted(result.undetermined))
    info = {"profile": out, "material_name": written.name, "prior": prior.name, **summary(result)}
    if plot:
        from hardware_sim.glass.fit_plot import fit_plot

        fit_plot(result, plot, f"{written.name}: fit of {prior.name} to {', '.join(names)} ({date.today()})")
        info["plot"] = plot
    lines = [f"wrote {out}: {len(obs)} cells ({info['lit']} lit), rms size error {result.rms_size_um:.2f} um "
             f"(prior {info['rms_size_error_prior_um']:.2f} um)"]
    lines += [f"  fitted  {n:<30} {v:.4g} +- {result.sigma[n]:.2g}   (prior {info['determined'][n]['prior']:.4g})"
              for n, v in result.values.items()]
    lines += [f"  prior   {n:<30} {info['undetermined'][n]['prior']:.4g}: {why}" for n, why in result.undetermined.items()]
    if info["presence_mismatches"]:
        lines.append(f"  presence predicted wrongly for {len(info['presence_mismatches'])} cell(s): "
                     + ", ".join(info["presence_mismatches"][:8]))
    emit(info, as_json, "\n".join(lines))


@calibrate.command("window")
@click.argument("profile", metavar="PROFILE")
@click.option("--line-width-um", type=Number("width_um"), default=None, help="Requested line width (um); give this or else --dot-um.")
@click.option("--dot-um", type=Number("width_um"), default=None, help="Requested dot diameter (um); give this or else --line-width-um.")
@click.option("--colour", type=click.Choice(["green", "red"]), default=None,
              help="Requested colour (the phase that emits more); default: what one pass writes. Red in Br&I glass "
                   "needs a rewrite (2 passes).")
@click.option("--rep-rate-khz", type=Number("rep_rate_kHz"), default=None, help="Repetition rate (kHz; default the machine's).")
@click.option("--plot", default=None, help="Window plot (PNG): predicted size (um) over energy (uJ) x speed (mm/s) or dwell (s); default: none.")
@machine_option
@json_option
def window_command(profile, line_width_um, dot_um, colour, rep_rate_khz, plot, machine, as_json):
    """The recipe a material profile predicts for a line width or dot size and colour, with its margin.

    PROFILE is a built-in material (BrI, ...) or a profile file (`calibrate fit` writes one). The
    search covers the machine's energy range, speeds 0.05..3.2 mm/s (lines) or dwells 0.5..8 s
    (dots), one and two passes. The margin is how far the pulse energy, and separately the speed
    (dwell), may drift (relative, each alone, the smaller of up and down) before the predicted size
    leaves +-10 % of the request; 0.5 means at least 50 %.
    """
    from lasergen import LasergenError
    from lasergen.machine import MachineProfile
    from hardware_sim.glass.material import Material
    from hardware_sim.glass.window import process_window

    if (line_width_um is None) == (dot_um is None):
        raise LasergenError("give exactly one of --line-width-um or --dot-um")
    material = Material.load(profile)
    rig = MachineProfile.load(machine)
    mode, target = ("lines", line_width_um) if line_width_um is not None else ("dots", dot_um)
    window = process_window(material, mode, target, colour, rig.energy_range_uJ, rep_rate_khz or rig.rep_rate_kHz)
    result = {"profile": profile, "mode": mode, "target_um": target, "colour": window.colour, "recipe": window.recipe,
              "margins_relative": window.margins, "tolerance_relative": 0.10,
              "searched": {"energy_uJ": [float(window.energies_uJ[0]), float(window.energies_uJ[-1])],
                           window.exposure_key: [float(window.exposures[0]), float(window.exposures[-1])],
                           "passes": [1, 2]}}
    if plot:
        from hardware_sim.glass.fit_plot import window_plot

        window_plot(window, plot, f"{material.name}: {window.size_name} {target:g} um, {window.colour} "
                                  f"({window.passes} pass{'es' if window.passes > 1 else ''})")
        result["plot"] = plot
    if window.recipe is None:
        raise LasergenError(f"no recipe in the searched range gives a {window.colour} {window.size_name} of "
                            f"{target:g} um +-10 % (predicted sizes {window.size_um[window.size_um > 0].min(initial=0):.0f}"
                            f"..{window.size_um.max():.0f} um)")
    r, m = window.recipe, window.margins
    exposure = f"{r['speed_mm_s']:g} mm/s" if mode == "lines" else f"{r['dwell_s']:g} s dwell"
    emit(result, as_json, f"{window.colour} {window.size_name} {target:g} um: {r['energy_uJ']:g} uJ, {exposure}, "
                          f"{r['passes']} pass(es) at {r['rep_rate_kHz']:g} kHz -> predicted {r['predicted_um']:g} um; "
                          f"stays within +-10 % for energy drift -{100 * m['energy_down']:.0f}/+{100 * m['energy_up']:.0f} % "
                          f"and {'speed' if mode == 'lines' else 'dwell'} drift -{100 * m['exposure_down']:.0f}/"
                          f"+{100 * m['exposure_up']:.0f} %")
