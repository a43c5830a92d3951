"""Shared pieces of the command line: the group, error handling, output and common options.

Bad input is one line on stderr and exit code 2, never a traceback (`Group.invoke`); every
command takes `--json` and then prints one JSON object on stdout (`emit`).
"""

from __future__ import annotations

import json
import os
import sys

import click

from lasergen import LasergenError, __version__


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
                        help="Machine profile: built-in name or TOML file (see `lasergen machines`).")(f)


def job_machine_option(f):
    """For commands that read a job: the job's own profile unless another one is given."""
    return click.option("--machine", default=None,
                        help="Machine profile (default: the one the job was planned for).")(f)


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
        click.option("--mode", type=click.Choice(["raster", "dots"]), default="raster", show_default=True,
                     help="raster: scan lines at --speed-mm-s; dots: one dwell of --dwell-s per pixel."),
        click.option("--speed-mm-s", type=float, default=0.4, show_default=True, help="Raster scan speed (mm/s)."),
        click.option("--line-pitch-um", type=float, default=None,
                     help="Raster line pitch (um); default: the pixel pitch."),
        click.option("--dwell-s", type=float, default=1.5, show_default=True,
                     help="Dwell per dot in dots mode (s)."),
        click.option("--passes", type=int, default=1, show_default=True, help="Times each layer is written."),
        click.option("--origin", default="10,10", show_default=True, help="Machine X,Y (mm) of the bottom-left corner."),
        click.option("--material", type=click.Choice(["Br", "BrI", "I"]), default="BrI", show_default=True,
                     help="Glass the job is planned for (see `lasergen materials`)."),
        machine_option,
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
