"""Placing a job on the sample: a camera photo of the stage -> features found -> machine
coordinates -> a rigid move (rotation + offset) of the job's toolpath, re-emitted in the job's
controller language with the move recorded in its manifest.

Camera file (TOML), photo pixels (x right, y down) to machine mm, either
    [camera]
    homography = [[h11, h12, h13], [h21, h22, h23], [h31, h32, h33]]   # (X, Y, 1) ~ H (x, y, 1)
or two or more reference moves: the stage moved (or a spot fired) at a known machine position
and the pixel where it appears in the photo, taken from the same camera pose:
    [[reference]]
    machine_mm = [20.0, 20.0]
    photo_px = [812.5, 1630.0]
Two references give a similarity (scale, rotation, offset; `mirrored = true` under [camera]
for a camera looking up through the stage), three or more a least-squares affine map.

What is found (`find`):
  fiducials  the four corner fiducials of a lasergen grid (`lasergen.calib.fiducials`) whose job
             (`--fiducials-from`) says where they were planned: the rigid transform (Kabsch least
             squares over the four centres) from planned to found positions moves the new job the
             way the sample moved (taken off and put back, say).
  corners    the glass itself: the largest bright (or, `dark`, dark) region's minimum-area
             rectangle (rotating calipers over its convex hull). The job's mark bounds are placed
             `margin_mm` inside the rectangle's bottom-left corner, turned with its bottom edge.
A result outside the machine's travel is refused (`planner.check_limits`).
"""

from __future__ import annotations

import math
import tomllib
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from scipy import ndimage
from scipy.spatial import ConvexHull, QhullError

from lasergen import LasergenError
from lasergen.calib.fiducials import find_fiducials
from lasergen.calib.image import decimate, load_linear_rgb, project


@dataclass(frozen=True)
class Rigid:
    """Machine mm -> machine mm: rotate by `angle_deg` about the origin, then shift."""
    angle_deg: float
    dx_mm: float
    dy_mm: float

    def apply(self, x, y):
        a = math.radians(self.angle_deg)
        c, s = math.cos(a), math.sin(a)
        x, y = np.asarray(x, float), np.asarray(y, float)
        return c * x - s * y + self.dx_mm, s * x + c * y + self.dy_mm

    def to_dict(self) -> dict:
        return {"angle_deg": self.angle_deg, "dx_mm": self.dx_mm, "dy_mm": self.dy_mm,
                "meaning": "X' = cos(a) X - sin(a) Y + dx, Y' = sin(a) X + cos(a) Y + dy (mm, degrees ccw)"}


