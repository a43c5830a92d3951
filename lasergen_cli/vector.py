"""Vector commands: svg, dxf, gds, points (sources) and preview (any job drawn as a PNG)."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import click

from lasergen_cli.common import Number, emit, job_machine_option, json_option, main, recipe_from, recipe_options
from lasergen_cli.plan import write_artwork_job


def hatch_options(f):
    """How fills and strokes are written (recipe fields of vector layers) and the size."""
    options = [
        click.option("-o", "--out", required=True, help="Job file to write (.gcode)."),
        click.option("--width-mm", type=Number("width_mm"), default=None,
                     help="Scale the document to this width (mm); default: its own size."),
        click.option("--hatch-um", type=Number("hatch_um"), default=None, help="Hatch line spacing (um; default 10)."),
        click.option("--hatch-angle", type=Number("hatch_angle_deg"), default=0.0, show_default=True, help="Hatch direction (deg from +X)."),
        click.option("--cross-hatch", is_flag=True, help="Add a hatch at +90 deg (crossings are written twice)."),
        click.option("--outline", is_flag=True, help="Also trace the boundary of every filled shape."),
    ]
    for option in reversed(options):
        f = option(f)
    return recipe_options(f)


def vector_recipe(opts: dict):
    return dataclasses.replace(recipe_from(opts), hatch_um=opts["hatch_um"], hatch_angle_deg=opts["hatch_angle"] or None,
                               cross_hatch=opts["cross_hatch"] or None, outline=opts["outline"] or None)


def write_vector_job(spec: dict, out: str, opts: dict, name: str):
    from lasergen.sources import make_artwork

    art = make_artwork({**spec, "width_mm": opts["width_mm"]})
    write_artwork_job(art, out, opts, name, vector_recipe(opts))


@main.command()
@click.argument("svg_file", type=click.Path(dir_okay=False))
@click.option("--fill", type=click.Choice(["hatch", "none"]), default="hatch", show_default=True,
              help="Hatch filled shapes, or write strokes only.")
@click.option("--tolerance-um", type=Number("tolerance_um"), default=0.5, show_default=True, help="Chord tolerance for curves (um).")
@click.option("--group-by", type=click.Choice(["layer", "colour", "none"]), default="layer", show_default=True,
              help="Which shapes share a layer (and a recipe): Inkscape layers, fill/stroke colours, or all in one.")
@hatch_options
def svg(svg_file, fill, tolerance_um, group_by, **opts):
    """A job from an SVG drawing: strokes followed, fills hatched."""
    write_vector_job({"kind": "svg", "path": str(Path(svg_file).resolve()), "fill": fill,
                      "tolerance_um": tolerance_um, "group_by": group_by}, opts["out"], opts, "svg")


@main.command()
@click.argument("dxf_file", type=click.Path(dir_okay=False))
@click.option("--layers", default=None, help="Comma-separated DXF layers to write (default: all).")
@click.option("--fill-closed", is_flag=True, help="Fill closed contours (hatch) instead of tracing them.")
@click.option("--tolerance-um", type=Number("tolerance_um"), default=0.5, show_default=True, help="Chord tolerance for curves (um).")
@hatch_options
def dxf(dxf_file, layers, fill_closed, tolerance_um, **opts):
    """A job from a DXF drawing (optional extra: pip install "lasergen[cad]")."""
    write_vector_job({"kind": "dxf", "path": str(Path(dxf_file).resolve()), "fill_closed": fill_closed,
                      "tolerance_um": tolerance_um, "layers": layers.split(",") if layers else None},
                     opts["out"], opts, "dxf")


@main.command()
@click.argument("gds_file", type=click.Path(dir_okay=False))
@click.option("--layer", "layers", multiple=True, help="LAYER/DATATYPE to write, e.g. 1/0 (repeatable; default all).")
@click.option("--cell", default=None, help="Cell to write (default: the only top-level cell).")
@hatch_options
def gds(gds_file, layers, cell, **opts):
    """A job from a GDSII layout (optional extra: pip install "lasergen[cad]")."""
    write_vector_job({"kind": "gds", "path": str(Path(gds_file).resolve()), "cell": cell,
                      "layer": list(layers) or None}, opts["out"], opts, "gds")


@main.command()
@click.argument("csv_file", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, help="Job file to write (.gcode).")
@recipe_options
def points(csv_file, out, **opts):
    """Dots from a CSV (header x_mm,y_mm[,z_um,energy_uJ,dwell_s]; relative to --origin)."""
    from lasergen.sources import make_artwork

    art = make_artwork({"kind": "points", "path": str(Path(csv_file).resolve())})
    write_artwork_job(art, out, opts, "points")


@main.command()
@click.argument("job", type=click.Path(dir_okay=False))
@click.option("-o", "--out", required=True, help="PNG to write.")
@click.option("--colour-by", type=click.Choice(["energy", "pass"]), default="energy", show_default=True,
              help="Colour the preview's marks by pulse energy or by pass.")
@click.option("--size-px", type=Number("size_px"), default=2048, show_default=True, help="Longest side of the drawing (px).")
@click.option("--no-travel", is_flag=True, help="Leave travel moves out.")
@job_machine_option
@json_option
def preview(job, out, colour_by, size_px, no_travel, machine, as_json):
    """Draw any job's toolpath as a PNG: marks by energy or pass, dots by dwell, travel dashed."""
    from lasergen.job import read_toolpath
    from lasergen.preview import draw_preview

    toolpath, _ = read_toolpath(Path(job), machine, pieces=True)
    result = draw_preview(toolpath, out, colour_by=colour_by, size_px=size_px, travel=not no_travel)
    result["job"] = job
    b = result["bounds_mm"]
    emit(result, as_json, f"wrote {out}: {result['marks']} marks, {result['travels']} travel moves, "
                          f"X {b[0]:.3f}..{b[2]:.3f}, Y {b[1]:.3f}..{b[3]:.3f} mm at {result['um_per_px']:.3g} um/px")
