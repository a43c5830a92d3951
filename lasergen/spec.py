"""Pattern spec files (TOML): compose sources, recipes and layers into one Pattern.

    [pattern]            pitch_um (default: the first source's), origin_mm, material
    [recipes.NAME]       any Recipe field; names not given keep the built-in presets
    [calibration]        instead of layers: an energy x dwell (or speed) test grid
    [[layers]]           name, recipe, source = {kind = "qr"|"text"|"bitmap"|"svg"|"dxf"|"gds"
                         |"points", ...},
                         depth_um = below the glass surface (um, in the glass; every layer or
                         none; planes are written deepest first),
                         offset_px = [row, col] on the common canvas, clip_to = "earlier layer",
                         layer_recipes = {GROUP = "recipe"} (vector sources: recipe per SVG layer or
                         colour, DXF layer or GDS "layer/datatype"; one pattern layer per group)
All raster sources must share one pitch (vector ones have none); the canvas grows to hold
every layer. `clip_to` keeps a layer inside an earlier one (a rewrite that may only touch
written pixels). A bitmap source with `depths_um` (a TIFF stack, one depth per page) makes one
layer per page, named "<layer>@<depth>um"; a points source with a z_um column one per depth.
Relative paths (bitmaps, fonts) are read from the spec file's folder.
"""

from __future__ import annotations

import tomllib
from pathlib import Path

import numpy as np

from lasergen import LasergenError
from lasergen.composition import HEAD_KEYS, offset_of, place_on_canvas, recipes_from_spec, refuse_unknown, spec_head
from lasergen.pattern import Layer, Pattern
from lasergen.quantities import checked
from lasergen.sources import Artwork, make_artwork

LAYER_KEYS = {"name", "recipe", "source", "offset_px", "clip_to", "layer_recipes", "depth_um"}


def vector_stand_in(art: Artwork, pitch_um: float) -> np.ndarray:
    w, h = art.groups[next(iter(art.groups))].box_mm
    px = pitch_um / 1000.0
    return np.zeros((max(1, int(np.ceil(h / px - 1e-9))), max(1, int(np.ceil(w / px - 1e-9)))), dtype=bool)


def vector_canvas_mm(artworks: list[Artwork], offsets, pitch_um: float, canvas_px) -> tuple[float, float]:
    """The canvas in mm: the masks' grid when there are masks, else exactly the vector boxes."""
    px = pitch_um / 1000.0
    if any(not a.is_vector for a in artworks):
        return canvas_px[1] * px, canvas_px[0] * px
    boxes = [(a.groups[next(iter(a.groups))].box_mm, o) for a, o in zip(artworks, offsets)]
    return max(w + c * px for (w, _), (_, c) in boxes), max(h + r * px for (_, h), (r, _) in boxes)


def layer_depth(spec_layer: dict, where: str) -> float | None:
    value = spec_layer.get("depth_um")
    return None if value is None else checked("depth_um", value, f"{where} depth_um")


def vector_layers(art: Artwork, spec_layer: dict, name: str, offset, pitch_um: float, canvas_mm) -> list[Layer]:
    """One pattern layer per group of a vector source (SVG layer or colour, DXF layer, GDS
    layer/datatype), its recipe from `layer_recipes` (group name -> recipe), else the layer's."""
    by_group = spec_layer.get("layer_recipes", {})
    if not isinstance(by_group, dict):
        raise LasergenError(f"spec layer {name!r}: layer_recipes must be a table of group = recipe")
    unknown = sorted(set(by_group) - set(art.groups))
    if unknown:
        raise LasergenError(f"spec layer {name!r}: layer_recipes names group {unknown[0]!r}, which the source "
                            f"does not have; groups: {', '.join(repr(g) for g in sorted(art.groups))}")
    px = pitch_um / 1000.0
    depth, own = layer_depth(spec_layer, f"spec layer {name!r}"), art.group_depth_um or {}
    out = []
    for group, shapes in art.groups.items():
        placed = shapes.translated(offset[1] * px, offset[0] * px, canvas_mm)
        label = f"{name}:{group}" if group and len(art.groups) > 1 else name
        out.append(Layer(None, str(by_group.get(group, spec_layer.get("recipe", "write"))), label, placed,
                         own.get(group, depth)))
    return out


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
        art = make_artwork(layer["source"], base_dir)
        depth = layer_depth(layer, f"spec layer {i}")
        if depth is not None:  # what the layer promises, it promises at its depth
            art.meta = {**art.meta, "depth_um": depth}
        artworks.append(art)
    raster = [a for a in artworks if not a.is_vector]
    pitch = head["pitch_um"] if head["pitch_um"] is not None else float((raster or artworks)[0].pitch_um)
    for i, art in enumerate(artworks):
        if not art.is_vector and abs(art.pitch_um - pitch) > 1e-9:
            raise LasergenError(f"spec layer {i}: pitch {art.pitch_um} um differs from the pattern's {pitch} um")
    offsets = [offset_of(layer, f"spec layer {i}") for i, layer in enumerate(layers_spec)]
    # vector artworks take part in sizing the canvas through a blank stand-in of their box
    masks = place_on_canvas([(a.mask if not a.is_vector else vector_stand_in(a, pitch), o)
                             for a, o in zip(artworks, offsets)])
    names = [layer.get("name", f"layer{i}") for i, layer in enumerate(layers_spec)]
    canvas_mm = vector_canvas_mm(artworks, offsets, pitch, masks[0].shape)
    layers = []
    for i, (layer, mask, art) in enumerate(zip(layers_spec, masks, artworks)):
        clip = layer.get("clip_to")
        if art.is_vector:
            if clip is not None:
                raise LasergenError(f"spec layer {names[i]!r}: clip_to applies to mask layers, not vector sources")
            layers += vector_layers(art, layer, names[i], offsets[i], pitch, canvas_mm)
            continue
        if clip is not None:
            if clip not in names[:i] or artworks[names.index(clip)].is_vector:
                raise LasergenError(f"spec layer {names[i]!r}: clip_to {clip!r} is not an earlier mask layer")
            if art.stack is not None or artworks[names.index(clip)].stack is not None:
                raise LasergenError(f"spec layer {names[i]!r}: clip_to works between single-page layers, not image stacks")
            mask = mask & masks[names.index(clip)]
        depth = layer_depth(layer, f"spec layer {names[i]!r}")
        if art.stack is not None:
            r, c = offsets[i]
            for page_depth, page in art.depth_layers(depth, f"spec layer {names[i]!r}"):
                placed = np.zeros_like(mask)
                placed[r:r + page.shape[0], c:c + page.shape[1]] = page
                layers.append(Layer(placed, layer.get("recipe", "write"), f"{names[i]}@{page_depth:g}um", depth_um=page_depth))
            continue
        layers.append(Layer(mask, layer.get("recipe", "write"), names[i], depth_um=depth))
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
