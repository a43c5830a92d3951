"""Exposure: beam history -> per depth plane, crystallization dose, fraction, rewrites, damage.

Algorithm (vectorised per plane; the one walk in time order is `nucleation`):
1. Planes. Exposures are grouped by focus depth (`focus.depth_um` of their Z) into planes further
   apart than the axial interaction length (`focus.axial_interaction_um`); planes share no glass.
2. Pieces. Every exposure is cut into pieces (<= one pixel long) with the time the beam
   entered each: exact for the executed trapezoidal profile (t(s) inverts accelerate / cruise /
   decelerate, rescaled to the executed duration), so a mark written while accelerating gets
   more time per length. A dwell is one piece.
3. Nucleation (`nucleation.nucleate`): which fraction of each piece's time came after the pool
   nucleated (`keep`), which pieces re-melt cooled crystals (rewriting), and the heat left by
   earlier strokes (a rate factor exp(-Ea/R (1/(T+dT) - 1/T)) on the piece's time).
4. Dose. Per writing point (energy, rep rate): the kept time splatted bilinearly on the grid
   (np.bincount) and convolved with the Arrhenius rate kernel of `thermal` (oaconvolve on the
   bounding box): D1 from first writes, D2 from rewriting pieces.
5. Upper limits. Where the sustained field exceeds the dissolution temperature the perovskite
   phase dissolves in the melt and its precursor is lost (earlier crystals, and what this
   exposure would grow): survival exp(-t_above / dissolve_time_s), so an over-hot dot has a dark
   core, an over-hot line a dark axis, and a strong second pass erases what was written. Pixels
   whose per-pulse peak exceeded the damage temperature for damage_time_s are damaged: no PL.
6. Avrami. X = survival (1 - exp(-(D1 + D2)^n)). Rewrites: the crystals the first write had grown
   (share s = X(D1) / X(D1 + D2) of the pixel's) are rewritten with extent n_rw = D2 / D1 (capped
   at rewrite_max): a second identical pass gives 1, a weaker one less; the rest are first writes
   of the rewriting pass. `rewrites` holds the pixel's extent s n_rw (`phase_model` splits it).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
from scipy import signal

from hardware_sim.glass import focus, thermal
from hardware_sim.glass.material import Material
from hardware_sim.glass.nucleation import nucleate, stroke_bounds
from hardware_sim.ledger import BeamHistory

PIECES_PER_PIXEL = 1


@dataclass(frozen=True)
class Grid:
    """Pixel [iy, ix] covers x0 + ix*p .. x0 + (ix+1)*p (mm, p = pitch); iy grows with machine Y."""
    x0_mm: float
    y0_mm: float
    pitch_um: float
    ny: int
    nx: int

    @classmethod
    def around(cls, bounds_mm, pitch_um: float, margin_um: float) -> "Grid":
        x_min, y_min, x_max, y_max = bounds_mm
        m = margin_um / 1000.0
        p = pitch_um / 1000.0
        nx = int(np.ceil((x_max - x_min + 2 * m) / p)) + 1
        ny = int(np.ceil((y_max - y_min + 2 * m) / p)) + 1
        return cls(x_min - m, y_min - m, pitch_um, ny, nx)

    @property
    def shape(self) -> tuple[int, int]:
        return (self.ny, self.nx)

    @property
    def pixel_area_um2(self) -> float:
        return self.pitch_um ** 2

    def fractional_index(self, x_mm, y_mm):
        """Continuous (row, col) of points, pixel centres at integers."""
        p = self.pitch_um / 1000.0
        return (np.asarray(y_mm) - self.y0_mm) / p - 0.5, (np.asarray(x_mm) - self.x0_mm) / p - 0.5

    def x_mm(self, cols):
        return self.x0_mm + (np.asarray(cols) + 0.5) * self.pitch_um / 1000.0

    def y_mm(self, rows):
        return self.y0_mm + (np.asarray(rows) + 0.5) * self.pitch_um / 1000.0


@dataclass
class Pieces:
    """Sub-pixel pieces of beam exposure: position (mm), entry time and beam time (s), history row."""
    x_mm: np.ndarray
    y_mm: np.ndarray
    z_mm: np.ndarray
    t_s: np.ndarray
    dt_s: np.ndarray
    row: np.ndarray
    step_mm: np.ndarray      # length of each piece (0 for a dwell)
    stroke_cuts: np.ndarray  # piece index where each stroke (beam on without a break) starts, + end

    @property
    def speed_mm_s(self) -> np.ndarray:
        """Mean beam speed over each piece (0 for a dwell)."""
        return np.where(self.dt_s > 0, self.step_mm / np.maximum(self.dt_s, 1e-30), 0.0)


def time_along(s, length, v0, vp, v1, accel):
    """Time to travel s (mm) along a trapezoidal move (GRBL): accelerate, cruise, decelerate."""
    a = np.where(accel > 0, accel, 1.0)
    s1 = np.where(accel > 0, np.clip((vp ** 2 - v0 ** 2) / (2 * a), 0, length), 0.0)
    s2 = np.where(accel > 0, np.clip((vp ** 2 - v1 ** 2) / (2 * a), 0, length - s1), 0.0)
    vp_safe = np.maximum(vp, 1e-12)
    cruise_len = np.maximum(length - s1 - s2, 0.0)
    t_acc = (np.sqrt(v0 ** 2 + 2 * a * np.minimum(s, s1)) - v0) / a
    t_cruise = np.clip(s - s1, 0, cruise_len) / vp_safe
    s_dec = np.clip(s - s1 - cruise_len, 0, s2)
    t_dec = (vp - np.sqrt(np.maximum(vp ** 2 - 2 * a * s_dec, 0.0))) / a
    return np.where(accel > 0, t_acc + t_cruise + t_dec, s / vp_safe)


def cut_into_pieces(history: BeamHistory, pitch_um: float) -> Pieces:
    """Pieces of the exposure rows of `history` (which must hold exposures only, in time order)."""
    length = np.hypot(history.x1 - history.x0, history.y1 - history.y0)
    moving = length > 0
    n = np.where(moving, np.ceil(length * 1000.0 * PIECES_PER_PIXEL / pitch_um).astype(np.int64), 1)
    n = np.maximum(n, 1)
    row = np.repeat(np.arange(len(history)), n)
    first = np.repeat(np.cumsum(n) - n, n)
    j = np.arange(row.size) - first
    # the time the beam reaches each piece boundary (n + 1 per row), once
    edge_row = np.repeat(np.arange(len(history)), n + 1)
    edge_j = np.arange(edge_row.size) - np.repeat(np.cumsum(n + 1) - (n + 1), n + 1)
    L = length[edge_row]
    t_edge = time_along(edge_j / n[edge_row] * L, L, history.v_entry[edge_row], history.v_peak[edge_row],
                        history.v_exit[edge_row], history.accel[edge_row])
    last_edge = np.cumsum(n + 1) - 1
    t_total = t_edge[last_edge]
    scale = np.where(moving & (t_total > 0), history.duration_s / np.where(t_total > 0, t_total, 1), 0.0)
    t_edge *= scale[edge_row]
    at = np.arange(row.size) + row  # each piece's first edge
    ta, tb = t_edge[at], t_edge[at + 1]
    dt = np.where(moving[row], tb - ta, history.duration_s[row])
    ta = np.where(moving[row], ta, 0.0)
    mid = (j + 0.5) / n[row]
    lerp = lambda a, b: a[row] + mid * (b[row] - a[row])
    cuts, _ = stroke_bounds(row, history.t_start_s, history.t_end_s, history.x0, history.y0, history.x1, history.y1)
    return Pieces(lerp(history.x0, history.x1), lerp(history.y0, history.y1), lerp(history.z0, history.z1),
                  history.t_start_s[row] + ta, dt, row, np.where(moving[row], length[row] / n[row], 0.0), cuts)


@dataclass
class Splat:
    """The four bilinear corners (flat pixel index, weight) of a set of points, computed once and
    reused for every quantity deposited at those points."""
    grid: Grid
    index: np.ndarray
    weight: np.ndarray

    @classmethod
    def of(cls, grid: Grid, x_mm, y_mm) -> "Splat":
        fr, fc = grid.fractional_index(x_mm, y_mm)
        r0, c0 = np.floor(fr).astype(np.int64), np.floor(fc).astype(np.int64)
        wr, wc = fr - r0, fc - c0
        index = np.concatenate([r0 * grid.nx + c0, r0 * grid.nx + c0 + 1, (r0 + 1) * grid.nx + c0,
                                (r0 + 1) * grid.nx + c0 + 1])
        weight = np.concatenate([(1 - wr) * (1 - wc), (1 - wr) * wc, wr * (1 - wc), wr * wc])
        r, c = np.concatenate([r0, r0, r0 + 1, r0 + 1]), np.concatenate([c0, c0 + 1, c0, c0 + 1])
        if r.size and (r.min() < 0 or c.min() < 0 or r.max() >= grid.ny or c.max() >= grid.nx):
            ok = (r >= 0) & (r < grid.ny) & (c >= 0) & (c < grid.nx)
            index, weight = np.where(ok, index, 0), np.where(ok, weight, 0.0)
        return cls(grid, index, weight)

    def map(self, values, select=None) -> np.ndarray:
        """Bilinear deposit of `values` (per point; `select`: a boolean mask of points) as a float32 map."""
        w = self.weight * np.tile(np.asarray(values, dtype=np.float64), 4)
        if select is not None:
            w = w * np.tile(select, 4)
        flat = np.bincount(self.index, w, minlength=self.grid.ny * self.grid.nx)
        return flat.astype(np.float32).reshape(self.grid.shape)


def splat(grid: Grid, x_mm, y_mm, weight) -> np.ndarray:
    """Bilinear deposit of weights at points onto the grid (float32 map)."""
    return Splat.of(grid, x_mm, y_mm).map(weight)


def convolve_into(target: np.ndarray, source: np.ndarray, kernel: np.ndarray) -> None:
    """target += source conv kernel ('same' alignment), computed on source's bounding box only."""
    rows = np.flatnonzero(source.any(axis=1))
    if rows.size == 0 or not kernel.any():
        return
    cols = np.flatnonzero(source.any(axis=0))
    r0, r1, c0, c1 = rows[0], rows[-1] + 1, cols[0], cols[-1] + 1
    m = kernel.shape[0] // 2
    if kernel.size == 1:  # a one-pixel kernel: no FFT
        target += source * kernel.flat[0]
        return
    full = signal.oaconvolve(source[r0:r1, c0:c1], kernel, mode="full").astype(np.float32)
    tr0, tc0 = r0 - m, c0 - m
    a0, b0 = max(tr0, 0), max(tc0, 0)
    a1, b1 = min(tr0 + full.shape[0], target.shape[0]), min(tc0 + full.shape[1], target.shape[1])
    target[a0:a1, b0:b1] += full[a0 - tr0:a1 - tr0, b0 - tc0:b1 - tc0]


