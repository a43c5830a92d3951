"""CLI commands for security marks: encrypt, batch, check-photo, keygen (and keyed/signed `qr`).

Thin, like the rest of the CLI: each command parses options and calls the library. Keys are
read from files (or $LASERGEN_KEY) and never echoed, logged or written into a job.
`check-photo` exits 0 for a genuine tag (a cryptographic check passed), 1 for anything else
(rejected, no signature, or decoded but not authenticated), 2 for bad input.
"""

from __future__ import annotations

import os
import sys
from contextlib import contextmanager, nullcontext
from pathlib import Path

import click

from lasergen import LasergenError
from lasergen_cli.common import (
    Number,
    Pair,
    emit,
    json_option,
    machine_option,
    main,
    max_hours_option,
    output_file,
    parse_pair,
    sanity_check,
)
from lasergen_cli.registry_hooks import record_scan, scan_options

MATERIALS = ["Br", "BrI", "I"]


def heat_treat_options(f):
    f = click.option("--filter-nm", type=Number("wavelength_nm"), default=645.0, show_default=True,
                     help="Long-pass edge of the level-3 filter (nm), for the physics check.")(f)
    f = click.option("--heat-treat-hours", type=Number("hours"), default=2.0, show_default=True,
                     help="Duration of the planned heat treatment (hours).")(f)
    return click.option("--heat-treat", "heat_treat_c", type=Number("temperature_c"), default=None,
                        help="Planned heat treatment (°C) after writing, checked against the levels with the "
                             "simulator (default: none).")(f)


def process_warnings(material, heat_treat_c, hours, filter_nm, recipes=None) -> list[dict]:
    """Simulator-backed warnings; none (and a note) when the simulator is not installed."""
    try:
        import hardware_sim.glass.simulate  # noqa: F401
        from hardware_sim.glass.process_advice import level_warnings
    except ImportError:
        return [{"level": "-", "message": "simulator not available: process not checked", "suggest": {}}]
    return level_warnings(material, heat_treat_c, hours, filter_nm, recipes)


PLAIN_MODULE_UM = 20.0
FALLBACK_KEYED_MODULE_UM = 60.0  # without the simulator: the size its model isolated at the paper's recipe


def keyed_module_um(module_um: float | None, material: str, recipes=None, accept_spill: bool = False) -> tuple:
    """(module size, note) for a keyed tag. A keyed tag whose rewrite spills into neighbouring
    modules cannot pass its own check-photo, so: none given -> the smallest size on the ladder
    whose rewrite stays inside its module (the simulator's melt zone), said in the note; one given
    that spills -> refused (unless accept_spill). Simulator-backed; without it, a fixed size."""
    try:
        import hardware_sim.glass.simulate  # noqa: F401
        from hardware_sim.glass.process_advice import MODULE_LADDER_UM, SPILL_MAX, rewrite_spill
    except ImportError:
        if module_um is None:
            return FALLBACK_KEYED_MODULE_UM, (f"keyed tag: {FALLBACK_KEYED_MODULE_UM:g} um modules (simulator not "
                                              f"available: rewrite spill not checked)")
        return module_um, "simulator not available: rewrite spill not checked"
    if module_um is not None:
        spill = rewrite_spill(module_um, material, recipes)
        if spill <= SPILL_MAX or accept_spill:
            return module_um, (None if spill <= SPILL_MAX else
                               f"the rewrite of one {module_um:g} um module makes a neighbour glow at {spill:.0%} of it "
                               f"behind the filter: the keyed modules will blur (accepted with --accept-spill)")
        better = next((m for m in MODULE_LADDER_UM if m > module_um
                       and rewrite_spill(m, material, recipes) <= SPILL_MAX), None)
        advice = f"use --module-um {better:g} or more" if better else "lower the rewrite energy"
        raise LasergenError(f"a keyed tag with {module_um:g} um modules cannot pass its own check: the rewrite of one "
                            f"module makes a neighbour glow at {spill:.0%} of it behind the filter (at most "
                            f"{SPILL_MAX:.0%}); {advice}, or pass --accept-spill to write it anyway")
    tried = []
    for size in MODULE_LADDER_UM:
        spill = rewrite_spill(size, material, recipes)
        if spill <= SPILL_MAX:
            note = (f"keyed tag: {size:g} um modules chosen, the smallest at which a rewrite stays inside its module "
                    f"(neighbour glow {spill:.0%} <= {SPILL_MAX:.0%}"
                    + (f"; {tried[0][0]:g} um would spill {tried[0][1]:.0%}" if tried else "")
                    + "); pass --module-um to choose another")
            return size, note
        tried.append((size, spill))
    raise LasergenError(f"no module size up to {MODULE_LADDER_UM[-1]:g} um keeps a keyed rewrite inside its module "
                        f"on {material}; lower the rewrite energy or pass --module-um with --accept-spill")


