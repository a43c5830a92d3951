"""The `lasergen` command line (click). Thin: each command parses options and calls the library.

Every command takes `--json` (one JSON object on stdout). Bad input is one line on stderr
and exit code 2, never a traceback. Commands that reach devices or the simulator live in
their own modules and are registered at the bottom, one line each.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import click

from . import LasergenError, __version__


class Group(click.Group):
    """Turns LasergenError (and bad files) into a one-line message and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LasergenError as exc:
            fail(str(exc))
        except (OSError, MemoryError) as exc:
            if os.environ.get("LASERGEN_DEBUG"):
                raise
            fail(f"{type(exc).__name__}: {exc}")


def fail(message: str, code: int = 2):
    click.echo(f"lasergen: error: {message.splitlines()[0] if message else 'failed'}", err=True)
    sys.exit(code)


def emit(result: dict, as_json: bool, text: str):
    if as_json:
        click.echo(json.dumps(result, sort_keys=True))
    else:
        click.echo(text)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")(f)


def machine_option(f):
    return click.option("--machine", default="default", show_default=True,
                        help="Machine profile: built-in name or TOML file.")(f)


def parse_pair(text: str, what: str) -> tuple[float, float]:
    try:
        a, b = (float(v) for v in text.split(","))
        return a, b
    except ValueError:
        raise LasergenError(f"{what} must be two numbers 'X,Y', got {text!r}") from None