def avrami(dose: np.ndarray, n: float) -> np.ndarray:
    """Avrami-JMAK crystallized fraction X = 1 - exp(-D^n), in float32."""
    d = dose.astype(np.float32, copy=False)
    power = d * np.sqrt(d) if n == 1.5 else np.power(d, np.float32(n))
    return -np.expm1(-power)


def rewritten_share(dose_first: np.ndarray, dose_rewrite: np.ndarray, n: float) -> np.ndarray:
    """Share of a pixel's crystals that the first write had grown before the rewrite."""
    total = avrami(dose_first + dose_rewrite, n)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(total > 0, avrami(dose_first, n) / np.where(total > 0, total, 1), 0).astype(np.float32)


@dataclass
class Plane:
    """One depth plane of the sample."""
    depth_um: float
    crystallized: np.ndarray    # X in [0, 1]
    rewrites: np.ndarray        # n_rw: rewrite extent in units of one identical second pass
    damaged: np.ndarray         # bool: the per-pulse peak exceeded the damage temperature
    dose_first: np.ndarray
    dose_rewrite: np.ndarray
    erased: np.ndarray          # fraction of first-write crystals dissolved by later exposures
    avrami_n: float = 1.5

    def rewritten_share(self) -> np.ndarray | None:
        """Share of each pixel's crystals that existed before a rewrite (None: nothing rewritten)."""
        return rewritten_share(self.dose_first, self.dose_rewrite, self.avrami_n) if self.dose_rewrite.any() else None