def echo_warnings(warnings: list[dict]) -> None:
    for w in warnings:
        click.echo(f"lasergen: {w.get('kind', 'warning')}: {w['message']}", err=True)


def write_tag_job(text: str, out: str, opts: dict, hidden_key_path: str | None, sign_path: str | None,
                  module_um: float | None, error_level: str, qr_version, qr_mask, quiet_zone,
                  accept_spill: bool = False) -> None:
    """`lasergen qr --hidden-key/--sign`: a keyed and/or signed tag job."""
    from lasergen.build import at_depth, plan_to_file, summary
    from lasergen.machine import MachineProfile
    from lasergen.security.hidden import load_key
    from lasergen.security.signing import load_private_key
    from lasergen.security.tag import TagOptions, tag_pattern
    from lasergen_cli.common import recipe_from

    sign_key = load_private_key(sign_path) if sign_path else None
    key = load_key(hidden_key_path) if hidden_key_path else None
    recipe = recipe_from(opts)
    recipes = {"write": recipe, "rewrite": recipe}
    notes = []
    if key is not None:
        chosen = module_um is None
        module_um, note = keyed_module_um(module_um, opts["material"], recipes, accept_spill)
        notes += [{"message": note, "kind": "note" if chosen else "warning"}] if note else []
    module_um = PLAIN_MODULE_UM if module_um is None else module_um
    tag_opts = TagOptions(module_um=module_um, error=error_level.upper(),
                          version=None if qr_version in (None, "auto") else qr_version, mask=qr_mask,
                          quiet_zone=4 if quiet_zone is None else quiet_zone,
                          origin_mm=parse_pair(opts["origin"], "--origin"))
    pattern = at_depth(tag_pattern(text, tag_opts, sign_key, key, recipes, opts["material"]), opts.get("depth_um"))
    warnings = notes
    manifest = plan_to_file(pattern, out, MachineProfile.load(opts["machine"]), opts["material"])
    result = summary(manifest, out)
    result["warnings"] = [w["message"] for w in warnings]
    sanity_check(pattern, manifest, opts["material"], opts.get("max_hours"), result)
    echo_warnings(warnings)
    result.update({"payload_chars": len(pattern.meta["payload"]), "version": pattern.meta["version"],
                   "module_um": module_um,
                   "signed": sign_key is not None,
                   "hidden_modules": pattern.meta.get("hidden", {}).get("modules", 0)})
    emit(result, opts["as_json"], f"wrote {out}: QR version {result['version']}, {result['marks']} marks, "
                                  f"{result['passes']} pass(es), estimated {result['time_s']:.1f} s"
                                  + (", signed" if sign_key else "")
                                  + (f", {result['hidden_modules']} hidden modules" if key else ""))


@main.command()
@click.option("--uv", "uv_image", required=True, type=click.Path(dir_okay=False), help="What glows under 365 nm UV.")
@click.option("--filtered", "filtered_image", required=True, type=click.Path(dir_okay=False),
              help="What glows behind the long-pass filter (must lie inside --uv).")
@click.option("-o", "--out", required=True, callback=output_file, help="Job file to write (.gcode).")
@click.option("--pixel-um", type=Number("pitch_um"), default=20.0, show_default=True, help="Pixel pitch of both images (um).")
@click.option("--threshold", type=Number("threshold"), default=0.5, show_default=True, help="Darkness threshold 0..1.")
@click.option("--invert", is_flag=True, help="Expose light pixels instead of dark ones.")
@click.option("--accept-leak", is_flag=True, help="Write filtered-only pixels too (they then glow under UV).")
@click.option("--origin", type=Pair("origin_mm"), default="10,10", show_default=True, help="Machine X,Y (mm) of the bottom-left corner.")
@click.option("--material", type=click.Choice(MATERIALS), default="BrI", show_default=True,
              help="Glass the job is planned for (see `lasergen materials`).")
