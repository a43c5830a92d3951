"""Calibration commands: `calibrate grid | measure | attenuator` and `align` (library: `lasergen.calib`)."""

from __future__ import annotations

from pathlib import Path

import click

from lasergen_cli.common import Number, emit, json_option, machine_option, main, parse_pair

SWEEP_HELP = "Values: 'a:b:step', 'a:b:xFACTOR' (geometric), 'a,b,c' or one number (fixed)."


@main.group("calibrate")
def calibrate():
    """Test grids, their photos, and the beam side's calibration."""


@calibrate.command("grid")
@click.option("-o", "--out", required=True, help="Job file to write (one per rate when --rep-rates sweeps).")
@click.option("--mode", type=click.Choice(["dots", "lines"]), default="dots", show_default=True,
              help="A static dot per cell (sweeps dwell) or a written line per cell (sweeps speed).")
@click.option("--energies", default=None, help="Pulse energies (uJ), default 200. " + SWEEP_HELP)
@click.option("--dwells", default=None, help="Dot dwell (s), default 1.5 (dots).")
@click.option("--speeds", default=None, help="Line speed (mm/s), default 0.4 (lines).")
@click.option("--rep-rates", default=None, help="Repetition rates (kHz), default the machine's; a sweep writes "
                                                "one job per rate (the amplifier is set by hand between them).")
@click.option("--passes", default=None, help="Passes per cell, default 1.")
@click.option("--cell-um", type=Number("cell_um"), default=250.0, show_default=True, help="Cell pitch (um).")
@click.option("--line-um", type=Number("line_um"), default=None, help="Line length in a cell (um; default 0.6 cell).")
@click.option("--pitch-um", type=Number("pitch_um"), default=10.0, show_default=True, help="Canvas pitch (um); cells and "
                                                                              "the line length are multiples of it.")
@click.option("--origin", default="10,10", show_default=True, help="Machine X,Y (mm) of the grid's bottom-left corner.")
@click.option("--no-fiducials", is_flag=True, help="Leave out the corner fiducials (then `measure` cannot read it).")
@click.option("--no-labels", is_flag=True, help="Leave out the engraved row letters and column numbers.")
@click.option("--mark-energy-uj", type=Number("energy_uJ"), default=200.0, show_default=True, help="Fiducial and label recipe: pulse energy (uJ).")
@click.option("--mark-speed-mm-s", type=Number("speed_mm_s"), default=0.4, show_default=True, help="Fiducial and label recipe: scan speed (mm/s).")
@click.option("--material", type=click.Choice(["Br", "BrI", "I"]), default=None, help="Glass (recorded in the job; default: none recorded).")
@machine_option
@json_option
def grid_command(out, mode, energies, dwells, speeds, rep_rates, passes, cell_um, line_um, pitch_um, origin,
                 no_fiducials, no_labels, mark_energy_uj, mark_speed_mm_s, material, machine, as_json):
    """A parameter-sweep test grid over one or two recipe parameters, with fiducials and labels.

    Rows take the first swept parameter in the order energy, rep rate, passes, dwell/speed;
    columns the second. Cells are named by row letter and column number ("B7"); each cell's
    recipe, name and position are in the job manifest (what `calibrate measure` reads).
    """
    from dataclasses import replace

    from lasergen.build import plan_to_file
    from lasergen.calib.grid import MARK_RECIPE, GridSpec, check_energies, grid_parts
    from lasergen.calib.sweep import parse_sweep
    from lasergen.machine import MachineProfile

    profile = MachineProfile.load(machine)
    given = {"energy_uJ": energies, "dwell_s": dwells, "speed_mm_s": speeds, "rep_rate_kHz": rep_rates,
             "passes": passes}
    values = {f: parse_sweep(v, f"--{name}") for (f, v), name in
              zip(given.items(), ("energies", "dwells", "speeds", "rep-rates", "passes")) if v is not None}
    values.setdefault("rep_rate_kHz", [profile.rep_rate_kHz])
    mark = replace(MARK_RECIPE, energy_uJ=mark_energy_uj, speed_mm_s=mark_speed_mm_s)
    spec = GridSpec(mode=mode, values=values, cell_um=cell_um, line_um=line_um, pitch_um=pitch_um,
                    origin_mm=parse_pair(origin, "--origin"), fiducials=not no_fiducials, labels=not no_labels,
                    mark=mark, material=material)
    check_energies(spec, profile)
    parts = grid_parts(spec)
    out_path = Path(out)
    jobs = []
    for part in parts:
        path = out_path if len(parts) == 1 else out_path.with_name(
            f"{out_path.stem}.{part.rep_rate_kHz:g}kHz{out_path.suffix or '.gcode'}")
        rig = profile if part.rep_rate_kHz == profile.rep_rate_kHz else replace(profile, rep_rate_kHz=part.rep_rate_kHz)
        manifest = plan_to_file(part.pattern, path, rig, material)
        jobs.append({"job": str(path), "rep_rate_kHz": part.rep_rate_kHz, "time_s": manifest["estimate"]["time_s"],
                     "cells": sum(c["written"] for c in part.pattern.meta["cells"]),
                     "bounds_mm": manifest["mark_bounds_mm"]})
    meta = parts[0].pattern.meta
    rows, cols = meta["rows"], meta["cols"]
    result = {"jobs": jobs, "rows": rows, "cols": cols, "cells": len(meta["cells"]), "size_um": meta["size_um"]}
    axis = lambda a: f"{a['parameter']} {a['values'][0]:g}..{a['values'][-1]:g} ({len(a['values'])})" if a else "-"
    lines = [f"wrote {j['job']}: {j['cells']} cells at {j['rep_rate_kHz']:g} kHz, estimated {j['time_s']:.0f} s"
             for j in jobs]
    lines.append(f"rows {axis(rows)}, columns {axis(cols)}; grid {meta['size_um'][0] / 1000:g} x "
                 f"{meta['size_um'][1] / 1000:g} mm")
    if len(jobs) > 1:
        lines.append("set the amplifier to each job's repetition rate before running it")
    emit(result, as_json, "\n".join(lines))


