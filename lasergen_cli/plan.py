"""Planning commands: qr, text, bitmap, pattern, estimate. Each parses options and calls the library."""

from __future__ import annotations


import click

from lasergen import LasergenError

from lasergen_cli.common import (
    Number,
    emit,
    job_file,
    job_machine_option,
    json_option,
    machine_option,
    main,
    max_hours_option,
    output_file,
    parse_pair,
    recipe_from,
    recipe_options,
    sanity_check,
    warn,
)


def depth_range(text: str) -> list[float]:
    """'100:400:100' (first:last:step, last included) or '100,250,400': depths in um."""
    from lasergen.quantities import checked

    parts = text.split(":")
    try:
        if len(parts) == 3:
            first, last, step = (float(p) for p in parts)
            if not step > 0 or not last >= first:
                raise ValueError
            count = int(round((last - first) / step)) + 1
            if count > 10_000 or abs(first + (count - 1) * step - last) > 1e-6 * max(1.0, abs(step)):
                raise ValueError
            values = [first + i * step for i in range(count)]
        elif len(parts) == 1:
            values = [float(p) for p in text.split(",")]
        else:
            raise ValueError
    except ValueError:
        raise LasergenError(f"--depths-um {text!r}: give FIRST:LAST:STEP (um, LAST reached in whole steps) "
                            f"or a list D1,D2,...") from None
    return [checked("depth_um", round(v, 6), "--depths-um") for v in values]


def write_pattern_job(pattern, out: str, opts: dict, material=None) -> dict:
    """Plan a Pattern through the public API, save the job, warn; returns the summary."""
    from lasergen.build import summary

    job = pattern.plan(opts["machine"], material or opts.get("material"))
    job.save(out)
    result = summary(job.manifest, out)
    sanity_check(job.pattern, job.manifest, material or opts.get("material") or pattern.meta.get("material"),
                 opts.get("max_hours"), result)
    return result


def write_source_job(pattern, out: str, opts: dict):
    result = write_pattern_job(pattern, out, opts)
    emit(result, opts["as_json"], f"wrote {out}: {result['marks']} marks, {result['passes']} pass(es), "
                                  f"estimated {result['time_s']:.1f} s")


def write_artwork_job(art, out: str, opts: dict, name: str, recipe=None):
    """An Artwork of a source the public API has no function for (dxf, gds, points) as a job."""
    from lasergen.build import single_layer_pattern

    pattern = single_layer_pattern(art, recipe or recipe_from(opts), parse_pair(opts["origin"], "--origin"), name,
                                   opts.get("depth_um"))
    write_source_job(pattern, out, opts)


def placed(opts: dict) -> dict:
    """The recipe, origin and depth options as the public sources' keywords."""
    return {"recipe": recipe_from(opts), "origin_mm": parse_pair(opts["origin"], "--origin"),
            "depth_um": opts.get("depth_um")}


@main.command()
@click.argument("text")
@click.option("-o", "--out", required=True, callback=output_file, help="Job file to write (.gcode).")
@click.option("--module-um", type=Number("module_um"), default=None,
              help="Module size (um; default 20; with --hidden-key the smallest whose rewrite stays in its module).")
@click.option("--accept-spill", is_flag=True,
              help="With --hidden-key: write a module size whose rewrite spills into neighbours (it cannot verify).")
@click.option("--error", "error_level", type=click.Choice(list("LMQH"), case_sensitive=False), default="M",
              show_default=True, help="QR error correction: L 7 %, M 15 %, Q 25 %, H 30 % of the code may be lost.")
@click.option("--version", "qr_version", default="auto", show_default=True, help="1..40, M1..M4 or auto.")
@click.option("--mask", "qr_mask", type=Number("qr_mask"), default=None, help="Mask pattern (default: best, recorded in the job).")
@click.option("--micro", type=click.Choice(["no", "yes", "auto"]), default="no", show_default=True,
              help="Micro QR: never, always, or when the payload fits.")
@click.option("--quiet-zone", type=Number("quiet_zone"), default=None, help="Quiet zone in modules (default 4, Micro QR 2).")
@click.option("--hidden-key", type=click.Path(dir_okay=False), default=None,
              help="Key file: rewrite a keyed hidden subset of the dark modules (default: no hidden layer).")
@click.option("--sign", type=click.Path(dir_okay=False), default=None,
              help="Ed25519 private key (PEM) to sign TEXT with (default: unsigned).")
@recipe_options
def qr(text, out, module_um, accept_spill, error_level, qr_version, qr_mask, micro, quiet_zone, hidden_key, sign,
       **opts):
    """A QR code job for TEXT (optionally signed and with a keyed hidden layer)."""
    import lasergen

    if hidden_key or sign:
        from lasergen_cli.security import write_tag_job
        return write_tag_job(text, out, opts, hidden_key, sign, module_um, error_level, qr_version, qr_mask, quiet_zone,
                             accept_spill)

    pattern = lasergen.qr(text, 20.0 if module_um is None else module_um, error_level, qr_version, qr_mask,
                          {"no": False, "yes": True, "auto": "auto"}[micro], quiet_zone, **placed(opts))
    write_source_job(pattern, out, opts)


@main.command()
@click.argument("text")
@click.option("-o", "--out", required=True, help="Job file to write (.gcode).")
@click.option("--height-um", type=Number("height_um"), default=1000.0, show_default=True, help="Cap height of the letters (um).")
@click.option("--pixel-um", type=Number("pitch_um"), default=20.0, show_default=True, help="Grid pitch the letters are drawn on (um).")
@click.option("--font", default=None, type=click.Path(dir_okay=False),
              help="TrueType/OpenType font file (default: DejaVu Sans Bold if installed, else Pillow's own).")
