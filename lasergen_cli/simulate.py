"""Simulator commands: `simulate` and `verify`, thin calls of the public API (`Job.simulate`,
`Prediction.save`, `Prediction.verify`); an exposure ledger (`JOB.ledger.npz`, what a `sim://`
stream recorded) is the one input the API does not read, so it goes to hardware_sim directly."""

from __future__ import annotations

import sys

import click

from lasergen_cli.common import Number, emit, job_file, job_machine_option, json_option, main, warn


def sim_options(f):
    options = [
        click.option("--material", default=None, metavar="NAME|FILE.toml",
                     help="Glass: a built-in profile (Br, BrI, BrLi, I) or a profile file such as the one "
                          "`calibrate fit` writes (default: the job's, else BrI)."),
        click.option("--heat-treat", "heat_treat_c", type=Number("temperature_c"), default=None,
                     help="Heat treatment after writing (°C); default: none."),
        click.option("--heat-treat-hours", type=Number("hours"), default=2.0, show_default=True,
                     help="Duration of the heat treatment (hours)."),
        click.option("--measure-c", type=Number("temperature_c"), default=25.0, show_default=True, help="Sample temperature when viewed (C)."),
        click.option("--pitch-um", type=Number("sim_pitch_um"), default=2.0, show_default=True, help="Simulation grid pitch (um)."),
        click.option("--um-per-px", type=Number("um_per_px"), default=None, help="Render scale (default: grid pitch, or whole mark)."),
        click.option("--whole-mark", is_flag=True, help="Fit the whole mark into the render (max 2048 px)."),
        click.option("--filter-edge-nm", type=Number("wavelength_nm"), default=None,
                     help="Filtered view: long-pass edge or band centre (nm); default 645."),
        click.option("--filter-width-nm", type=Number("width_nm"), default=None,
                     help="Filtered view: width of the filter edge (nm); default 3."),
        click.option("--bandpass-nm", type=Number("width_nm"), default=None,
                     help="Filtered view: a band-pass of this full width (nm) instead of a long-pass; default: none."),
        click.option("--reader", type=click.Choice(["microscope", "phone"]), default="microscope", show_default=True,
                     help="Optics of the views at each depth of a job in depth: a NA 0.3 objective focused at "
                          "each depth, or a phone camera (large depth of field: every plane at once)."),
        click.option("--no-checksum", is_flag=True, help="Accept a body edited after planning."),
        job_machine_option,
        json_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


SIM_KEYS = ("heat_treat_c", "heat_treat_hours", "measure_c", "pitch_um", "filter_edge_nm", "filter_width_nm",
            "bandpass_nm")


def _predict(job: str, opts: dict):
    """The public Prediction of a job file (or of the exposure ledger a sim:// stream saved)."""
    import lasergen

    options = {k: opts[k] for k in SIM_KEYS}
    if job.endswith(".npz"):
        from hardware_sim.glass.plugin import SIMULATOR
        from hardware_sim.glass.simulate import simulate_job

        raw, manifest = simulate_job(job, opts["machine"], opts["material"], check_sum=not opts["no_checksum"],
                                     reader=opts["reader"], **options)
        return lasergen.Prediction(raw, SIMULATOR, manifest, raw.material.name)
    loaded = lasergen.Job.load(job, opts["machine"], check_sum=not opts["no_checksum"])
    return loaded.simulate(opts["material"], reader=opts["reader"], **options)


@main.command("simulate")
@click.argument("job", type=click.Path(dir_okay=False), callback=job_file)
@click.option("--out", required=True, help="Folder for daylight.png, uv365.png, uv365_lp645.png, report.json.")
@sim_options
def simulate_command(job, out, **opts):
    """Predict the written glass from a job's G-code (or the JOB.ledger.npz a sim:// stream saved)."""
    report = _predict(job, opts).save(out, opts["um_per_px"], opts["whole_mark"])
    g, r = report["phases"]["green"], report["phases"]["red"]
    fmt = lambda v: "-" if v is None else f"{v:.1f} nm"
    text = (f"{job} on {report['material']['name']}: green {fmt(g['peak_nm'])} ({g['integrated']:.3g}), "
            f"red {fmt(r['peak_nm'])} ({r['integrated']:.3g}), crystallized {report['crystallized_area_um2']:.0f} um^2; "
            f"renders in {out}: {', '.join(report['renders'].values())}")
    for w in report["warnings"]:
        warn(w)
    emit(report, opts["as_json"], text)


@main.command("verify")
@click.argument("job", type=click.Path(dir_okay=False), callback=job_file)
@click.option("--no-margin", is_flag=True, help="Skip the blur/noise decode-margin search.")
@click.option("--key", "key_path", default=None, help="Hidden-layer key file for keyed tags (else $LASERGEN_KEY).")
@click.option("--pubkey", "pubkey_path", default=None, help="Ed25519 public key (PEM) for signed tags "
                                                            "(else $LASERGEN_PUBKEY).")
@sim_options
def verify_command(job, no_margin, key_path, pubkey_path, **opts):
    """Simulate a job, then check each view against what the job promises (exit 1 on failure)."""
    from hardware_sim.glass.verify import status_of
    from lasergen.security.hidden import load_key
    from lasergen.security.signing import load_public_key

    key = load_key(key_path) if key_path else None
    public_key = load_public_key(pubkey_path) if pubkey_path else None
    verdict = _predict(job, opts).verify(key, public_key, margin=not no_margin)
    ok = verdict.passed
    statuses = [status_of(c) for c in verdict.checks]
    result = {"job": job, "ok": ok, "checks": verdict.checks, "verified": statuses.count("ok"),
              "unchecked": statuses.count("unchecked"), "warnings": statuses.count("warning")}
    emit(result, opts["as_json"], str(verdict) if verdict.checks else verdict.summary)
    if not ok:
        sys.exit(1)