def _measure_help() -> str:
    from lasergen.calib.csv_columns import COLUMNS

    lines = ["Measure every cell of a calibration grid in a UV photo (or a `lasergen simulate` render).",
             "",
             "The four fiducials locate the grid (rotation, perspective, a mirrored photo); uneven light is "
             "corrected with each cell's own background and the fiducials' glow as a reference. Sizes are in "
             "um from the grid's design, so --um-per-px is only a cross-check.",
             "",
             "CSV columns (one row per cell; empty where not measured):",
             "",
             "\b"]
    lines += [f"  {name:<14} {text}" for name, text in COLUMNS.items()]
    return "\n".join(lines)


@calibrate.command("measure", help=_measure_help())
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("--grid", "grid_job", required=True, type=click.Path(dir_okay=False),
              help="The grid's job file (its manifest says where every cell is).")
@click.option("-o", "--out", required=True, help="CSV to write.")
@click.option("--um-per-px", type=Number("um_per_px"), default=None, help="Photo scale, if known: checked against the fiducials'.")
@click.option("--threshold", type=Number("threshold"), default=0.05, show_default=True,
              help="Lit above this fraction of the fiducials' glow (0.05: the simulator's detection threshold).")
@json_option
def measure_command(photo, grid_job, out, um_per_px, threshold, as_json):
    from lasergen.calib.measure import grid_from_job, measure_photo, write_csv

    grid = grid_from_job(grid_job)
    result = measure_photo(photo, grid, um_per_px, threshold)
    write_csv(result.rows, out)
    info = {**result.info, "csv": out, "photo": photo, "grid": grid_job}
    for warning in info["warnings"]:
        click.echo(f"lasergen: warning: {warning}", err=True)
    emit(info, as_json, f"wrote {out}: {info['present']} of {info['cells']} cells lit ({info['merged']} merged), "
                        f"{info['um_per_px']:.3g} um/px from the fiducials"
                        + (", photo mirrored (taken through the glass)" if info["mirrored"] else ""))


@calibrate.command("attenuator")
@click.argument("readings", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, help="Machine profile (TOML) to write.")
@click.option("--machine", default="pi-c884", show_default=True,
              help="Profile to base it on (built-in name or TOML file); its comments are kept.")
@click.option("--name", default=None, help="Name of the new profile (default: the output file's stem).")
@click.option("--rep-rate-khz", type=Number("rep_rate_kHz"), default=None,
              help="Repetition rate during the readings (kHz; default: the base profile's); converts power to energy.")
@click.option("--wavelength-nm", type=Number("wavelength_nm"), default=1030.0, show_default=True, help="Laser wavelength (nm).")
@click.option("--transmission", type=Number("transmission"), default=1.0, show_default=True,
              help="Fraction of the metered power that reaches the sample (meter before the objective).")
