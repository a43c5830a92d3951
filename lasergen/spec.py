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
from lasergen.composition import HEAD_KEYS, offset_of, place_on_canvas, recipes_from_spec, refuse_unknown, spec_head
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
    spec_head(spec, HEAD_KEYS if "calibration" not in spec else HEAD_KEYS - {"pitch_um"})  # tables and keys known
    kinds = [f"[{k}]" if k != "layers" else "[[layers]]" for k in ("layers", "levels", "calibration") if k in spec]
    if len(kinds) > 1:
        raise LasergenError(f"spec: give one of [[layers]], [levels] or [calibration], not {' and '.join(kinds)}")
    if "calibration" in spec:  # process-window grid, one recipe per cell (lasergen/calibration.py)
        from lasergen.calibration import pattern_from_calibration
        return pattern_from_calibration(spec)
    if "levels" in spec:  # multi-level spec: views -> layers (lasergen/levels.py)
        from lasergen.levels import pattern_from_levels
        return pattern_from_levels(spec, base_dir)
    head = spec_head(spec)
    layers_spec = spec.get("layers")
    if not layers_spec:
        raise LasergenError("spec: no [[layers]] (and no [levels] or [calibration]): nothing to write")
    if not isinstance(layers_spec, list) or not all(isinstance(layer, dict) for layer in layers_spec):
        raise LasergenError("spec: [[layers]] must be an array of tables")
    recipes = recipes_from_spec(spec)
    artworks: list[Artwork] = []
    for i, layer in enumerate(layers_spec):
        refuse_unknown(layer, LAYER_KEYS, f"spec layer {i}")
        if "source" not in layer or not isinstance(layer["source"], dict):
            raise LasergenError(f"spec layer {i}: 'source' table is required")
        artworks.append(make_artwork(layer["source"], base_dir))
    pitch = head["pitch_um"] if head["pitch_um"] is not None else float(artworks[0].pitch_um)
    for i, art in enumerate(artworks):
        if abs(art.pitch_um - pitch) > 1e-9:
            raise LasergenError(f"spec layer {i}: pitch {art.pitch_um} um differs from the pattern's {pitch} um")
    offsets = [offset_of(layer, f"spec layer {i}") for i, layer in enumerate(layers_spec)]
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
    pattern = Pattern(pitch, layers, head["origin_mm"], recipes, meta)
    pattern.meta["material"] = head["material"]
    return pattern


def pattern_from_file(path: str | Path) -> Pattern:
    path = Path(path)
    return pattern_from_spec(load_spec(path), path.parent)