@dataclass
class Exposure:
    grid: Grid
    planes: list[Plane]
    beam_on_s: float = 0.0
    incubating_s: float = 0.0   # beam time spent before nucleation (not crystallizing)
    rewriting_s: float = 0.0    # beam time spent re-melting cooled crystals
    max_heat_K: float = 0.0     # largest heat left by earlier strokes at an exposure
    stats: dict = field(default_factory=dict)

    # the sample seen from above: computed once per Exposure (the renders and the report read it
    # several times), plane by plane in place, without stacking the planes into one array
    @cached_property
    def crystallized(self) -> np.ndarray:
        if len(self.planes) == 1:
            return self.planes[0].crystallized
        clear = 1 - self.planes[0].crystallized
        for p in self.planes[1:]:
            clear *= 1 - p.crystallized
        return np.subtract(1, clear, out=clear)

    @cached_property
    def rewrites(self) -> np.ndarray:
        if len(self.planes) == 1:
            return self.planes[0].rewrites
        most = self.planes[0].rewrites.copy()
        for p in self.planes[1:]:
            np.maximum(most, p.rewrites, out=most)
        return most

    @property
    def damaged(self) -> np.ndarray:
        return np.any([p.damaged for p in self.planes], axis=0)


def writing_arrays(material: Material, energy_uJ: np.ndarray, rep_kHz: np.ndarray) -> dict:
    """Per-row thermal quantities of each exposure's writing point (computed once per point)."""
    points, inverse = np.unique(np.stack([energy_uJ, rep_kHz], axis=1), axis=0, return_inverse=True)
    inverse = inverse.ravel()
    per_point = {
        "power_W": [float(thermal.absorbed_power_W(material, e, f)) for e, f in points],
        "core_um": [float(thermal.core_radius_um(material, f)) for e, f in points],
        "t_centre_K": [float(thermal.centre_temperature_K(material, e, f)) for e, f in points],
        "melt_um": [thermal.melt_radius_um(material, e, f) for e, f in points],
        "axis_rate_per_s": [float(thermal.rate_per_s(material, thermal.centre_temperature_K(material, e, f)))
                            for e, f in points],
        "axial_um": [thermal.axial_length_um(material, e, f) for e, f in points],
    }
    out = {k: np.asarray(v)[inverse] for k, v in per_point.items()}
    out.update(energy_uJ=energy_uJ, rep_rate_kHz=rep_kHz, point=inverse)
    return out, points


