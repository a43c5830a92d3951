"""SVG path data (`d`) and basic shapes as segments, and their flattening in bulk.

`parse_path` reads the path grammar of SVG 1.1 §8.3 (every command, absolute and relative,
implicit repetition, compact arc flags such as `a1 1 0 01.5.5`) into rows of one `Segments`
table; quadratic curves become the cubic of the same curve (exact degree elevation), arcs keep
their endpoint form (zero radii a line, an arc to its own start omitted) and are turned into
their centre form all at once (SVG 1.1 §F.6.5, radii scaled up when too small). A document's
segments are then flattened together, numpy over all of them: a cubic into n chords by Wang's
bound n = ceil(sqrt(3/4 M / tol)), M the largest second difference of its control points, an
arc by the sagitta bound n = span / (2 acos(1 - tol / r)); each point is mapped by its
element's affine transform, the tolerance having been divided by the transform's largest
stretch so that it holds after it. An S after a Q or T (a T after a C or S) starts from the
current point, as SVG 1.1 §8.3.6 says (svgelements reflects the other curve's control there).
Anything outside the grammar raises `PathSyntax` (the caller then leaves the file to
svgelements).
"""

from __future__ import annotations

import math
import re

import numpy as np

from lasergen import LasergenError
from lasergen.sources.vector_common import MAX_POINTS

START, LINE, CUBIC, ARC = 0, 1, 2, 3
_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_TOKENS = re.compile(rf"[MmZzLlHhVvCcSsQqTtAa]|{_NUMBER}")
_JUNK = re.compile(rf"[MmZzLlHhVvCcSsQqTtAa]|{_NUMBER}|[\s,]+")  # what is left after it is not path data
_ARITY = {"M": 2, "L": 2, "H": 1, "V": 1, "C": 6, "S": 4, "Q": 4, "T": 2, "A": 7, "Z": 0}


class PathSyntax(ValueError):
    """Path data (or a shape attribute) outside what this parser reads."""


class Segments:
    """Rows of segments: kind, the cubic's four control points (a start or line keeps its
    point in p3), an arc's centre form, the subpath each belongs to and whether that closes."""

    def __init__(self):
        self.rows: list[tuple] = []  # (kind, x0, y0, x1, y1, x2, y2, x3, y3, cx, cy, rx, ry, phi, t0, dt)
        self.subpath: list[int] = []
        self.closed: list[bool] = []  # per subpath
        self.element: list[int] = []  # per subpath

    def start(self, x: float, y: float, element: int):
        self.closed.append(False)
        self.element.append(element)
        self._add((START, 0, 0, 0, 0, 0, 0, x, y) + (0,) * 7)

    def _add(self, row):
        self.rows.append(row)
        self.subpath.append(len(self.closed) - 1)


def _numbers(d: str) -> list[str]:
    """Tokens of path data: command letters and numbers; anything else is a syntax error."""
    if _JUNK.sub("", d).strip(" \t\r\n,"):
        raise PathSyntax(f"path data: unexpected characters in {d[:20]!r}")
    return _TOKENS.findall(d)


def _flag(tokens: list, i: int):
    """An arc flag at token i, which may run into the next number ("01" is two flags)."""
    t = tokens[i]
    if not t or t[0] not in "01":
        raise PathSyntax(f"path data: arc flag {t!r} is not 0 or 1")
    rest = t[1:]
    if rest:
        tokens.insert(i + 1, rest)
    return t[0] == "1"


