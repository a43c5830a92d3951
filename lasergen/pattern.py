"""Pattern: a pixel grid (pitch in um, origin in mm) with an ordered list of exposure layers.

Each layer is either a boolean mask or vector geometry (`lasergen.shapes.Shapes`: fills,
strokes, points in mm), plus the name of the recipe that writes it; a rewrite is simply a
later layer over part of an earlier one. A layer may carry a depth (`depth_um`: below the
glass surface, um in the glass, positive downwards; `lasergen.focus`): either every layer of
a pattern has one, or none does (a flat job, written wherever the focus is). Masks and Shapes share one canvas in image
orientation (row 0 / y = 0 at the top). This module is the one place where image rows and
vector y (growing downwards) become machine Y (growing upwards): row 0 is the top edge of the
mark (`row_y_mm`), and `to_machine` maps geometry the same way.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lasergen import LasergenError
from lasergen.recipe import PRESETS, Recipe
from lasergen.shapes import Shapes


@dataclass
class Layer:
    mask: np.ndarray | None  # bool, shape (rows, cols); True = expose. None for a vector layer
    recipe: str = "write"
    name: str = ""
    shapes: Shapes | None = None  # vector geometry, image orientation, mm from the canvas top-left
    depth_um: float | None = None  # below the glass surface (um, in the glass); None: flat job

    @property
    def is_vector(self) -> bool:
        return self.shapes is not None

    def summary(self) -> dict:
        """What the layer holds, for the job manifest."""
        out = self.shapes.summary() if self.is_vector else {"pixels": int(self.mask.sum())}
        if self.depth_um is not None:
            out["depth_um"] = self.depth_um
        return out


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
        shape = None
        with_depth = [layer for layer in self.layers if layer.depth_um is not None]
        if with_depth and len(with_depth) < len(self.layers):
            flat = next(layer for layer in self.layers if layer.depth_um is None)
            raise LasergenError(f"pattern: layer {flat.name!r} has no depth while layer {with_depth[0].name!r} is at "
                                f"{with_depth[0].depth_um:g} um: give every layer a depth_um, or none")
        for layer in self.layers:
            if layer.depth_um is not None:
                if isinstance(layer.depth_um, bool) or not isinstance(layer.depth_um, (int, float)) \
                        or not np.isfinite(layer.depth_um) or layer.depth_um < 0:
                    raise LasergenError(f"pattern: layer {layer.name!r} depth_um must be a finite number >= 0 "
                                        f"(um below the surface), got {layer.depth_um!r}")
                layer.depth_um = float(layer.depth_um)
            if (layer.mask is None) == (layer.shapes is None):
                raise LasergenError(f"pattern: layer {layer.name!r} needs either a mask or shapes")
            if layer.recipe not in self.recipes:
                raise LasergenError(f"pattern: layer {layer.name!r} names unknown recipe {layer.recipe!r}")
            if layer.is_vector:
                continue
            layer.mask = np.asarray(layer.mask, dtype=bool)
            shape = shape or layer.mask.shape
            if layer.mask.shape != shape:
                raise LasergenError(f"pattern: layer {layer.name!r} is {layer.mask.shape}, expected {shape}")
        if shape is not None and not any(layer.is_vector for layer in self.layers) \
                and not any(layer.mask.any() for layer in self.layers):
            raise LasergenError(f"pattern: nothing to write: no layer has a pixel to expose ({shape[0]} x {shape[1]} "
                                f"px, all blank; an all-white image? try --invert or another --threshold)")

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns of the canvas: the masks', else the vector boxes' at the pitch."""
        masks = [layer.mask for layer in self.layers if not layer.is_vector]
        if masks:
            return masks[0].shape
        w, h = self.size_mm
        px = self.pitch_um / 1000.0
        return max(1, int(np.ceil(h / px - 1e-9))), max(1, int(np.ceil(w / px - 1e-9)))

    @property
    def size_mm(self) -> tuple[float, float]:
        """Width and height of the canvas (mm): the masks' grid, else the largest vector box."""
        masks = [layer.mask for layer in self.layers if not layer.is_vector]
        if masks:
            rows, cols = masks[0].shape
            return cols * self.pitch_um / 1000.0, rows * self.pitch_um / 1000.0
        return (max(layer.shapes.box_mm[0] for layer in self.layers),
                max(layer.shapes.box_mm[1] for layer in self.layers))

    def to_machine(self, shapes: Shapes) -> Shapes:
        """Vector geometry in machine coordinates: y = 0 (the top of the canvas) is the largest Y,
        the same convention as `row_y_mm`, so a drawn "F" reads "F" from the laser side."""
        top = self.origin_mm[1] + self.size_mm[1]
        return shapes.affine(1, 0, 0, -1, self.origin_mm[0], top)

    def column_x_mm(self, cols: np.ndarray | float) -> np.ndarray:
        """Machine X of pixel-column centres."""
        return self.origin_mm[0] + (np.asarray(cols) + 0.5) * self.pitch_um / 1000.0

    def row_y_mm(self, rows: np.ndarray | float) -> np.ndarray:
        """Machine Y of pixel-row centres: image row 0 is the top, i.e. the largest Y."""
        n_rows = self.shape[0]
        return self.origin_mm[1] + (n_rows - 1 - np.asarray(rows) + 0.5) * self.pitch_um / 1000.0

    @property
    def depths_um(self) -> list[float]:
        """The distinct depths of the layers, in the order they are written: deepest first."""
        return sorted({layer.depth_um for layer in self.layers if layer.depth_um is not None}, reverse=True)

    def write_order(self) -> list[int]:
        """Layer indices in writing order: deepest plane first, so the beam never crosses glass it
        has already written above its focus; layers at one depth keep their order (a rewrite
        follows the layer it rewrites)."""
        order = range(len(self.layers))
        if not self.depths_um:
            return list(order)
        return sorted(order, key=lambda i: -self.layers[i].depth_um)  # stable

    @property
    def has_vector(self) -> bool:
        return any(layer.is_vector for layer in self.layers)

    def placed(self, origin_mm: tuple[float, float]) -> "Pattern":
        return Pattern(self.pitch_um, self.layers, origin_mm, self.recipes, self.meta)

    # ---- the public API (lasergen.api): planning and showing itself ----
    def plan(self, machine="default", material: str | None = None):
        """Plan this pattern for `machine` (a MachineProfile or a profile name): a `lasergen.Job`."""
        from lasergen.api.job import Job

        return Job.plan(self, machine, material)

    def __repr__(self) -> str:
        rows, cols = self.shape
        w, h = self.size_mm
        names = ", ".join(f"{layer.name or '-'}:{layer.recipe}" for layer in self.layers)
        return (f"<Pattern {len(self.layers)} layer(s) [{names}], {cols} x {rows} px at {self.pitch_um:g} um "
                f"({w:.3f} x {h:.3f} mm) at {tuple(float(v) for v in self.origin_mm)} mm>")

    def image(self):
        """The layers as a PIL image (ink black, each later layer its own colour; vector layers: the
        planned toolpath's preview on the default machine)."""
        from lasergen.api import notebook

        if self.has_vector:
            return notebook.toolpath_preview(self.plan().toolpath)
        return notebook.mask_image([layer.mask for layer in self.layers], self.pitch_um)

    def _repr_png_(self) -> bytes:
        from lasergen.api.notebook import png_bytes

        return png_bytes(self.image())

    def _repr_html_(self) -> str:
        from lasergen.api.notebook import figure_html

        return figure_html(self.image(), repr(self))
