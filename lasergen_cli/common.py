"""Shared pieces of the command line: the group, error handling, output and common options.

Bad input is one line on stderr and exit code 2, never a traceback (`Group.invoke`, which also
turns click's usage errors into that one line); every command takes `--json` and then prints
one JSON object on stdout (`emit`). Every numeric option is a `Number` (or `Pair`) of a kind in
`lasergen.quantities.QUANTITIES`, so nan, inf and out-of-range values are refused once, here, with
the unit and range in the message. Output files go through `output_file` (its folder must exist).
"""

from __future__ import annotations

import json
import math
import os
import sys
from pathlib import Path

import click

from lasergen import LasergenError, __version__
from lasergen.interrupts import caused_by_ctrl_c


class Group(click.Group):
    """Turns LasergenError (and bad files) into a one-line message and exit code 2."""

    def invoke(self, ctx):
        try:
            return super().invoke(ctx)
        except LasergenError as exc:
            fail(str(exc))
        except KeyboardInterrupt:  # click would print "Aborted!" and exit 1
            fail("interrupted (Ctrl-C)")
        except RuntimeError as exc:  # a Ctrl-C that landed in a class's set-up arrives wrapped
            if not caused_by_ctrl_c(exc):
                raise
            fail("interrupted (Ctrl-C)")
        except click.BadParameter as exc:
            if exc.param is None or isinstance(exc, click.MissingParameter):
                fail(exc.format_message())
            name = exc.param.opts[0] if isinstance(exc.param, click.Option) else exc.param.human_readable_name
            fail(f"{name}: {exc.message}")
        except click.UsageError as exc:
            fail(exc.format_message())
        except (OSError, MemoryError) as exc:
            if os.environ.get("LASERGEN_DEBUG"):
                raise
            fail(f"{type(exc).__name__}: {exc}")


def fail(message: str, code: int = 2):
    click.echo(f"lasergen: error: {message.splitlines()[0] if message else 'failed'}", err=True)
    sys.exit(code)


