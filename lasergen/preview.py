"""Toolpath preview: what the controller will do, drawn as a PNG (no physics).

Marks are coloured by pulse energy (a perceptual ramp between the job's lowest and highest
energy) or by pass (a repeating palette); dots are discs whose area grows with their dwell;
travel (G0) and blank moves (G1 S0: lead-ins, gaps) are thin dashed grey lines; the marks'
bounds are a thin frame; a caption strip holds a scale bar, the bounds and the legend.
Seen from the laser side: machine +X to the right, +Y up (image row 0 is the largest Y).

Drawing is vectorised: a move no longer than a pixel is its two end points, a longer one is
sampled at 0.5 px steps (all segments of a chunk at once, np.repeat); samples are written into
an index image by flat fancy indexing and the palette is applied once; the 10^7 rows of a
4096^2 raster job draw in about 2 s. Travel is drawn first, so marks cover it; among marks,
later rows win. Dashes follow the distance along the whole travel set.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lasergen import LasergenError
from lasergen.toolpath import DWELL, RAPID, Toolpath, masked_bounds

RAMP = np.array([[68, 1, 84], [59, 82, 139], [33, 145, 140], [94, 201, 98], [253, 231, 37]], float)  # viridis
PASS_COLOURS = np.array([[31, 119, 180], [255, 127, 14], [44, 160, 44], [214, 39, 40], [148, 103, 189],
                         [140, 86, 75], [227, 119, 194], [188, 189, 34], [23, 190, 207]], np.uint8)
BACKGROUND, TRAVEL_GREY, BLANK_GREY, FRAME_GREY = (255, 255, 255), (150, 150, 150), (200, 200, 200), (120, 120, 120)
BG, TRAVEL, BLANK, FRAME, FIRST_MARK = 0, 1, 2, 3, 4  # index image values; marks from FIRST_MARK on
LEVELS = 256
DASH_PX = 8.0
CAPTION_PX = 44
CHUNK_SAMPLES = 1 << 22
BLOCK_ROWS = 1 << 16
MAX_DOT_RADIUS_PX = 6


def _ramp(levels: int) -> np.ndarray:
    t = np.linspace(0, 1, levels) * (len(RAMP) - 1)
    i = np.minimum(t.astype(int), len(RAMP) - 2)
    f = (t - i)[:, None]
    return (RAMP[i] * (1 - f) + RAMP[i + 1] * f).round().astype(np.uint8)


class Canvas:
    """An index image over machine coordinates, `mm_per_px` per pixel, row 0 at the top (max Y)."""

    def __init__(self, bounds_mm, size_px: int):
        x0, y0, x1, y1 = bounds_mm
        span = max(x1 - x0, y1 - y0, 1e-6)
        self.mm_per_px = span / max(1, size_px - 16)
        pad = 8 * self.mm_per_px
        self.x0, self.y1 = x0 - pad, y1 + pad
        self.cols = int(np.ceil((x1 - x0 + 2 * pad) / self.mm_per_px)) + 1
        self.rows = int(np.ceil((y1 - y0 + 2 * pad) / self.mm_per_px)) + 1
        self.index = np.zeros((self.rows, self.cols), dtype=np.uint16)

    def to_px(self, x, y):
        """Machine mm -> (column, row) in fractional pixels."""
        return (np.asarray(x, dtype=np.float64) - self.x0) / self.mm_per_px, \
            (self.y1 - np.asarray(y, dtype=np.float64)) / self.mm_per_px

    def put(self, c, r, v):
        """Write index values at fractional pixel positions; later ones win; off-canvas dropped."""
        c, r = np.floor(c, out=c).astype(np.int64), np.floor(r, out=r).astype(np.int64)
        on = (c >= 0) & (c < self.cols) & (r >= 0) & (r < self.rows)
        self.index.ravel()[(r * self.cols + c)[on]] = v[on] if np.ndim(v) else v

    def segments(self, x0, y0, x1, y1, value, dashed: bool = False, phase_px: float = 0.0) -> float:
        """Draw segments (arrays) with per-segment index `value` (or one value for all). A move no
        longer than a pixel is drawn as its two end points; longer ones are sampled every half
        pixel, in chunks. Dashes follow the distance travelled along all the segments drawn, so a
        chain of short moves (gaps of a scan line) is dashed as one line; `phase_px` is the
        distance drawn before (segments drawn in blocks), the distance after is returned."""
        n = len(x0)
        if n == 0:
            return phase_px
        c0, r0 = self.to_px(x0, y0)
        c1, r1 = self.to_px(x1, y1)
        length_px = np.hypot(c1 - c0, r1 - r0)
        along = np.cumsum(length_px) + phase_px if dashed else None
        phase = along - length_px if dashed else None
        one_value = np.ndim(value) == 0
        value = np.broadcast_to(np.asarray(value, dtype=np.uint16), (n,))
        short = length_px <= 1.0
        if one_value or short.all():  # the order of drawing only matters between different values
            self._ends(c0[short], r0[short], c1[short], r1[short], value[short],
                       None if phase is None else phase[short], length_px[short])
            long = ~short
            self._sampled(c0[long], r0[long], c1[long], r1[long], value[long], length_px[long],
                          None if phase is None else phase[long])
        else:
            self._sampled(c0, r0, c1, r1, value, length_px, phase)
        return float(along[-1]) if dashed else phase_px

    def _ends(self, c0, r0, c1, r1, value, phase, length_px):
        c, r = _interleave(c0, c1), _interleave(r0, r1)
        v = np.repeat(value, 2)
        if phase is not None:
            keep = _in_dash(_interleave(phase, phase + length_px))
            c, r, v = c[keep], r[keep], v[keep]
        self.put(c, r, v)

    def _sampled(self, c0, r0, c1, r1, value, length_px, phase):
        n = len(c0)
        if n == 0:
            return
        samples = np.ceil(length_px * 2).astype(np.int64) + 1
        cum = np.cumsum(samples)
        edges = np.unique(np.r_[0, np.searchsorted(cum, np.arange(CHUNK_SAMPLES, cum[-1], CHUNK_SAMPLES)), n])
        for start, stop in zip(edges[:-1].tolist(), edges[1:].tolist()):
            sl = slice(start, stop)
            k = samples[sl]
            seg = np.repeat(np.arange(stop - start), k)
            offset = np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k)
            t = offset / np.maximum(k - 1, 1)[seg]
            c = c0[sl][seg] + (c1[sl] - c0[sl])[seg] * t
            r = r0[sl][seg] + (r1[sl] - r0[sl])[seg] * t
            v = value[sl][seg]
            if phase is not None:
                keep = _in_dash(phase[sl][seg] + length_px[sl][seg] * t)
                c, r, v = c[keep], r[keep], v[keep]
            self.put(c, r, v)

    def discs(self, x, y, radius_px: np.ndarray, value):
        value = np.broadcast_to(np.asarray(value, dtype=np.uint16), (len(x),))
        c, r = (np.floor(v).astype(np.int64) for v in self.to_px(x, y))
        for rad in np.unique(radius_px):
            dy, dx = np.mgrid[-rad:rad + 1, -rad:rad + 1]
            inside = dx ** 2 + dy ** 2 <= rad ** 2 + rad
            pick = radius_px == rad
            rr = (r[pick][:, None] + dy[inside][None]).ravel()
            cc = (c[pick][:, None] + dx[inside][None]).ravel()
            on = (cc >= 0) & (cc < self.cols) & (rr >= 0) & (rr < self.rows)
            self.index[rr[on], cc[on]] = np.repeat(value[pick], inside.sum())[on]


def _interleave(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    out = np.empty(2 * len(a))
    out[0::2], out[1::2] = a, b
    return out


def _in_dash(along_px: np.ndarray) -> np.ndarray:
    """Whether a point this far along a dashed line (px) falls on a dash (on/off, DASH_PX each)."""
    return (np.floor(along_px * (2.0 / DASH_PX)).astype(np.int64) & 1) == 0


def mark_values(path: Toolpath, marks: np.ndarray, colour_by: str, energy_range: tuple[float, float]) -> np.ndarray:
    """Index-image values of the marks: their pass, or their energy on the ramp over `energy_range`."""
    if colour_by == "pass":
        return FIRST_MARK + (path.pass_id[marks] % len(PASS_COLOURS)).astype(np.uint16)
    lo, hi = energy_range
    energy = path.energy_uJ[marks].astype(np.float64)
    level = np.zeros(energy.size) if hi <= lo else (energy - lo) / (hi - lo) * (LEVELS - 1)
    return FIRST_MARK + np.rint(level).astype(np.uint16)


def blocks(parts) -> list[Toolpath]:
    """A toolpath (or its pieces, as read) as views of at most BLOCK_ROWS rows: drawn block by
    block, the temporaries stay small enough for the cache and memory stays flat."""
    parts = [parts] if isinstance(parts, Toolpath) else list(parts)
    return [part.take(slice(start, start + BLOCK_ROWS)) for part in parts for start in range(0, len(part), BLOCK_ROWS)]


def summary(parts: list[Toolpath]) -> dict:
    """What framing and colouring need from all rows: counts, job and mark bounds, the marks'
    energy range and the longest dwell."""
    out = {"rows": 0, "marks": 0, "dots": 0, "bounds": [], "mark_bounds": [], "energy": [], "dwell_max": 0.0}
    for b in parts:
        marks = b.is_mark
        dots = marks & (b.kind == DWELL)
        out["rows"] += len(b)
        out["marks"] += int(marks.sum())
        out["dots"] += int(dots.sum())
        out["bounds"].append(b.bounds_mm())
        if marks.any():
            out["mark_bounds"].append(masked_bounds(b.x0, b.y0, b.x1, b.y1, marks))
            energy = b.energy_uJ[marks]
            out["energy"] += [float(energy.min()), float(energy.max())]
        if dots.any():
            out["dwell_max"] = max(out["dwell_max"], float(b.dwell_s[dots].max()))
    if not out["rows"]:
        raise LasergenError("preview: the job has no moves")
    out["bounds"] = _union(out["bounds"])
    out["mark_bounds"] = _union(out["mark_bounds"]) if out["mark_bounds"] else out["bounds"]
    out["energy"] = (min(out["energy"]), max(out["energy"])) if out["energy"] else (0.0, 0.0)
    return out


def _union(boxes) -> tuple[float, float, float, float]:
    a = np.asarray(boxes, dtype=np.float64).reshape(-1, 4)
    return (float(a[:, 0].min()), float(a[:, 1].min()), float(a[:, 2].max()), float(a[:, 3].max()))


def nice_length_mm(width_mm: float) -> float:
    target = width_mm / 5
    exponent = np.floor(np.log10(target))
    return float(max(s * 10 ** exponent for s in (1, 2, 5, 10) if s * 10 ** exponent <= target))


def caption(image: Image.Image, canvas: Canvas, bounds, legend, colour_by: str, palette) -> Image.Image:
    out = Image.new("RGB", (image.width, image.height + CAPTION_PX), BACKGROUND)
    out.paste(image, (0, 0))
    draw = ImageDraw.Draw(out)
    try:
        font = ImageFont.load_default(size=13)
    except TypeError:  # Pillow < 10.1
        font = ImageFont.load_default()
    bar_mm = nice_length_mm(canvas.cols * canvas.mm_per_px)
    bar_px = max(1, int(round(bar_mm / canvas.mm_per_px)))
    y = image.height + 12
    draw.rectangle([8, y - 2, 8 + bar_px, y + 2], fill=(20, 20, 20))
    label = f"{bar_mm * 1000:g} um" if bar_mm < 1 else f"{bar_mm:g} mm"
    draw.text((14 + bar_px, y - 8), label, fill=(20, 20, 20), font=font)
    draw.text((8, y + 10), f"marks X {bounds[0]:.3f}..{bounds[2]:.3f}  Y {bounds[1]:.3f}..{bounds[3]:.3f} mm",
              fill=(20, 20, 20), font=font)
    x = max(bar_px + 90, image.width // 2)
    if legend is not None:
        ramp = palette[np.linspace(0, len(palette) - 1, 120).astype(int)]
        out.paste(Image.fromarray(np.repeat(ramp[None], 10, axis=0)), (x, y - 5))
        draw.text((x + 126, y - 8), f"{legend[0]:g}..{legend[1]:g} uJ", fill=(20, 20, 20), font=font)
    elif colour_by == "pass":
        for i, colour in enumerate(palette[:6]):
            draw.rectangle([x + 18 * i, y - 5, x + 18 * i + 12, y + 5], fill=tuple(int(v) for v in colour))
        draw.text((x + 112, y - 8), "pass 0, 1, 2 ...", fill=(20, 20, 20), font=font)
    return out


def draw_preview(path: Toolpath | list[Toolpath], out: str | Path, colour_by: str = "energy", size_px: int = 2048,
                 travel: bool = True) -> dict:
    """Draw the toolpath (or its pieces in order) into `out` (PNG); returns what was drawn."""
    if colour_by not in ("energy", "pass"):
        raise LasergenError(f"preview: colour_by must be 'energy' or 'pass', got {colour_by!r}")
    if not 64 <= size_px <= 16384:
        raise LasergenError(f"preview: size must be 64..16384 px, got {size_px}")
    parts = blocks(path)
    seen = summary(parts)
    bounds = seen["mark_bounds"]
    canvas = Canvas(bounds, size_px)  # framed on the marks; travel beyond the frame is cut off
    if travel:  # blank moves, then rapids, then marks: later layers cover earlier ones
        for value in (BLANK, TRAVEL):
            phase_px = 0.0
            for b in parts:
                rapid = b.kind == RAPID
                pick = rapid if value == TRAVEL else (b.kind != DWELL) & ~rapid & ~b.is_mark
                phase_px = canvas.segments(b.x0[pick], b.y0[pick], b.x1[pick], b.y1[pick], value, True, phase_px)
    x0, y0, x1, y1 = bounds
    canvas.segments(np.array([x0, x1, x1, x0]), np.array([y0, y0, y1, y1]),
                    np.array([x1, x1, x0, x0]), np.array([y0, y1, y1, y0]), FRAME, True)
    for b in parts:
        lines = b.is_mark & (b.kind != DWELL)
        canvas.segments(b.x0[lines], b.y0[lines], b.x1[lines], b.y1[lines], mark_values(b, lines, colour_by, seen["energy"]))
    biggest = MAX_DOT_RADIUS_PX if seen["dots"] < 100_000 else 2
    for b in parts if seen["dots"] else ():
        dots = b.is_mark & (b.kind == DWELL)
        if dots.any():
            dwell = b.dwell_s[dots].astype(np.float64)
            radius = np.clip(np.rint(biggest * np.sqrt(dwell / seen["dwell_max"])), 1, biggest).astype(np.int64)
            canvas.discs(b.x0[dots], b.y0[dots], radius, mark_values(b, dots, colour_by, seen["energy"]))
    palette, legend = (PASS_COLOURS, None) if colour_by == "pass" else (_ramp(LEVELS), seen["energy"])
    colours = np.zeros((FIRST_MARK + len(palette), 3), dtype=np.uint8)
    colours[[BG, TRAVEL, BLANK, FRAME]] = [BACKGROUND, TRAVEL_GREY, BLANK_GREY, FRAME_GREY]
    colours[FIRST_MARK:] = palette
    image = caption(Image.fromarray(colours[canvas.index]), canvas, bounds, legend, colour_by, palette)
    try:
        image.save(out, compress_level=1)
    except (OSError, ValueError) as exc:
        raise LasergenError(f"cannot write {out}: {exc}") from None
    return {"out": str(out), "job_bounds_mm": [round(float(v), 6) for v in seen["bounds"]],
            "marks": seen["marks"], "dots": seen["dots"], "travels": seen["rows"] - seen["marks"],
            "bounds_mm": [round(float(v), 6) for v in bounds], "um_per_px": canvas.mm_per_px * 1000.0,
            "size_px": [canvas.cols, canvas.rows + CAPTION_PX]}
