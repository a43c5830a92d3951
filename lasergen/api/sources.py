"""The public pattern sources: one function per source, each returning a one-layer Pattern
written with `recipe` (default: the paper's optimum, `Recipe()`), placed at `origin_mm`.

Each is the spec-file source of the same name (`lasergen.sources`) with its keys as keyword
arguments, so a script and a TOML spec say the same thing the same way (`depth_um`: the
layer's depth below the glass surface, None for a flat job); `pattern_from_spec`
and `pattern_from_file` compose several sources, recipes and levels (multi-level marks).
"""

from __future__ import annotations

from pathlib import Path

DEFAULT_ORIGIN_MM = (10.0, 10.0)  # the command line's default placement


def as_machine(machine):
    """A MachineProfile from a profile, a built-in name or a TOML file."""
    from lasergen.machine import MachineProfile

    return machine if isinstance(machine, MachineProfile) else MachineProfile.load(machine)


def machine(name_or_path: str | Path = "default"):
    """The machine profile by built-in name (`lasergen machines`) or TOML file."""
    from lasergen.machine import MachineProfile

    return MachineProfile.load(name_or_path)


def _one_layer(kind: str, spec: dict, recipe, origin_mm, depth_um: float | None = None, base_dir: Path = Path(".")):
    from lasergen.build import single_layer_pattern
    from lasergen.recipe import Recipe
    from lasergen.sources import make_artwork

    art = make_artwork({"kind": kind, **spec}, base_dir)
    return single_layer_pattern(art, recipe or Recipe(), tuple(origin_mm), kind, depth_um)


def qr(data: str, module_um: float = 20.0, error: str = "M", version: int | str | None = None,
       mask: int | None = None, micro: bool | str = False, quiet_zone: int | None = None, *,
       recipe=None, origin_mm=DEFAULT_ORIGIN_MM, depth_um: float | None = None):
    """A QR code of `data`: modules of `module_um`, error correction L/M/Q/H, version 1..40 or
    M1..M4 (None: the smallest that fits), `micro` False/True/"auto", quiet zone in modules."""
    return _one_layer("qr", {"data": data, "module_um": module_um, "error": error,
                             "version": None if version == "auto" else version, "mask": mask, "micro": micro,
                             "quiet_zone": quiet_zone}, recipe, origin_mm, depth_um)


def text(text: str, height_um: float = 1000.0, pitch_um: float = 20.0, font: str | Path | None = None,
         margin_um: float = 0.0, *, recipe=None, origin_mm=DEFAULT_ORIGIN_MM, depth_um: float | None = None):
    """Letters of cap height `height_um` on a grid of `pitch_um` (never mirrored)."""
    return _one_layer("text", {"text": text, "height_um": height_um, "pitch_um": pitch_um,
                               "font": str(Path(font).resolve()) if font else None, "margin_um": margin_um},
                      recipe, origin_mm, depth_um)


def bitmap(path: str | Path, pixel_um: float | None = None, width_um: float | None = None, threshold: float = 0.5,
           dither: str = "none", invert: bool = False, page: int | None = None,
           max_megapixels: float | None = None, *, recipe=None, origin_mm=DEFAULT_ORIGIN_MM, depth_um: float | None = None,
           depths_um: list[float] | None = None):
    """An image's dark pixels (`invert`: the light ones), `dither` none/floyd-steinberg/ordered;
    `depths_um`: a multi-page image (TIFF stack) written one page per depth, in page order."""
    return _one_layer("bitmap", {"path": str(Path(path).resolve()), "pixel_um": pixel_um, "width_um": width_um,
                                 "threshold": threshold, "dither": dither, "invert": invert, "page": page,
                                 "max_megapixels": max_megapixels, "depths_um": depths_um}, recipe, origin_mm, depth_um)


def svg(path: str | Path, width_mm: float | None = None, fill: str = "hatch", strokes: bool = True,
        group_by: str = "layer", tolerance_um: float | None = None, *, recipe=None, origin_mm=DEFAULT_ORIGIN_MM, depth_um: float | None = None):
    """An SVG drawing as vector geometry (fills hatched, strokes traced), one layer per SVG
    layer (`group_by="layer"`) or stroke colour (`"colour"`)."""
    spec = {"path": str(Path(path).resolve()), "width_mm": width_mm, "fill": fill, "strokes": strokes,
            "group_by": group_by}
    if tolerance_um is not None:
        spec["tolerance_um"] = tolerance_um
    return _one_layer("svg", spec, recipe, origin_mm, depth_um)


def pattern_from_spec(spec: dict, base_dir: str | Path = "."):
    """A Pattern from a spec table (the contents of a pattern TOML file, as a dict): layers,
    recipes, levels, calibration grids. Relative paths are read from `base_dir`."""
    from lasergen.spec import pattern_from_spec as build

    return build(spec, Path(base_dir))


def pattern_from_file(path: str | Path):
    """A Pattern from a TOML spec file (`lasergen pattern SPEC.toml`); see `pattern_from_spec`."""
    from lasergen.spec import pattern_from_file as build

    return build(path)