def load_camera(path: str | Path) -> np.ndarray:
    """3x3 map photo px -> machine mm from a camera file."""
    try:
        data = tomllib.loads(Path(path).read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise LasergenError(f"camera file not found: {path}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise LasergenError(f"camera file {path}: {exc}") from None
    unknown = sorted(set(data) - {"camera", "reference"})
    if unknown:
        raise LasergenError(f"camera file {path}: unknown table(s) {', '.join(unknown)} (known: camera, reference)")
    camera = data.get("camera", {})
    if not isinstance(camera, dict) or set(camera) - {"homography", "mirrored"}:
        raise LasergenError(f"camera file {path}: [camera] takes homography and mirrored")
    if "homography" in camera:
        H = _numbers(camera["homography"], (3, 3), f"camera file {path}: homography")
        if abs(np.linalg.det(H)) < 1e-15:
            raise LasergenError(f"camera file {path}: homography is singular")
        return H / H[2, 2] if H[2, 2] else H
    refs = data.get("reference", [])
    if not isinstance(refs, list) or len(refs) < 2:
        raise LasergenError(f"camera file {path}: needs [camera] homography or at least two [[reference]] moves")
    machine = np.array([_numbers(r.get("machine_mm") if isinstance(r, dict) else None, (2,),
                                 f"camera file {path}: reference {i + 1} machine_mm") for i, r in enumerate(refs)])
    photo = np.array([_numbers(r.get("photo_px"), (2,), f"camera file {path}: reference {i + 1} photo_px")
                      for i, r in enumerate(refs)])
    return camera_from_references(photo, machine, bool(camera.get("mirrored", False)))


def _numbers(value, shape, where) -> np.ndarray:
    try:
        arr = np.array(value, dtype=float)
    except (TypeError, ValueError):
        raise LasergenError(f"{where} must be numbers, got {value!r}") from None
    if arr.shape != shape or not np.isfinite(arr).all():
        raise LasergenError(f"{where} must be {' x '.join(map(str, shape))} finite numbers, got {value!r}")
    return arr


def camera_from_references(photo_px: np.ndarray, machine_mm: np.ndarray, mirrored: bool = False) -> np.ndarray:
    """Similarity from two point pairs, least-squares affine from three or more."""
    if len(photo_px) == 2:
        p = photo_px * np.array([1.0, -1.0 if not mirrored else 1.0])  # image y grows down, machine Y up
        zp = complex(*(p[1] - p[0]))
        zm = complex(*(machine_mm[1] - machine_mm[0]))
        if abs(zp) < 1e-9 or abs(zm) < 1e-9:
            raise LasergenError("camera: the two reference moves must be at different places")
        k = zm / zp
        A = np.array([[k.real, -k.imag], [k.imag, k.real]]) @ np.diag([1.0, -1.0 if not mirrored else 1.0])
        t = machine_mm[0] - A @ photo_px[0]
        return np.array([[A[0, 0], A[0, 1], t[0]], [A[1, 0], A[1, 1], t[1]], [0, 0, 1.0]])
    design = np.column_stack([photo_px, np.ones(len(photo_px))])
    coeff, _, rank, _ = np.linalg.lstsq(design, machine_mm, rcond=None)
    if rank < 3:
        raise LasergenError("camera: the reference moves are collinear (no affine map)")
    return np.vstack([coeff.T, [0, 0, 1.0]])


def kabsch(src: np.ndarray, dst: np.ndarray) -> tuple[Rigid, float]:
    """Least-squares rotation + shift taking src points to dst; and the rms residual (mm)."""
    cs, cd = src.mean(axis=0), dst.mean(axis=0)
    m = (src - cs).T @ (dst - cd)
    angle = math.atan2(m[0, 1] - m[1, 0], m[0, 0] + m[1, 1])
    c, s = math.cos(angle), math.sin(angle)
    R = np.array([[c, -s], [s, c]])
    t = cd - R @ cs
    rigid = Rigid(math.degrees(angle), float(t[0]), float(t[1]))
    moved = np.column_stack(rigid.apply(src[:, 0], src[:, 1]))
    return rigid, float(np.sqrt(np.mean(np.sum((moved - dst) ** 2, axis=1))))


def fiducials_in_machine(photo, camera: np.ndarray, grid: dict) -> tuple[np.ndarray, np.ndarray]:
    """(planned, found) machine mm of the grid's four fiducials (TL, TR, BR, BL)."""
    glow = load_linear_rgb(photo).sum(axis=2)
    found = find_fiducials(glow, grid["fiducials"])
    fx, fy = project(camera, found.centres_px[:, 0], found.centres_px[:, 1])
    ox, oy = grid["origin_mm"]
    top = oy + grid["size_um"][1] / 1000.0
    by_name = {f["name"]: f for f in grid["fiducials"]}
    planned = np.array([[ox + by_name[n]["centre_um"][0] / 1000.0, top - by_name[n]["centre_um"][1] / 1000.0]
                        for n in ("TL", "TR", "BR", "BL")])
    return planned, np.column_stack([fx, fy])


def sample_rectangle(photo, camera: np.ndarray, dark: bool = False) -> np.ndarray:
    """The glass's four corners in machine mm (counter-clockwise from the bottom-left)."""
    rgb = load_linear_rgb(photo)
    factor = max(1, int(np.ceil(max(rgb.shape[:2]) / 1000)))
    lum = decimate(rgb.mean(axis=2), factor)
    if dark:
        lum = lum.max() - lum
    threshold = _otsu(lum)
    mask = ndimage.binary_opening(lum > threshold, iterations=2)
    labels, n = ndimage.label(mask)
    if n == 0:
        raise LasergenError("align: no sample found in the photo (try --dark for a dark sample on a light stage)")
    biggest = 1 + int(np.argmax(np.bincount(labels.ravel())[1:]))
    region = ndimage.binary_fill_holes(labels == biggest)
    if region.sum() < 100 or region[0].any() or region[-1].any() or region[:, 0].any() or region[:, -1].any():
        raise LasergenError("align: the sample is not wholly inside the photo (or too small to find)")
    edge = region & ~ndimage.binary_erosion(region)
    ys, xs = np.nonzero(edge)
    px = np.column_stack([(xs + 0.5) * factor - 0.5, (ys + 0.5) * factor - 0.5])
    mx, my = project(camera, px[:, 0], px[:, 1])
    corners = min_area_rectangle(np.column_stack([mx, my]))
    start = int(np.argmin(corners.sum(axis=1)))  # bottom-left: smallest X + Y
    return np.roll(corners, -start, axis=0)


def _otsu(values: np.ndarray) -> float:
    hist, edges = np.histogram(values, bins=256)
    centres = 0.5 * (edges[1:] + edges[:-1])
    w0 = np.cumsum(hist)
    w1 = w0[-1] - w0
    m0 = np.cumsum(hist * centres) / np.maximum(w0, 1)
    m1 = (np.sum(hist * centres) - np.cumsum(hist * centres)) / np.maximum(w1, 1)
    return float(centres[np.argmax(w0 * w1 * (m0 - m1) ** 2)])


def min_area_rectangle(points: np.ndarray) -> np.ndarray:
    """Corners (counter-clockwise) of the smallest rectangle holding the points: one of its sides
    lies on an edge of the convex hull (rotating calipers, vectorised over the hull's edges)."""
    try:
        hull = points[ConvexHull(points).vertices]
    except (QhullError, ValueError):
        raise LasergenError("align: the sample's outline is degenerate") from None
    edges = np.roll(hull, -1, axis=0) - hull
    angles = np.arctan2(edges[:, 1], edges[:, 0])
    c, s = np.cos(angles), np.sin(angles)
    u = hull[None, :, 0] * c[:, None] + hull[None, :, 1] * s[:, None]
    v = -hull[None, :, 0] * s[:, None] + hull[None, :, 1] * c[:, None]
    area = (u.max(1) - u.min(1)) * (v.max(1) - v.min(1))
    k = int(np.argmin(area))
    box_uv = [(u[k].min(), v[k].min()), (u[k].max(), v[k].min()), (u[k].max(), v[k].max()), (u[k].min(), v[k].max())]
    return np.array([(a * c[k] - b * s[k], a * s[k] + b * c[k]) for a, b in box_uv])


def placement_on_rectangle(corners: np.ndarray, mark_bounds_mm, margin_mm: float) -> Rigid:
    """Rigid move putting the job's mark bounds' bottom-left `margin_mm` inside the rectangle's
    bottom-left corner, turned with its bottom edge (the edge from corner 0 with |angle| <= 45)."""
    bl = corners[0]
    edges = [corners[1] - bl, corners[3] - bl]
    bottom = min(edges, key=lambda e: abs(math.atan2(e[1], e[0])))
    angle = math.atan2(bottom[1], bottom[0])
    rot = Rigid(math.degrees(angle), 0.0, 0.0)
    jx, jy = rot.apply(mark_bounds_mm[0], mark_bounds_mm[1])
    mx, my = rot.apply(margin_mm, margin_mm)
    return Rigid(math.degrees(angle), float(bl[0] + mx - jx), float(bl[1] + my - jy))


def move_job(job, rigid: Rigid, out: str | Path, record: dict) -> dict:
    """Write `job` (a parsed Job) moved by `rigid`, in its own controller language, its manifest
    updated (bounds, estimate, checksum) and the move recorded under `alignment`."""
    from lasergen.backends import language_for
    from lasergen.job import BodyDigest, header_text
    from lasergen.planner import check_limits

    machine = job.machine
    path = job.toolpath.take(np.arange(len(job.toolpath)))
    start = (float(path.x0[0]), float(path.y0[0])) if len(path) else (0.0, 0.0)
    path.x1, path.y1 = rigid.apply(path.x1, path.y1)
    path.chain(start)  # the machine still starts where it stands; only the job's own moves turn
    check_limits(path, machine, {})
    layers = job.manifest.get("layers", [])
    pass_info = {}
    for pid in np.unique(path.pass_id).tolist():
        layer = int(path.layer[np.argmax(path.pass_id == pid)])
        entry = layers[layer] if 0 <= layer < len(layers) else {}
        pass_info[pid] = {k: entry[k] for k in ("name", "recipe", "mode") if k in entry}
    lang = language_for(machine)
    digest = BodyDigest()
    body = b"".join(digest.update(chunk) for chunk in lang.emit_body(path, machine, pass_info))
    est = lang.estimate(path, machine)
    manifest = dict(job.manifest)
    manifest.update(bounds_mm=list(path.bounds_mm()), mark_bounds_mm=est["bounds_mm"],
                    estimate={k: round(v, 3) for k, v in est.items() if isinstance(v, float)},
                    body_sha256=digest.sha.hexdigest())
    manifest["counts"] = {**manifest.get("counts", {}), "body_lines": digest.lines}
    previous = manifest.get("alignment")
    manifest["alignment"] = {**record, "transform": rigid.to_dict(),
                             "note": "positions in promises and grid are as planned, before this move"}
    if previous:
        manifest["alignment"]["previous"] = previous
    try:
        with open(out, "wb") as f:
            f.write(header_text(manifest, lang.JOB_TAG).encode())
            f.write(body)
    except OSError as exc:
        raise LasergenError(f"cannot write {out}: {exc}") from None
    return manifest
