"""Composition helpers shared by the spec readers: masks placed on one canvas, recipes from a spec.

`spec.py` (layers), `levels.py` (views) and `calibration.py` (test grids) each turn a TOML
spec into a Pattern; what they share lives here so none of them imports another.
"""

from __future__ import annotations

import numpy as np

from lasergen import LasergenError
from lasergen.recipe import PRESETS, Recipe


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
    for name, fields_ in spec.get("recipes", {}).items():
        if not isinstance(fields_, dict):
            raise LasergenError(f"spec: [recipes.{name}] must be a table")
        base = recipes.get(name, Recipe()).to_dict()
        recipes[name] = Recipe.from_dict({**base, **fields_})
    return recipes