@heat_treat_options
@machine_option
@max_hours_option
@json_option
def encrypt(uv_image, filtered_image, out, pixel_um, threshold, invert, accept_leak, origin, material, heat_treat_c,
            heat_treat_hours, filter_nm, machine, max_hours, as_json):
    """A three-level job from two images: UV view and filtered view (daylight shows nothing)."""
    from lasergen.build import plan_to_file, summary
    from lasergen.machine import MachineProfile
    from lasergen.spec import pattern_from_spec

    source = lambda p: {"kind": "bitmap", "path": str(Path(p).resolve()), "pixel_um": pixel_um,
                        "threshold": threshold, "invert": invert}
    spec = {"pattern": {"origin_mm": list(parse_pair(origin, "--origin")), "material": material},
            "levels": {"daylight": "nothing", "accept_leak": accept_leak, "uv365": {"source": source(uv_image)},
                       f"uv365_lp{filter_nm:g}": {"source": source(filtered_image)}}}
    pattern = pattern_from_spec(spec)
    warnings = process_warnings(material, heat_treat_c, heat_treat_hours, filter_nm) if heat_treat_c is not None else []
    manifest = plan_to_file(pattern, out, MachineProfile.load(machine), material)
    result = summary(manifest, out)
    result["levels"] = {k: v.get("pixels") for k, v in pattern.meta["levels"]["views"].items()}
    result["leak_px"] = pattern.meta["levels"]["leak_px"]
    result["warnings"] = [w["message"] for w in warnings]
    sanity_check(pattern, manifest, material, max_hours, result)
    echo_warnings(warnings)  # stderr: the JSON on stdout stays clean
    emit(result, as_json, f"wrote {out}: {result['levels']['uv365']} px written, "
                          f"{result['levels'].get(f'uv365_lp{filter_nm:g}', 0)} rewritten, "
                          f"estimated {result['time_s']:.1f} s")


@main.command()
@click.option("--serials", "template", required=True,
              help="printf template with one zero-padded integer counter, e.g. SN-%07d.")
@click.option("--count", type=Number("count"), required=True, help="How many serials, from --start on.")
@click.option("--start", type=Number("start"), default=0, show_default=True, help="First counter value.")
@click.option("--sign", "sign_path", type=click.Path(dir_okay=False), default=None,
              help="Ed25519 private key (PEM) to sign each serial with (default: unsigned).")
@click.option("--hidden-key", "hidden_key_path", default=None, help="Hidden-layer key file (else $LASERGEN_KEY if "
              "--hidden is given).")
@click.option("--hidden", is_flag=True, help="Add the keyed hidden layer (key from --hidden-key or $LASERGEN_KEY).")
@click.option("--out", required=True, help="Folder for the jobs and manifest.csv (created; an existing batch folder "
                                           "is appended to).")
@click.option("--layout", type=click.Choice(["pack", "files"]), default="pack", show_default=True,
              help="pack: all jobs in one file, OUT/jobs.lgpack (~2 KB a tag; `lasergen registry job` extracts one); "
                   "files: one .gcode file per tag (~17 KB each).")
@click.option("--module-um", type=Number("module_um"), default=None,
              help="QR module size (um; default 20, keyed: the smallest whose rewrite stays inside its module).")
@click.option("--accept-spill", is_flag=True, help="Keyed: write a module size whose rewrite spills (cannot verify).")
@click.option("--error", "error_level", type=click.Choice(list("LMQH"), case_sensitive=False), default="M",
              show_default=True, help="QR error-correction level.")
@click.option("--workers", type=Number("workers"), default=2, show_default=True, help="Local worker processes (process/thread).")
@click.option("--executor", default="process", show_default=True,
              help="Where planning runs: process (local pool), thread, or dask://HOST:PORT (a Dask distributed "
                   "scheduler; dask+tls:// over TLS). The signing key stays here; a hidden key travels to the workers.")
@click.option("--registry", "registry_opt", default=None,
              help="Tag registry (SQLite file or postgresql:// URL; default $LASERGEN_REGISTRY, else none): serials "
                   "it already issued are skipped, the rest claimed atomically.")
@click.option("--station", default=None, help="This station's name (default $LASERGEN_STATION, else the host name).")
@click.option("--progress/--no-progress", default=None, help="Progress bar on stderr (default: on a terminal).")
@click.option("--origin", type=Pair("origin_mm"), default="10,10", show_default=True, help="Machine X,Y (mm) of the tag's bottom-left corner.")
@click.option("--material", type=click.Choice(MATERIALS), default="BrI", show_default=True,
              help="Glass the jobs are planned for (see `lasergen materials`).")