def strict_json(value):
    """`value` for strict JSON: non-finite floats become null (JSON has no Infinity or NaN)."""
    if isinstance(value, dict):
        return {str(k): strict_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [strict_json(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):  # numpy scalars
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def emit(result: dict, as_json: bool, text: str):
    if as_json:
        click.echo(json.dumps(strict_json(result), sort_keys=True, allow_nan=False))
    else:
        click.echo(text)


def json_option(f):
    return click.option("--json", "as_json", is_flag=True, help="Print one JSON object on stdout.")(f)


def machine_option(f):
    return click.option("--machine", default="default", show_default=True,
                        help="Machine profile: built-in name or TOML file (see `lasergen machines`).")(f)


def job_machine_option(f):
    """For commands that read a job: the job's own profile unless another one is given."""
    return click.option("--machine", default=None,
                        help="Machine profile (default: the one the job was planned for).")(f)


def warn(message: str) -> None:
    """A warning: always on stderr, so stdout stays the result (or the one JSON object)."""
    click.echo(f"lasergen: warning: {message}", err=True)


class Number(click.ParamType):
    """A finite number within the range of a kind of `lasergen.quantities.QUANTITIES`."""

    def __init__(self, kind: str):
        from lasergen.quantities import QUANTITIES

        self.kind = kind
        self.quantity = QUANTITIES[kind]
        self.name = "integer" if self.quantity.integer else "number"

    def convert(self, value, param, ctx):
        if value is None:
            return None
        try:
            return self.quantity.check(value if isinstance(value, (int, float)) else str(value).strip(), text=True)
        except LasergenError as exc:
            self.fail(str(exc), param, ctx)


class Pair(click.ParamType):
    """'X,Y': two numbers of one kind (e.g. an origin in mm)."""

    name = "X,Y"

    def __init__(self, kind: str):
        from lasergen.quantities import QUANTITIES

        self.quantity = QUANTITIES[kind]

    def convert(self, value, param, ctx):
        if isinstance(value, tuple):
            return value
        parts = str(value).split(",")
        if len(parts) != 2:
            self.fail(f"must be two numbers 'X,Y', got {value!r}", param, ctx)
        try:
            return tuple(self.quantity.check(v.strip(), text=True) for v in parts)
        except LasergenError as exc:
            self.fail(f"must be two numbers 'X,Y': {exc}", param, ctx)


def parse_pair(text, what: str) -> tuple[float, float]:
    """An 'X,Y' origin (already a tuple when it came through `Pair`)."""
    if isinstance(text, tuple):
        return text
    try:
        return Pair("origin_mm").convert(text, None, None)
    except click.BadParameter as exc:
        raise LasergenError(f"{what} {exc.format_message()}") from None


TEXT_PROBE_BYTES = 1 << 16


def job_file(ctx, param, value):
    """Callback for a job argument: an existing G-code text file (or a `.npz` ledger where the
    command takes one); a binary file is one clear line, not a decode traceback later."""
    path = Path(value)
    if not path.is_file():
        raise click.BadParameter(f"job file not found: {value}" if not path.exists() else f"{value} is not a file",
                                 ctx, param)
    with open(path, "rb") as f:
        head = f.read(TEXT_PROBE_BYTES)
    if path.suffix == ".npz":
        if not head.startswith(b"PK\x03\x04"):  # an .npz is a zip archive
            raise click.BadParameter(f"{value} is not an exposure ledger (.npz, a zip archive)", ctx, param)
        return value
    try:
        head.decode("utf-8")
        text = b"\0" not in head
    except UnicodeDecodeError as exc:  # a character cut by the probe's end is still text
        text = len(head) == TEXT_PROBE_BYTES and exc.start >= len(head) - 3 and b"\0" not in head
    if not text:
        raise click.BadParameter(f"{value} is not a text (G-code) file", ctx, param)
    return value


def output_file(ctx, param, value):
    """Callback for options naming a file to write: its folder must exist (one clear line if not)."""
    if value is None:
        return value
    path = Path(value).expanduser()
    if path.is_dir():
        raise click.BadParameter(f"{str(path)!r} is a folder; give the name of the file to write", ctx, param)
    folder = path.parent
    if not folder.is_dir():
        raise click.BadParameter(f"folder {str(folder)!r} does not exist (create it first)", ctx, param)
    return value


def max_hours_option(f):
    return click.option("--max-hours", type=Number("time_h"), default=None,
                        help="Warn when the estimated job time exceeds this (h; default 8).")(f)


def sanity_check(pattern, manifest: dict, material, max_hours, result: dict | None = None) -> list[str]:
    """Sanity warnings of a planned job (lasergen_cli.sanity), printed on stderr and returned."""
    from lasergen_cli.sanity import plan_warnings

    messages = plan_warnings(pattern, manifest, material, max_hours)
    for message in messages:
        warn(message)
    if result is not None:
        result["warnings"] = list(result.get("warnings", [])) + messages
    return messages


def recipe_options(f):
    """The per-job recipe: pulse energy, rep rate, raster or dots, passes, placement."""
    options = [
        click.option("--energy-uj", type=Number("energy_uJ"), default=200.0, show_default=True, help="Pulse energy (uJ)."),
        click.option("--rep-rate-khz", type=Number("rep_rate_kHz"), default=10.0, show_default=True, help="Repetition rate (kHz)."),
        click.option("--mode", type=click.Choice(["raster", "dots"]), default="raster", show_default=True,
                     help="raster: scan lines at --speed-mm-s; dots: one dwell of --dwell-s per pixel."),
        click.option("--speed-mm-s", type=Number("speed_mm_s"), default=0.4, show_default=True, help="Raster scan speed (mm/s)."),
        click.option("--line-pitch-um", type=Number("line_pitch_um"), default=None,
                     help="Raster line pitch (um); default: the pixel pitch."),
        click.option("--dwell-s", type=Number("dwell_s"), default=1.5, show_default=True,
                     help="Dwell per dot in dots mode (s)."),
        click.option("--passes", type=Number("passes"), default=1, show_default=True, help="Times each layer is written."),
        click.option("--origin", type=Pair("origin_mm"), default="10,10", show_default=True, help="Machine X,Y (mm) of the bottom-left corner."),
        click.option("--depth-um", type=Number("depth_um"), default=None,
                     help="Write inside the glass, this deep below the surface (um; needs the machine's [focus]); "
                          "default: flat, wherever the focus is."),
        click.option("--material", type=click.Choice(["Br", "BrI", "I"]), default="BrI", show_default=True,
                     help="Glass the job is planned for (see `lasergen materials`)."),
        machine_option,
        max_hours_option,
        json_option,
    ]
    for option in reversed(options):
        f = option(f)
    return f


def recipe_from(opts: dict):
    from lasergen.recipe import Recipe

    return Recipe(energy_uJ=opts["energy_uj"], rep_rate_kHz=opts["rep_rate_khz"], mode=opts["mode"],
                  speed_mm_s=opts["speed_mm_s"], line_pitch_um=opts["line_pitch_um"], dwell_s=opts["dwell_s"],
                  passes=opts["passes"])


@click.group(cls=Group)
@click.version_option(__version__)
def main():
    """Plan, stream and simulate femtosecond-laser writing of luminescent patterns in glass."""