@click.option("--margin-um", type=Number("margin_um"), default=0.0, show_default=True, help="Blank border around the ink (um).")
@recipe_options
def text(text, out, height_um, pixel_um, font, margin_um, **opts):
    """A job that writes TEXT (the paper's E/F marks are letters), never mirrored."""
    import lasergen

    write_source_job(lasergen.text(text, height_um, pixel_um, font, margin_um, **placed(opts)), out, opts)


@main.command()
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, callback=output_file, help="Job file to write (.gcode).")
@click.option("--pixel-um", type=Number("pitch_um"), default=None, help="Pixel pitch (um); default 20, or from --width-um.")
@click.option("--width-um", type=Number("width_um"), default=None, help="Target width (um); resamples when --pixel-um is given.")
@click.option("--threshold", type=Number("threshold"), default=0.5, show_default=True, help="Darkness threshold 0..1.")
@click.option("--dither", type=click.Choice(["none", "floyd-steinberg", "ordered"]), default="none", show_default=True,
              help="How grey levels become written and blank pixels.")
@click.option("--invert", is_flag=True, help="Expose light pixels instead of dark ones.")
@click.option("--page", type=Number("page"), default=None,
              help="Page of a multi-page image (TIFF, GIF) to write, from 0; required for such files.")
@click.option("--max-megapixels", type=Number("megapixels"), default=None,
              help="Largest image accepted (Mpx; default 89, a guard against decompression bombs).")
@click.option("--depths-um", default=None, metavar="FIRST:LAST:STEP|D1,D2,..",
              help="A multi-page image (TIFF stack) written one page per depth, in page order (um below the surface).")
@recipe_options
def bitmap(image, out, pixel_um, width_um, threshold, dither, invert, page, max_megapixels, depths_um, **opts):
    """A bitmap job from IMAGE (dark pixels are written); a TIFF stack in depth with --depths-um."""
    import lasergen

    depths = None if depths_um is None else depth_range(depths_um)
    if depths is not None and opts.get("depth_um") is not None:
        raise LasergenError("give --depth-um (one plane) or --depths-um (one depth per page), not both")
    pattern = lasergen.bitmap(image, pixel_um, width_um, threshold, dither, invert, page, max_megapixels,
                              depths_um=depths, **placed(opts))
    write_source_job(pattern, out, opts)


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, callback=output_file, help="Job file to write (.gcode).")
@click.option("--material", type=click.Choice(["Br", "BrI", "I"]), default=None,
              help="Glass (default: the spec's, else BrI).")
@machine_option
@max_hours_option
@json_option
def pattern(spec, out, material, machine, max_hours, as_json):
    """Any pattern from a TOML spec file, multi-level included."""
    import lasergen

    result = write_pattern_job(lasergen.pattern_from_file(spec), out,
                               {"machine": machine, "max_hours": max_hours}, material)
    emit(result, as_json, f"wrote {out}: {result['marks']} marks in {result['passes']} pass(es), "
                          f"estimated {result['time_s']:.1f} s")


@main.command()
@click.argument("job", type=click.Path(dir_okay=False), callback=job_file)
@click.option("--no-checksum", is_flag=True, help="Accept a body edited after planning.")
@job_machine_option
@json_option
def estimate(job, no_checksum, machine, as_json):
    """Time, distance, mark count and bounds of a job, from its body (the controller's motion model)."""
    import lasergen

    from lasergen_cli.sanity import estimate_warnings

    loaded = lasergen.Job.load(job, machine, check_sum=not no_checksum)
    result = dict(loaded.estimate().figures)  # read in pieces: any size
    used = loaded.machine
    result["warnings"] = estimate_warnings(result)
    for message in result["warnings"]:
        warn(message)
    result["job"] = job
    result["machine"] = used.name
    result["controller"] = used.controller
    m = int(result["time_s"] // 60)
    b = result["bounds_mm"]
    emit(result, as_json,
         f"{job}: {m} min {result['time_s'] - 60 * m:.1f} s "
         f"(writing {result['mark_time_s'] + result['dwell_time_s']:.1f} s, travel {result['travel_time_s']:.1f} s, "
         f"blank {result['blank_time_s']:.1f} s); {result['mark_count']} marks, "
         f"{result['distance_mm']:.1f} mm moved; marks within X {b[0]:.3f}..{b[2]:.3f}, Y {b[1]:.3f}..{b[3]:.3f} mm")


@main.command()
@json_option
def machines(as_json):
    """The built-in machine profiles, with their controller and limits."""
    from lasergen.machine import ALIASES, builtin_profiles

    profiles = {name: prof.summary() for name, prof in builtin_profiles()}
    lines = []
    for name, p in profiles.items():
        alias = [a for a, target in ALIASES.items() if target == name]
        lines.append(f"{name}{' (alias ' + ', '.join(alias) + ')' if alias else ''}: {p['title']}; "
                     f"travel X {p['travel_mm']['x'][0]:g}..{p['travel_mm']['x'][1]:g}, "
                     f"Y {p['travel_mm']['y'][0]:g}..{p['travel_mm']['y'][1]:g} mm; "
                     f"max {max(p['max_rate_mm_s']):g} mm/s, {min(p['accel_mm_s2']):g} mm/s^2; "
                     f"energy by {p['energy']}, gate {p['gate']}"
                     + (f" ({p['gate_latency_ms']:g} ms)" if p["gate_latency_ms"] else ""))
    emit({"machines": profiles, "aliases": dict(ALIASES)}, as_json, "\n".join(lines))