@machine_option
@json_option
def batch(template, count, start, sign_path, hidden_key_path, hidden, out, layout, module_um, accept_spill, error_level,
          workers, executor, registry_opt, station, progress, origin, material, machine, as_json):
    """Unique serials, signed (and optionally keyed), planned in parallel into one folder with manifest.csv."""
    from lasergen.batch import BatchConfig, SerialRange, run_batch
    from lasergen.batch.folder import BatchFolder
    from lasergen.registry import registry_target, station_name
    from lasergen.security.hidden import load_key
    from lasergen.security.signing import load_private_key, private_pem
    from lasergen.security.tag import TagOptions
    from lasergen_cli.registry import opened

    names = SerialRange(template, start, count)
    sign_pem = private_pem(load_private_key(sign_path)) if sign_path else None
    key = load_key(hidden_key_path) if (hidden or hidden_key_path) else None
    note = None
    if key is not None:
        module_um, note = keyed_module_um(module_um, material, None, accept_spill)
    module_um = PLAIN_MODULE_UM if module_um is None else module_um
    config = BatchConfig(Path(out), TagOptions(module_um=module_um, error=error_level.upper(),
                                               origin_mm=parse_pair(origin, "--origin")),
                         machine, material, sign_pem, key, layout, station_name(station))
    BatchFolder(config.out_dir, layout).check()
    warnings = [{"message": note}] if note else []
    echo_warnings(warnings)  # stderr: the JSON on stdout stays clean
    target = registry_target(registry_opt)
    show_bar = sys.stderr.isatty() if progress is None else progress
    with (opened(target) if target else nullcontext()) as reg, _progress_bar(count, show_bar) as tick:
        result = run_batch(names, config, workers=workers, executor=executor, registry=reg, progress=tick)
        result["registry"] = reg.where if reg is not None else None
    result["warnings"] = [w["message"] for w in warnings]
    where = result["pack"] or f"{out} (one file per tag)"
    skipped = f"; {result['skipped']} already issued, skipped" if result["skipped"] else ""
    emit(result, as_json, f"issued {result['jobs']} of {result['requested']} serials into {where} in "
                          f"{result['elapsed_s']:.1f} s ({result['jobs_per_minute']:.0f} jobs/min){skipped}; "
                          f"manifest {result['manifest']}")


@contextmanager
def _progress_bar(total: int, show: bool):
    if not show:
        yield None
        return
    from tqdm import tqdm

    with tqdm(total=total, unit="tag", desc="batch", file=sys.stderr) as bar:
        yield lambda done, _total: bar.update(done - bar.n)


@main.command("check-photo")
@click.argument("uv_photo", type=click.Path(dir_okay=False))
@click.argument("filtered_photo", required=False, type=click.Path(dir_okay=False))
@click.option("--key", "key_path", default=None, help="Hidden-layer key file (else $LASERGEN_KEY when set).")
@click.option("--pubkey", "pubkey_path", default=None,
              help="Ed25519 public key (PEM) to check the signature (default: signature not checked).")
@click.option("--fraction", type=Number("fraction"), default=None, help="Hidden-layer fraction used when writing (default 0.375).")
@click.option("--max-megapixels", type=Number("megapixels"), default=None,
              help="Largest photo accepted (Mpx; default 89, a guard against decompression bombs).")
@scan_options
@json_option
def check_photo(uv_photo, filtered_photo, key_path, pubkey_path, fraction, max_megapixels, as_json, **registry):
    """Verify a tag from a UV photo and a filtered photo: decode, signature, hidden modules."""
    from lasergen.security.hidden import DEFAULT_FRACTION, KEY_ENV, load_key
    from lasergen.security.signing import load_public_key
    from lasergen.security.tagcheck import check_photos

    key = load_key(key_path) if (key_path or os.environ.get(KEY_ENV)) else None
    pub = load_public_key(pubkey_path) if pubkey_path else None
    if key is not None and filtered_photo is None:
        raise LasergenError("check-photo: the hidden-layer check needs the filtered photo as second argument")
    result = check_photos(uv_photo, filtered_photo, key, pub, fraction or DEFAULT_FRACTION, max_megapixels)
    record_scan(result, registry["registry_opt"], registry["registry_station"], registry["place"])
    emit(result, as_json, result["verdict"])
    sys.exit(0 if result["ok"] else 1)


@main.command()
@click.option("--out", default="keys", show_default=True, help="Folder for the keys.")
@click.option("--force", is_flag=True, help="Overwrite existing key files.")
@json_option
def keygen(out, force, as_json):
    """Write ed25519.pem (private), ed25519.pub.pem (public) and hidden.key (32 random bytes)."""
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from lasergen.security.hidden import key_id, new_key
    from lasergen.security.signing import private_pem, public_pem

    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    private = Ed25519PrivateKey.generate()
    key = new_key()
    files = {"ed25519.pem": (private_pem(private), 0o600), "ed25519.pub.pem": (public_pem(private), 0o644),
             "hidden.key": (key, 0o600)}
    existing = [name for name in files if (folder / name).exists()]
    if existing and not force:
        raise LasergenError(f"keygen: {', '.join(existing)} already exist in {folder} (use --force to replace)")
    for name, (data, mode) in files.items():
        path = folder / name
        path.unlink(missing_ok=True)  # only reached with --force; a new file never inherits an old mode
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)  # O_EXCL: never write through a race
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.chmod(path, mode)  # exact, whatever the umask
    result = {"out": str(folder), "files": sorted(files), "hidden_key_id": key_id(key)}
    emit(result, as_json, f"wrote {', '.join(str(folder / n) for n in files)} (hidden key id {result['hidden_key_id']})")