def parse_path(d: str, seg: Segments, element: int) -> None:
    """Append the subpaths of path data `d` (user units of its element) to `seg`."""
    tokens = _numbers(d)
    i, cmd = 0, None
    x = y = sx = sy = 0.0  # current point, subpath start
    last_ctrl, last_kind = None, None
    open_subpath = False

    def need_start():
        nonlocal open_subpath
        if not open_subpath:
            seg.start(x, y, element)
            open_subpath = True

    while i < len(tokens):
        t = tokens[i]
        if t[0].isalpha():
            cmd, i = t, i + 1
            if cmd in "Zz":
                if open_subpath:
                    if (x, y) != (sx, sy):
                        seg._add((LINE, x, y, 0, 0, 0, 0, sx, sy) + (0,) * 7)
                    seg.closed[-1] = True
                x, y, open_subpath, last_kind = sx, sy, False, None
                continue
        elif cmd is None or cmd in "Zz":
            raise PathSyntax("path data: a number without a command")
        up = cmd.upper()
        rel = cmd.islower()
        n = _ARITY[up]
        if up == "A":
            try:
                rx, ry, phi = (float(tokens[i + k]) for k in range(3))
                large, sweep = _flag(tokens, i + 3), _flag(tokens, i + 4)
                vals = [float(tokens[i + 5]), float(tokens[i + 6])]
            except (IndexError, ValueError):
                raise PathSyntax(f"path data: {cmd} needs 7 numbers") from None
        else:
            try:
                vals = [float(v) for v in tokens[i:i + n]]
            except ValueError:
                raise PathSyntax(f"path data: {cmd} needs {n} numbers") from None
            if len(vals) < n:
                raise PathSyntax(f"path data: {cmd} needs {n} numbers")
        i += n
        ox, oy = (x, y) if rel else (0.0, 0.0)
        if up == "M":
            x, y = ox + vals[0], oy + vals[1]
            sx, sy = x, y
            seg.start(x, y, element)
            open_subpath, last_kind = True, None
            cmd = "l" if rel else "L"  # further pairs are line-tos
            continue
        need_start()
        if up in "LHV":
            if up == "H":
                nx, ny = (x + vals[0] if rel else vals[0]), y
            elif up == "V":
                nx, ny = x, (y + vals[0] if rel else vals[0])
            else:
                nx, ny = ox + vals[0], oy + vals[1]
            seg._add((LINE, x, y, 0, 0, 0, 0, nx, ny) + (0,) * 7)
            x, y, last_kind = nx, ny, None
        elif up in "CS":
            if up == "C":
                c1 = (ox + vals[0], oy + vals[1])
                c2, end = (ox + vals[2], oy + vals[3]), (ox + vals[4], oy + vals[5])
            else:
                c1 = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_kind == "C" else (x, y)
                c2, end = (ox + vals[0], oy + vals[1]), (ox + vals[2], oy + vals[3])
            seg._add((CUBIC, x, y, *c1, *c2, *end) + (0,) * 7)
            (x, y), last_ctrl, last_kind = end, c2, "C"
        elif up in "QT":
            if up == "Q":
                q, end = (ox + vals[0], oy + vals[1]), (ox + vals[2], oy + vals[3])
            else:
                q = (2 * x - last_ctrl[0], 2 * y - last_ctrl[1]) if last_kind == "Q" else (x, y)
                end = (ox + vals[0], oy + vals[1])
            c1 = (x + 2 / 3 * (q[0] - x), y + 2 / 3 * (q[1] - y))
            c2 = (end[0] + 2 / 3 * (q[0] - end[0]), end[1] + 2 / 3 * (q[1] - end[1]))
            seg._add((CUBIC, x, y, *c1, *c2, *end) + (0,) * 7)
            (x, y), last_ctrl, last_kind = end, q, "Q"
        else:  # arc
            end = (ox + vals[0], oy + vals[1])
            _arc(seg, (x, y), end, rx, ry, phi, large, sweep)
            (x, y), last_kind = end, None
    if not (math.isfinite(x) and math.isfinite(y)):
        raise PathSyntax("path data: a coordinate is not finite")


def _arc(seg: Segments, start, end, rx, ry, phi_deg, large, sweep):
    """An arc in endpoint form (SVG 1.1 §F.6.4); `centre_form` converts all of them at once."""
    if start == end:
        return  # an arc to its own start is omitted
    if rx == 0 or ry == 0:
        seg._add((LINE, *start, 0, 0, 0, 0, *end) + (0,) * 7)
        return
    seg._add((ARC, *start, 0, 0, 0, 0, *end, abs(rx), abs(ry), phi_deg, float(large), float(sweep), 0, 0))


def centre_form(r: np.ndarray) -> np.ndarray:
    """Arc rows (endpoint form in columns 9..13) -> (cx, cy, rx, ry, phi, t0, dt) per row
    (SVG 1.1 §F.6.5, radii scaled up where they cannot reach, F.6.6)."""
    x1, y1, x2, y2 = r[:, 1], r[:, 2], r[:, 7], r[:, 8]
    rx, ry, phi, large, sweep = r[:, 9], r[:, 10], np.radians(r[:, 11] % 360.0), r[:, 12] > 0, r[:, 13] > 0
    c, s = np.cos(phi), np.sin(phi)
    dx, dy = (x1 - x2) / 2, (y1 - y2) / 2
    xp, yp = c * dx + s * dy, -s * dx + c * dy
    grow = np.sqrt(np.maximum(1.0, (xp / rx) ** 2 + (yp / ry) ** 2))
    rx, ry = rx * grow, ry * grow
    num = rx * rx * ry * ry - rx * rx * yp * yp - ry * ry * xp * xp
    den = rx * rx * yp * yp + ry * ry * xp * xp
    k = np.sqrt(np.maximum(0.0, np.where(den > 0, num / np.where(den > 0, den, 1.0), 0.0)))
    k = np.where(large == sweep, -k, k)
    cxp, cyp = k * rx * yp / ry, -k * ry * xp / rx
    cx, cy = c * cxp - s * cyp + (x1 + x2) / 2, s * cxp + c * cyp + (y1 + y2) / 2
    t0 = np.arctan2((yp - cyp) / ry, (xp - cxp) / rx)
    t1 = np.arctan2((-yp - cyp) / ry, (-xp - cxp) / rx)
    dt = (t1 - t0) % (2 * np.pi)
    dt = np.where(~sweep & (dt > 0), dt - 2 * np.pi, dt)
    return np.column_stack([cx, cy, rx, ry, phi, t0, dt])