@click.option("--date", default=None, help="Date of the readings, YYYY-MM-DD (default: today).")
@json_option
def attenuator_command(readings, out, machine, name, rep_rate_khz, wavelength_nm, transmission, date, as_json):
    """Fit Malus's law to power-meter readings vs half-wave-plate angle and write a machine profile.

    READINGS is a CSV with a column angle_deg and one of energy_uJ, power_mW or power_W (# starts
    a comment). The profile records the fit, the date, wavelength, repetition rate and the range
    of energies the readings covered; planning and streaming refuse energies outside that range.
    """
    from lasergen.calib.attenuator import fit_readings, profile_with_fit, read_readings
    from lasergen.machine import MachineProfile

    base = MachineProfile.load(machine)
    rate = rep_rate_khz if rep_rate_khz is not None else base.rep_rate_kHz
    angles, energies = read_readings(readings, rate, transmission)
    fit = fit_readings(angles, energies)
    text, profile = profile_with_fit(machine, fit, name or Path(out).stem, rate, wavelength_nm, date)
    warnings = list(fit.warnings)
    if abs(rate - base.rep_rate_kHz) > 1e-9:
        warnings.append(f"readings at {rate:g} kHz, but the profile's laser runs at {base.rep_rate_kHz:g} kHz: "
                        f"pulse energies differ at another rate")
    try:
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        from lasergen import LasergenError
        raise LasergenError(f"cannot write {out}: {exc}") from None
    result = {"profile": out, "name": profile.name, **fit.summary(), "warnings": warnings,
              "energy_range_uJ": list(profile.energy_range_uJ)}
    for warning in warnings:
        click.echo(f"lasergen: warning: {warning}", err=True)
    table = "\n".join(f"  {r['angle_deg']:8.2f} deg  {r['energy_uJ']:10.4g} uJ  residual {r['residual_uJ']:+.3g} uJ"
                      for r in result["residuals"])
    emit(result, as_json,
         f"wrote {out}: E(theta) = {fit.calibration.p_min:.4g} + ({fit.calibration.p_max:.4g} - "
         f"{fit.calibration.p_min:.4g}) cos^2(2 (theta - {fit.calibration.theta0_deg:.3f} deg)); "
         f"rms residual {fit.calibration.rms_residual:.3g} uJ over {len(angles)} readings; "
         f"energies {profile.energy_range_uJ[0]:.4g}..{profile.energy_range_uJ[1]:.4g} uJ allowed\n{table}")


@main.command("align")
@click.argument("photo", type=click.Path(dir_okay=False))
@click.option("--job", "job_path", required=True, type=click.Path(dir_okay=False), help="The job to place.")
@click.option("-o", "--out", required=True, help="The aligned job to write.")
@click.option("--camera", required=True, type=click.Path(dir_okay=False),
              help="Camera file: photo px -> machine mm ([camera] homography, or two [[reference]] moves).")
@click.option("--find", type=click.Choice(["fiducials", "corners"]), default="fiducials", show_default=True,
              help="Grid fiducials already on the sample, or the corners of the glass.")
@click.option("--fiducials-from", default=None, type=click.Path(dir_okay=False),
              help="The grid job whose fiducials are on the sample (default: --job itself).")
@click.option("--margin-mm", type=Number("margin_mm"), default=0.5, show_default=True, help="corners: distance from the glass edges (mm).")
@click.option("--dark", is_flag=True, help="corners: the sample is darker than the stage.")
@click.option("--no-checksum", is_flag=True, help="Accept a body edited after planning.")
@json_option
def align_command(photo, job_path, out, camera, find, fiducials_from, margin_mm, dark, no_checksum, as_json):
    """Place a job on the sample seen in a camera photo: offset and rotation applied to its toolpath,
    re-emitted in the job's controller language, the move recorded in its manifest.

    \b
    Camera file (TOML), photo pixels (x right, y down) -> machine mm:
      [camera]
      homography = [[h11, h12, h13], [h21, h22, h23], [h31, h32, h33]]
    or two (similarity) or more (affine) reference moves from the same camera pose:
      [[reference]]
      machine_mm = [20.0, 20.0]
      photo_px = [812.5, 1630.0]
    """
    from lasergen.calib.align import (
        fiducials_in_machine,
        kabsch,
        load_camera,
        move_job,
        placement_on_rectangle,
        sample_rectangle,
    )
    from lasergen.calib.measure import grid_from_job
    from lasergen.job import read_job

    H = load_camera(camera)
    job = read_job(Path(job_path), check_sum=not no_checksum)
    record = {"photo": Path(photo).name, "camera": Path(camera).name, "method": find}
    if find == "fiducials":
        planned, found = fiducials_in_machine(photo, H, grid_from_job(fiducials_from or job_path))
        rigid, rms_mm = kabsch(planned, found)
        record.update(found_mm=found.round(4).tolist(), rms_residual_mm=rms_mm)
    else:
        if not margin_mm >= 0:
            from lasergen import LasergenError
            raise LasergenError(f"--margin-mm must be >= 0, got {margin_mm:g}")
        corners = sample_rectangle(photo, H, dark)
        rigid = placement_on_rectangle(corners, job.manifest.get("mark_bounds_mm") or job.toolpath.mark_bounds_mm(),
                                       margin_mm)
        record.update(sample_corners_mm=corners.round(4).tolist(), margin_mm=margin_mm)
    manifest = move_job(job, rigid, out, record)
    result = {"job": out, **manifest["alignment"], "mark_bounds_mm": manifest["mark_bounds_mm"]}
    t = rigid
    emit(result, as_json, f"wrote {out}: rotated {t.angle_deg:+.3f} deg, shifted {t.dx_mm:+.4f}, {t.dy_mm:+.4f} mm"
                          + (f"; fiducials fit to {1000 * record['rms_residual_mm']:.1f} um rms"
                             if "rms_residual_mm" in record else ""))
