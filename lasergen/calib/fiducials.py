"""Finding a grid's four corner fiducials in a photo, and the homography they give.

1. Work on a decimated glow image (longest side <= 1000 px: fast, and centroids stay sub-um
   for grids of a few mm). Subtract the median (bare glass), threshold at a quarter of the
   bright end (the 99.9th percentile; the fiducials are fully crystallized, so even the
   dimmest-lit one of an unevenly lit photo clears it) after a Gaussian blur (sigma 1/800 of
   the diagonal) that closes the gaps between scan lines, and label connected blobs.
2. Per blob: ink area, filled area (holes filled) and the centroid of the filled shape.
3. Candidates: the `CANDIDATES` blobs with the largest filled area. For every four of them,
   ordered round their mean, and each of the 8 ways to name them TL, TR, BR, BL (4 rotations,
   and mirrored for a photo taken through the back of the glass), the homography from the
   design centres to the blob centroids (`lasergen.photo.homography`, four-point DLT) predicts
   each fiducial's filled area (design area x |det J| there) and hole fraction. The score is
   sum(log(area / predicted)^2) + 4 sum((hole - predicted)^2): the ring (hole) names TL, the
   small square BL, so one assignment fits and its mirror does not. Best score wins; a score
   above `MAX_SCORE` means no grid was found.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import combinations

import numpy as np
from scipy import ndimage

from lasergen import LasergenError
from lasergen.calib.image import decimate, local_scale_px_per_um
from lasergen.photo import homography

CANDIDATES = 9
MAX_SCORE = 1.2  # ~ every area within a factor 1.7 of its prediction
WORK_MAX_PX = 1000
ORDER = ("TL", "TR", "BR", "BL")
HOLE_MIN = 0.08  # hole fraction that counts as the ring's hole (design: 0.25)
MIN_AREA_PX = 30


@dataclass
class Found:
    H: np.ndarray  # design um (u right, v down) -> photo px (x right, y down), full resolution
    centres_px: np.ndarray  # 4 x 2, in ORDER
    mirrored: bool
    score: float


def _blobs(glow: np.ndarray):
    signal = ndimage.gaussian_filter(glow - float(np.median(glow)), np.hypot(*glow.shape) / 800)
    high = float(np.percentile(signal, 99.9))
    if not high > 0:
        raise LasergenError("measure: the photo is blank (nothing glows above the background)")
    mask = signal > 0.25 * high
    filled = ndimage.binary_fill_holes(mask)
    labels, n = ndimage.label(filled)
    if n == 0:
        raise LasergenError("measure: nothing bright enough for a fiducial in the photo")
    index = np.arange(1, n + 1)
    filled_area = np.bincount(labels.ravel(), minlength=n + 1)[1:].astype(float)
    ink_area = np.bincount(labels.ravel(), mask.ravel(), minlength=n + 1)[1:]
    centres = np.array(ndimage.center_of_mass(filled, labels, index))[:, ::-1]  # (x, y)
    return filled_area, ink_area, centres


def _clockwise(points: np.ndarray) -> np.ndarray:
    """Indices of the points in clockwise order as seen on screen (y down), from any start."""
    d = points - points.mean(axis=0)
    return np.argsort(np.arctan2(d[:, 1], d[:, 0]))


def find_fiducials(glow: np.ndarray, design: list[dict]) -> Found:
    by_name = {f["name"]: f for f in design}
    if set(by_name) != set(ORDER):
        raise LasergenError("measure: the grid's manifest has no fiducials (planned with --no-fiducials?)")
    factor = max(1, int(np.ceil(max(glow.shape) / WORK_MAX_PX)))
    work = decimate(glow, factor)
    filled, ink, centres = _blobs(work)
    top = np.argsort(filled)[::-1][:CANDIDATES]
    if top.size < 4:
        raise LasergenError(f"measure: found {top.size} bright blob(s), a grid has 4 fiducials")
    design_c = np.array([by_name[n]["centre_um"] for n in ORDER], float)
    design_area = np.array([by_name[n]["side_um"] ** 2 for n in ORDER])
    design_hole = np.array([(by_name[n]["hole_um"] / by_name[n]["side_um"]) ** 2 for n in ORDER])
    best = (np.inf, None, None, False)
    for combo in combinations(top, 4):
        combo = np.array(combo)
        ring = combo[_clockwise(centres[combo])]
        for mirrored in (False, True):
            seq = ring[::-1] if mirrored else ring
            for shift in range(4):
                pick = np.roll(seq, -shift)
                try:
                    H = homography(design_c, centres[pick])
                except LasergenError:
                    continue
                if not np.isfinite(H).all():
                    continue
                scale2 = local_scale_px_per_um(H, design_c[:, 0], design_c[:, 1]) ** 2
                predicted = design_area * scale2
                if not (predicted > 0).all():
                    continue
                hole = 1.0 - ink[pick] / filled[pick]
                if not (hole[0] >= HOLE_MIN and (hole[1:] < HOLE_MIN).all() and (filled[pick] >= MIN_AREA_PX).all()):
                    continue  # the ring must be the only shape with a real hole
                score = float(np.sum(np.log(filled[pick] / predicted) ** 2)
                              + 4.0 * np.sum((hole - design_hole) ** 2))
                if score < best[0]:
                    best = (score, H, pick, mirrored)
    score, H, pick, mirrored = best
    if H is None or score > MAX_SCORE:
        raise LasergenError(f"measure: no grid fiducials found in the photo (best match score {score:.2f}, "
                            f"limit {MAX_SCORE}); is the whole grid in the picture?")
    centres_full = (centres[pick] + 0.5) * factor - 0.5
    H_full = homography(design_c, centres_full) if factor > 1 else H
    return Found(H_full, centres_full, mirrored, score)