def flatten(seg: Segments, matrices: np.ndarray, tol: float):
    """(points (N, 2) after each element's transform, first point index per subpath, closed
    flags): every segment of the document at once. `matrices[e]` is element e's 2x3 affine."""
    if not seg.rows:
        return np.zeros((0, 2)), np.zeros(0, np.int64), np.zeros(0, bool)
    r = np.array(seg.rows, dtype=np.float64)
    sub = np.asarray(seg.subpath, dtype=np.int64)
    elem = np.asarray(seg.element, dtype=np.int64)[sub]
    m = matrices[elem]  # (S, 2, 3)
    stretch = np.linalg.norm(m[:, :, :2], ord=2, axis=(1, 2))
    local_tol = tol / np.maximum(stretch, 1e-300)
    kind = r[:, 0].astype(np.int64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        r[kind == ARC, 9:16] = centre_form(r[kind == ARC])
    ctrl = r[:, 1:9].reshape(-1, 4, 2)
    count = np.ones(len(r), dtype=np.float64)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        cub = kind == CUBIC
        second = np.abs(ctrl[cub, :2] - 2 * ctrl[cub, 1:3] + ctrl[cub, 2:])
        bound = np.hypot(second[..., 0], second[..., 1]).max(axis=1)
        count[cub] = np.ceil(np.sqrt(0.75 * bound / local_tol[cub]))
        arc = kind == ARC
        radius = np.maximum(r[arc, 11], r[arc, 12])
        step = 2 * np.arccos(np.clip(1 - local_tol[arc] / radius, -1, 1))
        count[arc] = np.where(radius <= local_tol[arc], 1, np.ceil(np.abs(r[arc, 15]) / step))
    count = np.nan_to_num(np.maximum(count, 1), nan=1.0, posinf=np.inf)
    if not np.isfinite(count).all() or count.sum() > MAX_POINTS:
        raise LasergenError(f"svg: curves would flatten into more than {MAX_POINTS:,} points at this "
                            f"tolerance (an absurd transform or size?); raise tolerance_um")
    count = count.astype(np.int64)
    owner = np.repeat(np.arange(len(r)), count)
    k = np.arange(owner.size) - np.repeat(np.cumsum(count) - count, count) + 1
    t = k / count[owner]
    pts = np.repeat(ctrl[:, 3], count, axis=0)  # lines and starts: their point; t = 1 elsewhere
    for code, fill in ((CUBIC, _cubic_points), (ARC, _arc_points)):
        at = kind[owner] == code
        if at.any():
            pts[at] = fill(r[owner[at]], t[at])
    last = np.cumsum(count) - 1
    pts[last] = ctrl[:, 3]  # every segment ends exactly on its end point
    mat = m[owner]
    out = np.einsum("nij,nj->ni", mat[:, :, :2], pts) + mat[:, :, 2]
    if not np.isfinite(out).all():
        raise LasergenError("svg: a coordinate is not finite after its transform")
    starts = np.flatnonzero(kind[owner] == START)
    return out, starts, np.asarray(seg.closed, dtype=bool)


def _cubic_points(rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    p = rows[:, 1:9].reshape(-1, 4, 2)
    u = (1 - t)[:, None]
    t = t[:, None]
    return u ** 3 * p[:, 0] + 3 * u * u * t * p[:, 1] + 3 * u * t * t * p[:, 2] + t ** 3 * p[:, 3]


def _arc_points(rows: np.ndarray, t: np.ndarray) -> np.ndarray:
    cx, cy, rx, ry, phi, t0, dt = rows[:, 9:16].T
    theta = t0 + dt * t
    ex, ey = rx * np.cos(theta), ry * np.sin(theta)
    c, s = np.cos(phi), np.sin(phi)
    return np.column_stack([cx + c * ex - s * ey, cy + s * ex + c * ey])
