"""Pattern spec files (TOML): compose sources, recipes and layers into one Pattern.

    [pattern]            pitch_um (default: the first source's), origin_mm, material
    [recipes.NAME]       any Recipe field; names not given keep the built-in presets
    [calibration]        instead of layers: an energy x dwell (or speed) test grid
    [[layers]]           name, recipe, source = {kind = "qr"|"text"|"bitmap", ...},
                         offset_px = [row, col] on the common canvas, clip_to = "earlier layer"
All sources must share one pitch; the canvas grows to hold every layer. `clip_to` keeps a
layer inside an earlier one (a rewrite that may only touch written pixels).
Relative paths (bitmaps, fonts) are read from the spec file's folder.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

from lasergen import LasergenError
from lasergen.composition import place_on_canvas, recipes_from_spec
from lasergen.pattern import Layer, Pattern
from lasergen.sources import Artwork, make_artwork

LAYER_KEYS = {"name", "recipe", "source", "offset_px", "clip_to"}


def load_spec(path: str | Path) -> dict:
    path = Path(path)
    try:
        return tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise LasergenError(f"spec file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LasergenError(f"spec {path.name}: {exc}") from None


def pattern_from_spec(spec: dict, base_dir: Path = Path(".")) -> Pattern:
    if "calibration" in spec:  # process-window grid, one recipe per cell (lasergen/calibration.py)
        from lasergen.calibration import pattern_from_calibration
        return pattern_from_calibration(spec)
    if "levels" in spec:  # multi-level spec: views -> layers (lasergen/levels.py)
        from lasergen.levels import pattern_from_levels
        return pattern_from_levels(spec, base_dir)
    head = spec.get("pattern", {})
    layers_spec = spec.get("layers")
    if not layers_spec:
        raise LasergenError("spec: no [[layers]]")
    recipes = recipes_from_spec(spec)
    artworks: list[Artwork] = []
    for i, layer in enumerate(layers_spec):
        unknown = set(layer) - LAYER_KEYS
        if unknown:
            raise LasergenError(f"spec layer {i}: unknown key(s) {', '.join(sorted(unknown))}")
        if "source" not in layer or not isinstance(layer["source"], dict):
            raise LasergenError(f"spec layer {i}: 'source' table is required")
        artworks.append(make_artwork(layer["source"], base_dir))
    pitch = float(head.get("pitch_um", artworks[0].pitch_um))
    for i, art in enumerate(artworks):
        if abs(art.pitch_um - pitch) > 1e-9:
            raise LasergenError(f"spec layer {i}: pitch {art.pitch_um} um differs from the pattern's {pitch} um")
    offsets = []
    for i, layer in enumerate(layers_spec):
        off = layer.get("offset_px", [0, 0])
        if len(off) != 2 or min(off) < 0:
            raise LasergenError(f"spec layer {i}: offset_px must be [row, col] >= 0, got {off}")
        offsets.append((int(off[0]), int(off[1])))
    masks = place_on_canvas([(a.mask, o) for a, o in zip(artworks, offsets)])
    names = [layer.get("name", f"layer{i}") for i, layer in enumerate(layers_spec)]
    layers = []
    for i, (layer, mask) in enumerate(zip(layers_spec, masks)):
        clip = layer.get("clip_to")
        if clip is not None:
            if clip not in names[:i]:
                raise LasergenError(f"spec layer {names[i]!r}: clip_to {clip!r} is not an earlier layer")
            mask = mask & masks[names.index(clip)]
        layers.append(Layer(mask, layer.get("recipe", "write"), names[i]))
    meta = {"layers": [a.meta for a in artworks]}
    qr_meta = [a.meta for a in artworks if a.meta.get("source") == "qr"]
    if qr_meta:
        meta.update(qr_meta[0])
    origin = tuple(float(v) for v in head.get("origin_mm", (10.0, 10.0)))
    pattern = Pattern(pitch, layers, origin, recipes, meta)
    pattern.meta["material"] = head.get("material")
    return pattern


def pattern_from_file(path: str | Path) -> Pattern:
    path = Path(path)
    return pattern_from_spec(load_spec(path), path.parent)
