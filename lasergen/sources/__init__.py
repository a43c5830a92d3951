"""Pattern sources: each turns a spec (a dict, as in a TOML spec file) into an Artwork.

An Artwork is a boolean mask (True = expose) on a square grid of `pitch_um`, or, from a vector
source, named groups of vector geometry (`groups`: SVG layer or stroke colour, DXF layer, GDS
layer/datatype -> `Shapes`), plus what the source promises about it (`meta`, e.g. a QR
payload), which `verify` checks later. A source may also say where in depth it goes: a stack
of masks, one per depth (`stack`: a multi-page image mapped to depths; `mask` is then its
first page), or a depth per vector group (`group_depth_um`: points with a z_um column).
A new source is one module with `from_spec(spec, base_dir) -> Artwork` and one line below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from lasergen import LasergenError
from lasergen.shapes import Shapes


@dataclass
class Artwork:
    mask: np.ndarray | None
    pitch_um: float
    meta: dict = field(default_factory=dict)
    groups: dict[str, Shapes] | None = None  # vector sources: group name -> geometry (mask is None)
    stack: list[tuple[float, np.ndarray]] | None = None  # (depth_um, mask) per page, in page order
    group_depth_um: dict[str, float] | None = None  # vector groups at their own depth

    @property
    def is_vector(self) -> bool:
        return self.groups is not None

    def depth_layers(self, depth_um: float | None, where: str) -> list[tuple[float | None, np.ndarray]]:
        """(depth, mask) of each layer a raster artwork makes: its stack's pages (all one size),
        or its mask at `depth_um`; a stack given a depth of its own as well is refused."""
        if self.stack is None:
            return [(depth_um, self.mask)]
        if depth_um is not None:
            raise LasergenError(f"{where}: the image's pages are mapped to depths already (depths_um); "
                                f"give no depth_um as well")
        return list(self.stack)


def _registry():
    from lasergen.sources import bitmap, dxf, gds, points, qr, svg, text

    return {"bitmap": bitmap.from_spec, "qr": qr.from_spec, "text": text.from_spec, "svg": svg.from_spec,
            "dxf": dxf.from_spec, "gds": gds.from_spec, "points": points.from_spec}


def make_artwork(spec: dict, base_dir: Path = Path(".")) -> Artwork:
    """Dispatch a source spec such as {kind = "qr", data = "..."} to its source."""
    sources = _registry()
    if not isinstance(spec, dict):
        raise LasergenError(f"source must be a table such as {{kind = \"qr\", data = \"...\"}}, got {spec!r}")
    kind = spec.get("kind")
    if not isinstance(kind, str) or kind not in sources:
        raise LasergenError(f"source kind {kind!r} unknown; known: {', '.join(sorted(sources))}")
    args = {k: v for k, v in spec.items() if k != "kind"}
    return sources[kind](args, base_dir)


def take(spec: dict, allowed: dict, where: str, numbers: dict | None = None, flags=(), texts=()) -> dict:
    """Fill defaults and refuse unknown keys, so a typo in a spec is an error, not a silent default.

    `numbers` maps keys to a kind of `lasergen.quantities` (finite, in range, given as a number);
    `flags` must be true/false and `texts` strings, when given."""
    from lasergen.quantities import checked

    unknown = sorted(set(spec) - set(allowed))
    if unknown:
        raise LasergenError(f"{where}: unknown key(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")
    out = {**allowed, **spec}
    for key, kind in (numbers or {}).items():
        if out[key] is not None or allowed[key] is not None:  # None only where None is the default
            out[key] = checked(kind, out[key], f"{where} {key}")
    for key in flags:
        if not isinstance(out[key], bool):
            raise LasergenError(f"{where} {key}: must be true or false, got {out[key]!r}")
    for key in texts:
        if out[key] is not None and not isinstance(out[key], str):
            raise LasergenError(f"{where} {key}: must be a string, got {out[key]!r}")
    return out
