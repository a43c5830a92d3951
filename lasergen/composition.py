"""Composition helpers shared by the spec readers: masks placed on one canvas, recipes from a spec,
the spec's top-level tables and its [pattern] head checked (unknown keys and bad numbers refused).

`spec.py` (layers), `levels.py` (views) and `calibration.py` (test grids) each turn a TOML
spec into a Pattern; what they share lives here so none of them imports another.
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError
from lasergen.quantities import checked
from lasergen.recipe import PRESETS, Recipe

SPEC_TABLES = {"pattern", "recipes", "layers", "levels", "calibration"}
HEAD_KEYS = {"pitch_um", "origin_mm", "material"}
DEFAULT_ORIGIN_MM = (10.0, 10.0)


def refuse_unknown(table: dict, known, where: str) -> None:
    """A typo is an error naming the unknown key(s) and the known ones, never a silent default."""
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise LasergenError(f"{where}: unknown key(s) {', '.join(map(str, unknown))}; "
                            f"known: {', '.join(sorted(known))}")


def table_of(spec: dict, name: str, where: str | None = None) -> dict:
    value = spec.get(name, {})
    if not isinstance(value, dict):
        raise LasergenError(f"{where or 'spec'}: [{name}] must be a table, got {type(value).__name__}")
    return value


def spec_head(spec: dict, head_keys=HEAD_KEYS) -> dict:
    """Check the spec's tables and its [pattern] head; returns {origin_mm, pitch_um, material}
    with numbers checked (finite, in range) and defaults filled."""
    if not isinstance(spec, dict):
        raise LasergenError(f"spec: expected a table of tables, got {type(spec).__name__}")
    refuse_unknown(spec, SPEC_TABLES, "spec")
    head = table_of(spec, "pattern")
    refuse_unknown(head, head_keys, "spec [pattern]")
    origin = head.get("origin_mm", DEFAULT_ORIGIN_MM)
    if not isinstance(origin, (list, tuple)) or len(origin) != 2:
        raise LasergenError(f"spec [pattern]: origin_mm must be [x, y] in mm, got {origin!r}")
    material = head.get("material")
    if material is not None and (not isinstance(material, str) or not material):
        raise LasergenError(f"spec [pattern]: material must be a name such as \"BrI\", got {material!r}")
    pitch = head.get("pitch_um")
    return {"origin_mm": tuple(checked("origin_mm", v, "spec [pattern] origin_mm") for v in origin),
            "pitch_um": None if pitch is None else checked("pitch_um", pitch, "spec [pattern] pitch_um"),
            "material": material}


def offset_of(table: dict, where: str) -> tuple[int, int]:
    off = table.get("offset_px", [0, 0])
    if not isinstance(off, (list, tuple)) or len(off) != 2:
        raise LasergenError(f"{where}: offset_px must be [row, col] >= 0, got {off!r}")
    return tuple(checked("offset_px", v, f"{where} offset_px") for v in off)


def place_on_canvas(items: list[tuple[np.ndarray, tuple[int, int]]]) -> list[np.ndarray]:
    rows = max(m.shape[0] + r for m, (r, c) in items)
    cols = max(m.shape[1] + c for m, (r, c) in items)
    out = []
    for mask, (r, c) in items:
        canvas = np.zeros((rows, cols), dtype=bool)
        canvas[r:r + mask.shape[0], c:c + mask.shape[1]] = mask
        out.append(canvas)
    return out


def recipes_from_spec(spec: dict) -> dict[str, Recipe]:
    recipes = dict(PRESETS)
    for name, fields_ in table_of(spec, "recipes").items():
        if not isinstance(fields_, dict):
            raise LasergenError(f"spec: [recipes.{name}] must be a table")
        base = recipes.get(name, Recipe()).to_dict()
        try:
            recipes[name] = Recipe.from_dict({**base, **fields_})
        except LasergenError as exc:
            raise LasergenError(f"spec [recipes.{name}]: {str(exc).removeprefix('recipe: ')}") from None
    return recipes
