"""Drawings for the vector tests, with their expected geometry computed independently of the
SVG reader (shapely from the numbers in the file)."""

from __future__ import annotations

import numpy as np
from shapely import affinity
from shapely.geometry import Point, box

# A filled shape with a hole, under nested transforms, in a 2 mm viewBox: a 320 x 240 rectangle
# with a half-disc bump on its right edge, minus a disc (two arcs); plus a stroked curve.
SHAPE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="2mm" height="2mm" viewBox="0 0 200 200">
  <g transform="translate(100,100)">
    <g transform="rotate(30) scale(0.5)">
      <path fill="#000" fill-rule="evenodd"
            d="M -160 -120 L 160 -120 A 40 40 0 0 1 160 -40 L 160 120 L -160 120 Z
               M -60 -40 A 50 50 0 1 0 40 -40 A 50 50 0 1 0 -60 -40 Z"/>
    </g>
  </g>
  <path d="M 20 190 Q 100 150 180 190" stroke="#f00" fill="none"/>
</svg>"""


def shape_expected_machine(origin_mm=(10.0, 10.0)):
    """The filled region of SHAPE_SVG in machine mm (y up), computed without the SVG reader."""
    bump = Point(160, -80).buffer(40, quad_segs=256).intersection(box(160, -200, 400, 200))
    region = box(-160, -120, 160, 120).union(bump).difference(Point(-10, -40).buffer(50, quad_segs=256))
    region = affinity.scale(region, 0.5, 0.5, origin=(0, 0))
    region = affinity.rotate(region, 30, origin=(0, 0))
    region = affinity.translate(region, 100, 100)
    region = affinity.scale(region, 0.01, 0.01, origin=(0, 0))  # viewBox units -> mm
    # document y grows downwards from the top of the 2 mm box; machine y upwards from the origin
    return affinity.affine_transform(region, [1, 0, 0, -1, origin_mm[0], origin_mm[1] + 2.0])


# An "F" (stem on the left, bars to the right, the upper one longer) in a 1 mm box.
F_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="0.6mm" height="0.8mm" viewBox="0 0 6 8">
  <path d="M0 0 H6 V2 H2 V3.5 H4.5 V5.5 H2 V8 H0 Z" fill="black"/>
</svg>"""

SQUARE_AND_CIRCLE_SVG = """<svg xmlns="http://www.w3.org/2000/svg" width="4mm" height="2mm" viewBox="0 0 4 2">
  <rect x="0.25" y="0.25" width="1.5" height="1.5" fill="none" stroke="black" stroke-width="0.01"/>
  <circle cx="3" cy="1" r="0.75" fill="none" stroke="black" stroke-width="0.01"/>
</svg>"""

LAYERED_SVG = """<svg xmlns="http://www.w3.org/2000/svg" xmlns:inkscape="http://www.inkscape.org/namespaces/inkscape"
     width="3mm" height="1mm" viewBox="0 0 3 1">
  <g inkscape:groupmode="layer" inkscape:label="Outline"><path d="M0.1 0.5 H1.4" stroke="#ff0000" fill="none"/></g>
  <g inkscape:groupmode="layer" inkscape:label="Fill"><rect x="1.6" y="0.1" width="1.3" height="0.8" fill="#0000ff"/></g>
</svg>"""


def marks(path) -> np.ndarray:
    m = path.is_mark
    return np.column_stack([path.x0[m], path.y0[m], path.x1[m], path.y1[m]])


def write(tmp_path, name: str, text: str):
    p = tmp_path / name
    p.write_text(text)
    return p
