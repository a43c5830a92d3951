"""Test helpers shared by the foundation tests."""

import numpy as np


def rasterize_marks(path, pitch_um: float, origin_mm=(0.0, 0.0), size_mm=None, energy_min=1e-9):
    """A plain rasterisation of the written marks (lines and dots), image row 0 = max Y.
    Used by tests before the simulator is involved."""
    from lasergen.toolpath import DWELL

    marks = path.is_mark & (path.energy_uJ > energy_min)
    x0, y0, x1, y1 = path.x0[marks], path.y0[marks], path.x1[marks], path.y1[marks]
    dwell = path.kind[marks] == DWELL
    px = pitch_um / 1000.0
    if size_mm is None:
        size_mm = (max(x0.max(), x1.max()) - origin_mm[0] + px, max(y0.max(), y1.max()) - origin_mm[1] + px)
    cols, rows = int(np.ceil(size_mm[0] / px)), int(np.ceil(size_mm[1] / px))
    img = np.zeros((rows, cols), dtype=bool)
    for a, b, c, d, is_dot in zip(x0, y0, x1, y1, dwell):
        n = max(2, int(abs(c - a) / px * 2) + 2, int(abs(d - b) / px * 2) + 2)
        xs = np.linspace(a, c, n) if not is_dot else np.array([a])
        ys = np.linspace(b, d, n) if not is_dot else np.array([b])
        ci = np.clip(((xs - origin_mm[0]) / px).astype(int), 0, cols - 1)
        ri = np.clip(rows - 1 - ((ys - origin_mm[1]) / px).astype(int), 0, rows - 1)
        # a mark from pixel edge to pixel edge covers the pixels strictly inside it
        inside = (xs > min(a, c) + 1e-9) & (xs < max(a, c) - 1e-9) if not is_dot and a != c else np.ones_like(xs, bool)
        img[ri[inside], ci[inside]] = True
    return img