def recipe_options(f):
    """The per-job recipe: pulse energy, rep rate, raster or dots, passes, placement."""
    options = [
        click.option("--energy-uj", type=float, default=200.0, show_default=True, help="Pulse energy (uJ)."),
        click.option("--rep-rate-khz", type=float, default=10.0, show_default=True, help="Repetition rate (kHz)."),
        click.option("--mode", type=click.Choice(["raster", "dots"]), default="raster", show_default=True),
        click.option("--speed-mm-s", type=float, default=0.4, show_default=True, help="Raster scan speed."),
        click.option("--line-pitch-um", type=float, default=None, help="Raster line pitch (default: pixel pitch)."),
        click.option("--dwell-s", type=float, default=1.5, show_default=True, help="Dwell per dot (dots mode)."),
        click.option("--passes", type=int, default=1, show_default=True),
        click.option("--origin", default="10,10", show_default=True, help="Machine X,Y (mm) of the bottom-left corner."),
        click.option("--material", type=click.Choice(["Br", "BrI", "I"]), default="BrI", show_default=True),
        machine_option,
        json_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def recipe_from(opts: dict):
    from .recipe import Recipe

    return Recipe(energy_uJ=opts["energy_uj"], rep_rate_kHz=opts["rep_rate_khz"], mode=opts["mode"],
                  speed_mm_s=opts["speed_mm_s"], line_pitch_um=opts["line_pitch_um"], dwell_s=opts["dwell_s"],
                  passes=opts["passes"])


def write_artwork_job(art, out: str, opts: dict, name: str):
    from .build import plan_to_file, single_layer_pattern, summary
    from .machine import MachineProfile

    machine = MachineProfile.load(opts["machine"])
    pattern = single_layer_pattern(art, recipe_from(opts), parse_pair(opts["origin"], "--origin"), name)
    manifest = plan_to_file(pattern, out, machine, opts["material"])
    result = summary(manifest, out)
    emit(result, opts["as_json"], f"wrote {out}: {result['marks']} marks, {result['passes']} pass(es), "
                                  f"estimated {result['time_s']:.1f} s")


@click.group(cls=Group)
@click.version_option(__version__)
def main():
    """Plan, stream and simulate femtosecond-laser writing of luminescent patterns in glass."""


@main.command()
@click.argument("text")
@click.option("-o", "--out", required=True, help="Job file to write (.gcode).")
@click.option("--module-um", type=float, default=20.0, show_default=True, help="Module size (um).")
@click.option("--error", "error_level", type=click.Choice(list("LMQH"), case_sensitive=False), default="M",
              show_default=True)
@click.option("--version", "qr_version", default="auto", show_default=True, help="1..40, M1..M4 or auto.")
@click.option("--mask", "qr_mask", type=int, default=None, help="Mask pattern (default: best, recorded in the job).")
@click.option("--micro", type=click.Choice(["no", "yes", "auto"]), default="no", show_default=True)
@click.option("--quiet-zone", type=int, default=None, help="Quiet zone in modules (default 4, Micro QR 2).")
@click.option("--hidden-key", type=click.Path(dir_okay=False), default=None,
              help="Key file: rewrite a keyed hidden subset of the dark modules.")
@click.option("--sign", type=click.Path(dir_okay=False), default=None, help="Ed25519 private key (PEM): sign TEXT.")
@recipe_options
def qr(text, out, module_um, error_level, qr_version, qr_mask, micro, quiet_zone, hidden_key, sign, **opts):
    """A QR code job for TEXT (optionally signed and with a keyed hidden layer)."""
    from .sources import make_artwork

    if hidden_key or sign:
        from .cli_security import write_tag_job
        return write_tag_job(text, out, opts, hidden_key, sign, module_um, error_level, qr_version, qr_mask, quiet_zone)

    art = make_artwork({"kind": "qr", "data": text, "error": error_level, "version": qr_version, "mask": qr_mask,
                        "micro": {"no": False, "yes": True, "auto": "auto"}[micro], "module_um": module_um,
                        "quiet_zone": quiet_zone})
    write_artwork_job(art, out, opts, "qr")


@main.command()
@click.argument("image", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, help="Job file to write (.gcode).")
@click.option("--pixel-um", type=float, default=None, help="Pixel pitch (um); default 20, or from --width-um.")
@click.option("--width-um", type=float, default=None, help="Target width (um); resamples when --pixel-um is given.")
@click.option("--threshold", type=float, default=0.5, show_default=True, help="Darkness threshold 0..1.")
@click.option("--dither", type=click.Choice(["none", "floyd-steinberg", "ordered"]), default="none", show_default=True)
@click.option("--invert", is_flag=True, help="Expose light pixels instead of dark ones.")
@recipe_options
def bitmap(image, out, pixel_um, width_um, threshold, dither, invert, **opts):
    """A bitmap job from IMAGE (dark pixels are written)."""
    from .sources import make_artwork

    art = make_artwork({"kind": "bitmap", "path": str(Path(image).resolve()), "pixel_um": pixel_um,
                        "width_um": width_um, "threshold": threshold, "dither": dither, "invert": invert})
    write_artwork_job(art, out, opts, "bitmap")


@main.command()
@click.argument("spec", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, help="Job file to write (.gcode).")
@click.option("--material", type=click.Choice(["Br", "BrI", "I"]), default=None, help="Overrides the spec's.")
@machine_option
@json_option
def pattern(spec, out, material, machine, as_json):
    """Any pattern from a TOML spec file, multi-level included."""
    from .build import plan_to_file, summary
    from .machine import MachineProfile
    from .spec import pattern_from_file

    pat = pattern_from_file(spec)
    manifest = plan_to_file(pat, out, MachineProfile.load(machine), material)
    result = summary(manifest, out)
    emit(result, as_json, f"wrote {out}: {result['marks']} marks in {result['passes']} pass(es), "
                          f"estimated {result['time_s']:.1f} s")


@main.command()
@click.argument("job", type=click.Path(dir_okay=False))
@click.option("--no-checksum", is_flag=True, help="Accept a body edited after planning.")
@machine_option
@json_option
def estimate(job, no_checksum, machine, as_json):
    """Time, distance, mark count and bounds of a job, from its G-code (GRBL planner model)."""
    from .job import read_job
    from .machine import MachineProfile
    from .motion import estimate as estimate_path

    prof = MachineProfile.load(machine)
    parsed = read_job(Path(job), prof, check_sum=not no_checksum)
    result = estimate_path(parsed.toolpath, prof)
    result["job"] = job
    m = int(result["time_s"] // 60)
    b = result["bounds_mm"]
    emit(result, as_json,
         f"{job}: {m} min {result['time_s'] - 60 * m:.1f} s "
         f"(writing {result['mark_time_s'] + result['dwell_time_s']:.1f} s, travel {result['travel_time_s']:.1f} s, "
         f"blank {result['blank_time_s']:.1f} s); {result['mark_count']} marks, "
         f"{result['distance_mm']:.1f} mm moved; marks within X {b[0]:.3f}..{b[2]:.3f}, Y {b[1]:.3f}..{b[3]:.3f} mm")


@main.command()
@click.option("--out", default="demo_out", show_default=True, help="Folder for the jobs, renders and report.")
@json_option
def demo(out, as_json):
    """The main job on built-in defaults: QR + three-level pattern, end to end on the simulator."""
    from .demo import run_demo

    result = run_demo(Path(out))
    emit(result, as_json, "\n".join(result["log"]))


from . import cli_security  # noqa: E402  (security commands, one line each)

main.add_command(cli_security.encrypt)
main.add_command(cli_security.batch)
main.add_command(cli_security.check_photo)
main.add_command(cli_security.keygen)


from .cli_device import sim, stream  # noqa: E402  (device commands: drivers/hardware_sim imported lazily)

main.add_command(stream)
main.add_command(sim)


# -- simulator commands: thin wrappers over hardware_sim (imported lazily) -------------------------
def sim_options(f):
    options = [
        click.option("--material", type=click.Choice(["Br", "BrI", "I"]), default=None,
                     help="Glass (default: the job's, else BrI)."),
        click.option("--heat-treat", "heat_treat_c", type=float, default=None, help="Heat treatment after writing (C)."),
        click.option("--heat-treat-hours", type=float, default=2.0, show_default=True),
        click.option("--measure-c", type=float, default=25.0, show_default=True, help="Sample temperature when viewed (C)."),
        click.option("--pitch-um", type=float, default=2.0, show_default=True, help="Simulation grid pitch (um)."),
        click.option("--um-per-px", type=float, default=None, help="Render scale (default: grid pitch, or whole mark)."),
        click.option("--whole-mark", is_flag=True, help="Fit the whole mark into the render (max 2048 px)."),
        click.option("--filter-edge-nm", type=float, default=None, help="Filtered view: long-pass edge or band centre (645)."),
        click.option("--filter-width-nm", type=float, default=None, help="Filtered view: edge width (3 nm)."),
        click.option("--bandpass-nm", type=float, default=None, help="Filtered view: band-pass of this full width."),
        click.option("--no-checksum", is_flag=True, help="Accept a body edited after planning."),
        machine_option,
        json_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def _simulate_job(job: str, opts: dict):
    from hardware_sim.simulate import simulate_job

    return simulate_job(job, opts["machine"], opts["material"], check_sum=not opts["no_checksum"],
                        heat_treat_c=opts["heat_treat_c"], heat_treat_hours=opts["heat_treat_hours"],
                        measure_c=opts["measure_c"], pitch_um=opts["pitch_um"],
                        filter_edge_nm=opts["filter_edge_nm"], filter_width_nm=opts["filter_width_nm"],
                        bandpass_nm=opts["bandpass_nm"])


@main.command("simulate")
@click.argument("job", type=click.Path(dir_okay=False))
@click.option("--out", required=True, help="Folder for daylight.png, uv365.png, uv365_lp645.png, report.json.")
@sim_options
def simulate_command(job, out, **opts):
    """Predict the written glass from a job's G-code: renders and report.json."""
    from hardware_sim.simulate import write_outputs

    prediction, _ = _simulate_job(job, opts)
    report = write_outputs(prediction, out, opts["um_per_px"], opts["whole_mark"])
    g, r = report["phases"]["green"], report["phases"]["red"]
    fmt = lambda v: "-" if v is None else f"{v:.1f} nm"
    text = (f"{job} on {report['material']['name']}: green {fmt(g['peak_nm'])} ({g['integrated']:.3g}), "
            f"red {fmt(r['peak_nm'])} ({r['integrated']:.3g}), crystallized {report['crystallized_area_um2']:.0f} um^2; "
            f"renders in {out}: {', '.join(report['renders'].values())}")
    emit(report, opts["as_json"], "\n".join([text] + [f"warning: {w}" for w in report["warnings"]]))


@main.command("verify")
@click.argument("job", type=click.Path(dir_okay=False))
@click.option("--no-margin", is_flag=True, help="Skip the blur/noise decode-margin search.")
@click.option("--key", "key_path", default=None, help="Hidden-layer key file for keyed tags (else $LASERGEN_KEY).")
@click.option("--pubkey", "pubkey_path", default=None, help="Ed25519 public key (PEM) for signed tags "
                                                            "(else $LASERGEN_PUBKEY).")
@sim_options
def verify_command(job, no_margin, key_path, pubkey_path, **opts):
    """Simulate a job, then check each view against what the job promises (exit 1 on failure)."""
    from hardware_sim.verify import check_job

    from .security.hidden import load_key
    from .security.signing import load_public_key

    key = load_key(key_path) if key_path else None
    public_key = load_public_key(pubkey_path) if pubkey_path else None
    prediction, manifest = _simulate_job(job, opts)
    checks = check_job(prediction, manifest, key, public_key, margin=not no_margin)
    ok = all(c["ok"] for c in checks)
    result = {"job": job, "ok": ok, "checks": checks}

    def line(c):
        margin = c.get("margin") or {}
        extra = f" (survives blur {margin['blur_sigma_um']:g} um, noise {margin['noise_sigma']:g})" if margin else ""
        return f"{'ok  ' if c['ok'] else 'FAIL'} {c['message']}{extra}"

    lines = [line(c) for c in checks] or ["nothing to verify: the job promises nothing checkable"]
    emit(result, opts["as_json"], "\n".join(lines))
    if not ok:
        sys.exit(1)
