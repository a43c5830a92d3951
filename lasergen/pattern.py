"""Pattern: a pixel grid (pitch in um, origin in mm) with an ordered list of exposure layers.

Each layer is a boolean mask plus the name of the recipe that writes it; a rewrite is simply
a later layer over part of an earlier one. This module is the one place where image rows
(growing downwards) become machine Y (growing upwards): row 0 is the top edge of the mark.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lasergen import LasergenError
from lasergen.recipe import PRESETS, Recipe


@dataclass
class Layer:
    mask: np.ndarray  # bool, shape (rows, cols); True = expose
    recipe: str = "write"
    name: str = ""


@dataclass
class Pattern:
    pitch_um: float
    layers: list[Layer]
    origin_mm: tuple[float, float] = (0.0, 0.0)  # machine XY of the grid's bottom-left corner
    recipes: dict[str, Recipe] = field(default_factory=lambda: dict(PRESETS))
    meta: dict = field(default_factory=dict)  # what the source promises (e.g. QR payload), for verify

    def __post_init__(self):
        if self.pitch_um <= 0:
            raise LasergenError(f"pattern: pitch_um must be > 0, got {self.pitch_um}")
        if not self.layers:
            raise LasergenError("pattern: no layers")
        shape = self.layers[0].mask.shape
        for layer in self.layers:
            if layer.mask.shape != shape:
                raise LasergenError(f"pattern: layer {layer.name!r} is {layer.mask.shape}, expected {shape}")
            if layer.recipe not in self.recipes:
                raise LasergenError(f"pattern: layer {layer.name!r} names unknown recipe {layer.recipe!r}")
            layer.mask = np.asarray(layer.mask, dtype=bool)
        if not any(layer.mask.any() for layer in self.layers):
            raise LasergenError(f"pattern: nothing to write: no layer has a pixel to expose ({shape[0]} x {shape[1]} "
                                f"px, all blank; an all-white image? try --invert or another --threshold)")

    @property
    def shape(self) -> tuple[int, int]:
        return self.layers[0].mask.shape

    @property
    def size_mm(self) -> tuple[float, float]:
        rows, cols = self.shape
        return cols * self.pitch_um / 1000.0, rows * self.pitch_um / 1000.0

    def column_x_mm(self, cols: np.ndarray | float) -> np.ndarray:
        """Machine X of pixel-column centres."""
        return self.origin_mm[0] + (np.asarray(cols) + 0.5) * self.pitch_um / 1000.0

    def row_y_mm(self, rows: np.ndarray | float) -> np.ndarray:
        """Machine Y of pixel-row centres: image row 0 is the top, i.e. the largest Y."""
        n_rows = self.shape[0]
        return self.origin_mm[1] + (n_rows - 1 - np.asarray(rows) + 0.5) * self.pitch_um / 1000.0

    def placed(self, origin_mm: tuple[float, float]) -> "Pattern":
        return Pattern(self.pitch_um, self.layers, origin_mm, self.recipes, self.meta)