def margin_for(history: BeamHistory, material: Material, pitch_um: float) -> float:
    exp = history.exposures()
    keys = {(float(e), float(f)) for e, f in zip(exp.energy_uJ, exp.rep_rate_kHz)} or {(0.0, 1.0)}
    return max(max(thermal.melt_radius_um(material, e, f), thermal.damage_radius_um(material, e, f))
               for e, f in keys) + 4 * pitch_um + 10.0


def _plane(material: Material, grid: Grid, sub: BeamHistory, depth: float, totals: dict) -> Plane:
    kin = material.kinetics
    pieces = cut_into_pieces(sub, grid.pitch_um)
    rows, points = writing_arrays(material, sub.energy_uJ, sub.rep_rate_kHz)
    per_piece = {k: v[pieces.row] for k, v in rows.items()}
    depth_of_piece = np.full(pieces.x_mm.size, depth)
    state = nucleate(material, pieces, depth_of_piece, per_piece, sub.bounds_mm())
    t_c = per_piece["t_centre_K"]
    heat_w = thermal.arrhenius(material, t_c + state.heat_K) / thermal.arrhenius(material, t_c)
    dose1, dose2 = np.zeros(grid.shape, np.float32), np.zeros(grid.shape, np.float32)
    dissolve_s, damage_s = np.zeros(grid.shape, np.float32), np.zeros(grid.shape, np.float32)
    written = set()  # the maps a convolution wrote to: the others stay untouched zeros (no pages)
    for g, (energy, rep) in enumerate(points):
        sel = per_piece["point"] == g
        at = Splat.of(grid, pieces.x_mm[sel], pieces.y_mm[sel])
        kept = pieces.dt_s[sel] * state.keep[sel] * heat_w[sel]
        rw = state.rewriting[sel]
        kernel = thermal.rate_kernel(material, energy, rep, grid.pitch_um)
        convolve_into(dose1, at.map(kept, ~rw) if rw.any() else at.map(kept), kernel)
        if rw.any():
            convolve_into(dose2, at.map(kept, rw), kernel)
            written.add("dose2")
        dissolve = thermal.dissolve_kernel(material, energy, rep, grid.pitch_um)
        damage = thermal.damage_kernel(material, energy, rep, grid.pitch_um)
        beam_time = at.map(pieces.dt_s[sel]) if dissolve.max() > 1e-4 or damage.any() else None
        if dissolve.max() > 1e-4:
            convolve_into(dissolve_s, beam_time, dissolve)
            written.add("dissolve")
        if damage.any():
            convolve_into(damage_s, beam_time, damage)
            written.add("damage")
    for name, m in (("dose1", dose1), ("dose2", dose2), ("dissolve", dissolve_s)):
        if name == "dose1" or name in written:
            np.maximum(m, 0, out=m)  # FFT round-off
    surviving = np.exp(-dissolve_s / np.float32(kin["dissolve_time_s"])) if "dissolve" in written and dissolve_s.any() else None
    damaged = damage_s >= kin["damage_time_s"] if "damage" in written else np.zeros(grid.shape, bool)
    n_avrami, detect = kin["avrami_n"], kin["detect_fraction"]
    rewritten = "dose2" in written and bool(dose2.any())
    x_final = avrami(dose1 + dose2 if rewritten else dose1, n_avrami)
    if surviving is not None:
        x_final *= surviving
    if "damage" in written:
        x_final[damaged] = 0.0
    rewrites = np.zeros(grid.shape, np.float32)
    if rewritten:
        with np.errstate(divide="ignore", invalid="ignore"):
            ratio = np.where(dose1 > 0, dose2 / np.where(dose1 > 0, dose1, 1), 0)
        rewrites = np.minimum(ratio, np.float32(kin["rewrite_max"])) * rewritten_share(dose1, dose2, n_avrami)
    totals["beam_on_s"] += float(pieces.dt_s.sum())
    totals["incubating_s"] += float((pieces.dt_s * (1 - state.keep)).sum())
    totals["rewriting_s"] += float(pieces.dt_s[state.rewriting].sum())
    totals["max_heat_K"] = max(totals["max_heat_K"], float(state.heat_K.max(initial=0.0)))
    erased = np.zeros(grid.shape, np.float32) if surviving is None else (1 - surviving).astype(np.float32)
    return Plane(depth, x_final, rewrites.astype(np.float32, copy=False), damaged, dose1, dose2, erased, n_avrami)


def expose(history: BeamHistory, material: Material, grid: Grid) -> Exposure:
    exp = history.exposures()
    depth = focus.depth_um(material, 0.5 * (exp.z0 + exp.z1), 0.5 * (exp.x0 + exp.x1), 0.5 * (exp.y0 + exp.y1))
    melt = max((thermal.melt_radius_um(material, e, f) for e, f in
                {(float(e), float(f)) for e, f in zip(exp.energy_uJ, exp.rep_rate_kHz)}), default=0.0)
    plane_of, centres = focus.depth_planes(depth, focus.axial_interaction_um(material, melt))
    totals = {"beam_on_s": 0.0, "incubating_s": 0.0, "rewriting_s": 0.0, "max_heat_K": 0.0}
    planes = [_plane(material, grid, exp.take(plane_of == p), float(centres[p]), totals) for p in range(len(centres))]
    if not planes:
        zeros = np.zeros(grid.shape, np.float32)
        planes = [Plane(float(material.focus["depth_at_z0_um"]), zeros, zeros, zeros.astype(bool), zeros, zeros, zeros)]
    return Exposure(grid, planes, **totals)
