"""Nucleation in time: which parts of each exposure crystallise, from what happened before them.

The beam history is cut into pieces (sub-pixel lengths of each exposure, in time order) and
grouped into strokes (the beam on without a break). The model walks the strokes in time order;
a coarse state grid (cells a third of the melt radius) remembers what the glass went through.

  melt pool      while the beam is on and moving continuously its melt pool is one liquid region
                 that travels with it. Nuclei form in it at a rate set by its temperature: the
                 progress Phi grows by dt / t_inc(T) per piece (t_inc ~ 0.95 s at the reference
                 point, `thermal.incubation_s`) times (1 + v / v_nuc): a moving pool also sweeps
                 glass through the undercooled window at its trailing edge, where nuclei form
                 most readily, while a static pool holds its melt superheated (v_nuc:
                 `nucleation_speed_mm_s`, assumed). A static dot shorter than t_inc stays dark; a
                 line lights after a lead-in of v t_inc / (1 + v / v_nuc) (~9 um at 0.4 mm/s) and
                 the crystal then follows the pool (seeded growth, as a crystal line follows a
                 moving heat source in glass), so a line's start lags and its end does not.
  memory         when the beam leaves, the pool freezes in ~1 ms and the glass it melted keeps
                 the pool's progress (frozen-in pre-nucleation order), relaxing with
                 `incubation_memory_s`; a later pool whose melt overlaps that glass starts from
                 it (the larger of the two: it re-melts the same order). Reach: two melt radii
                 (centre to centre), so exposures further apart than that (~55 um at the paper's
                 optimum) share no incubation: tens of um, not hundreds.
  crystals       a nucleated pool leaves crystals where the dose on its axis after nucleation (k0 t at
                 rest, k0 L_axial / v moving: L_axial the rate kernel's length along the path) reaches
                 the detectable fraction; a pass that nucleated but moved too fast leaves none.
  seeds          crystals are permanent: a later pool whose melt reaches earlier crystals (centres
                 within 1.5 melt radii: crystals fill about half the melt) grows from them at
                 once (an adjacent raster line, a rewrite).
  rewrite        a pool whose centre lies on crystals (within a third of a melt radius: its hot core)
                 that cooled at least `rewrite_cool_s` before it started re-melts them: its pieces
                 are rewriting ones (`exposure` turns their dose into the rewrite extent). A pass
                 over unwritten glass, or over glass that never crystallised, is a first write.
  heat           the stroke's own sustained field is `thermal`; heat left by earlier strokes (the
                 last `HEAT_WINDOW_S`, in three dimensions) raises its temperature:
                 `thermal.residual_rise_K` from earlier chunks of <= CHUNK_UM, so writing order
                 matters where heat accumulates.
Only earlier strokes are read: nothing depends on later exposures. Limits: a stroke does not
re-read its own wake (it carries its progress instead); the state grid is per depth plane.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hardware_sim.glass import thermal
from hardware_sim.glass.material import Material

HEAT_WINDOW_S = 5.0
CHUNK_UM = 100.0
NEG = -1e300


@dataclass
class PieceState:
    keep: np.ndarray        # fraction of each piece's time after nucleation (0..1)
    rewriting: np.ndarray   # piece re-melts earlier, cooled crystals
    heat_K: np.ndarray      # residual heat from earlier strokes at the piece
    phi_max: float          # highest nucleation progress reached


class StateGrid:
    """Per-cell memory of incubation (as ln Phi + t / tau, decay-invariant) and crystal times.
    The grid reaches `pad_um` beyond the marks, so a stencil around any piece stays inside it."""

    def __init__(self, x0_mm, y0_mm, width_mm, height_mm, cell_um, memory_s):
        self.x0, self.y0, self.cell = x0_mm, y0_mm, cell_um / 1000.0
        self.nx = int(np.ceil(width_mm / self.cell)) + 1
        self.ny = int(np.ceil(height_mm / self.cell)) + 1
        self.tau = memory_s
        self.memory = np.full(self.ny * self.nx, NEG)
        self.seed_t = np.full(self.ny * self.nx, np.inf)   # earliest crystal within 1.5 melt radii
        self.core_t = np.full(self.ny * self.nx, np.inf)   # earliest crystal within a third of a melt radius

    def cells(self, x_mm, y_mm):
        c = np.clip(((x_mm - self.x0) / self.cell).astype(np.int64), 0, self.nx - 1)
        r = np.clip(((y_mm - self.y0) / self.cell).astype(np.int64), 0, self.ny - 1)
        return r, c

    def memory_at(self, flat, t_s):
        return np.exp(np.minimum(self.memory[flat] - t_s / self.tau, 700.0))  # NEG: exp(-1e300) = 0

    def stencil(self, radius_um) -> np.ndarray:
        """Flat-index offsets of the cells within radius_um of a cell."""
        m = int(np.ceil(radius_um / 1000.0 / self.cell))
        dr, dc = np.mgrid[-m:m + 1, -m:m + 1]
        inside = np.hypot(dr, dc) * self.cell * 1000.0 <= radius_um + 0.5 * self.cell * 1000.0
        return (dr[inside] * self.nx + dc[inside]).astype(np.int64)

    @staticmethod
    def deposit(flat, values, stencil, target, reduce):
        reduce.at(target, (flat[:, None] + stencil[None, :]).ravel(), np.repeat(values, stencil.size))


def stroke_bounds(row_of_piece, t_start, t_end, x0, y0, x1, y1):
    """Piece index bounds of strokes: consecutive exposure rows that follow without a gap."""
    follows = np.zeros(len(t_start), bool)
    follows[1:] = (np.abs(t_start[1:] - t_end[:-1]) < 1e-9) & (x0[1:] == x1[:-1]) & (y0[1:] == y1[:-1])
    stroke_of_row = np.cumsum(~follows) - 1
    stroke = stroke_of_row[row_of_piece]
    cuts = np.flatnonzero(np.r_[True, stroke[1:] != stroke[:-1], True])
    return cuts, stroke_of_row


def chunks_of(stroke, x, y, z, t, dt, power_W, core_um):
    """Heat sources: each stroke's pieces grouped into chunks of <= CHUNK_UM along the path."""
    step = np.r_[0.0, np.hypot(np.diff(x), np.diff(y)) * 1000.0]
    step[np.r_[True, stroke[1:] != stroke[:-1]]] = 0.0
    along = np.cumsum(step)
    new = np.r_[True, (stroke[1:] != stroke[:-1]) | (np.floor(along[1:] / CHUNK_UM) != np.floor(along[:-1] / CHUNK_UM))]
    chunk = np.cumsum(new) - 1
    n = chunk[-1] + 1 if chunk.size else 0
    w = np.bincount(chunk, dt, n)
    safe = np.where(w > 0, w, 1.0)
    mean = lambda v: np.bincount(chunk, v * dt, n) / safe
    first = np.flatnonzero(new)
    last = np.r_[first[1:], chunk.size] - 1
    return chunk, {"x": mean(x), "y": mean(y), "z": mean(z), "t_on": t[first], "t_off": t[last] + dt[last],
                   "P": mean(power_W), "core": mean(core_um), "stroke": stroke[first]}


def residual_heat_K(material: Material, stroke, chunk, src) -> np.ndarray:
    """Heat left by earlier strokes (the last HEAT_WINDOW_S) at each chunk's start, vectorised over
    (chunk, earlier chunk) pairs in batches."""
    n = src["x"].size
    first_of_stroke = np.searchsorted(src["stroke"], src["stroke"])       # first chunk of each chunk's stroke
    t0_of_stroke = src["t_on"][first_of_stroke]
    lo = np.searchsorted(src["t_off"], t0_of_stroke - HEAT_WINDOW_S)       # t_off grows with time
    hi = first_of_stroke
    count = np.maximum(hi - lo, 0)
    heat = np.zeros(n)
    bounds = np.r_[0, np.cumsum(count)]
    batch = 2_000_000
    i0 = 0
    while i0 < n:
        i1 = int(np.searchsorted(bounds, bounds[i0] + batch, side="right")) - 1
        i1 = min(max(i1, i0 + 1), n)
        sel = np.arange(i0, i1)
        k = count[sel]
        if k.sum():
            i = np.repeat(sel, k)
            j = np.repeat(lo[sel], k) + (np.arange(k.sum()) - np.repeat(np.cumsum(k) - k, k))
            r_um = np.sqrt(((src["x"][i] - src["x"][j]) ** 2 + (src["y"][i] - src["y"][j]) ** 2) * 1e6
                           + (src["z"][i] - src["z"][j]) ** 2)
            rise = thermal.residual_rise_K(material, r_um, src["t_on"][i], src["t_on"][j], src["t_off"][j],
                                           src["P"][j], src["core"][j])
            heat[i0:i1] = np.bincount(i - i0, rise, i1 - i0)
        i0 = i1
    return heat


def nucleate(material: Material, pieces, depth_um, writing, bounds_mm) -> PieceState:
    """Walk the strokes in time order. `pieces`: x_mm, y_mm, t_s (start), dt_s, row, with `writing`
    per piece: dict of arrays power_W, core_um, t_centre_K, melt_um, axis_rate_per_s, axial_um.
    Everything that does not depend on the walk (heat from earlier strokes, incubation rates,
    axis exposure) is computed for all pieces first; the walk itself reads and writes the grid."""
    kin = material.kinetics
    n = pieces.x_mm.size
    keep = np.zeros(n)
    rewriting = np.zeros(n, bool)
    if n == 0:
        return PieceState(keep, rewriting, np.zeros(0), 0.0)
    melt = writing["melt_um"]
    positive = melt[melt > 0]
    cell_um = max(float(positive.min()) / 3.0 if positive.size else 10.0, 2.0)
    pad_mm = 2.0 * float(melt.max()) / 1000.0 + 2 * cell_um / 1000.0
    x_min, y_min, x_max, y_max = bounds_mm
    grid = StateGrid(x_min - pad_mm, y_min - pad_mm, x_max - x_min + 2 * pad_mm, y_max - y_min + 2 * pad_mm,
                     cell_um, kin["incubation_memory_s"])
    radii = np.unique(np.round(melt, 1))
    stencils = {r: (grid.stencil(2 * r), grid.stencil(1.5 * r), grid.stencil(r / 3)) for r in radii}
    cuts = pieces.stroke_cuts
    stroke = np.repeat(np.arange(cuts.size - 1), np.diff(cuts))
    chunk, src = chunks_of(stroke, pieces.x_mm, pieces.y_mm, depth_um, pieces.t_s, pieces.dt_s,
                           writing["power_W"], writing["core_um"])
    heat = residual_heat_K(material, stroke, chunk, src)[chunk]
    # per piece, before the walk: nucleation progress rate and the axis exposure after nucleation
    t_inc = thermal.incubation_s(material, writing["energy_uJ"], writing["rep_rate_kHz"], heat)
    speed = pieces.speed_mm_s
    finite = np.isfinite(t_inc)
    inc_all = np.where(finite, (1.0 + speed / kin["nucleation_speed_mm_s"]) * pieces.dt_s / np.where(finite, t_inc, 1.0), 0.0)
    t_c = writing["t_centre_K"]
    rate = writing["axis_rate_per_s"] * thermal.arrhenius(material, t_c + heat) / thermal.arrhenius(material, t_c)
    axis_exposure = rate * np.where(speed > 0, writing["axial_um"] / 1000.0 / np.maximum(speed, 1e-12), pieces.dt_s)
    r_all, c_all = grid.cells(pieces.x_mm, pieces.y_mm)
    flat_all = r_all * grid.nx + c_all
    t_all, t_end_all = pieces.t_s, pieces.t_s + pieces.dt_s
    radius_all = np.round(melt, 1)
    n_avrami, detect, cool, tau = kin["avrami_n"], kin["detect_fraction"], kin["rewrite_cool_s"], grid.tau
    phi_max = 0.0
    for s in range(cuts.size - 1):
        a, b = cuts[s], cuts[s + 1]
        flat, t, inc = flat_all[a:b], t_all[a:b], inc_all[a:b]
        inherited = grid.memory_at(flat, t)
        inherited = np.where(grid.seed_t[flat] < t, np.maximum(inherited, 1.0), inherited)
        rewriting[a:b] = grid.core_t[flat] <= t[0] - cool
        total = np.cumsum(inc)
        phi = total + np.maximum.accumulate(inherited - (total - inc))
        with np.errstate(divide="ignore", invalid="ignore"):
            kept = np.where(inc > 0, np.minimum(np.maximum((phi - 1.0) / inc, 0.0), 1.0), 0.0)
        keep[a:b] = kept
        phi_max = max(phi_max, float(phi[-1]))
        # crystals on the axis: the dose there after nucleation (a dwell: k0 t; a moving pool:
        # k0 L_axial / v) must reach the detectable fraction; a nucleated but too fast pass leaves none
        axis_x = -np.expm1(-(axis_exposure[a:b] * kept) ** n_avrami)
        # what this stroke leaves in the glass: one entry per run of pieces in the same cell
        change = np.empty(flat.size, bool)
        change[:-1] = flat[1:] != flat[:-1]
        change[-1] = True
        runs = np.flatnonzero(change)
        starts = np.empty_like(runs)
        starts[0] = 0
        starts[1:] = runs[:-1] + 1
        lit = np.maximum.reduceat(axis_x, starts) >= detect
        rad = radius_all[a:b][runs]
        cells, t_run_end = flat[runs], t_end_all[a:b][runs]
        key = np.log(np.maximum(phi[runs], 1e-300)) + t_run_end / tau
        for radius in (np.unique(rad) if rad[0] != rad[-1] or np.any(rad != rad[0]) else rad[:1]):
            if radius <= 0:
                continue
            sel = rad == radius
            overlap, seed, core = stencils[radius]
            grid.deposit(cells[sel], key[sel], overlap, grid.memory, np.maximum)
            on = sel & lit
            if on.any():
                t_x = t_end_all[a:b][starts][on]
                grid.deposit(cells[on], t_x, seed, grid.seed_t, np.minimum)
                grid.deposit(cells[on], t_x, core, grid.core_t, np.minimum)
    return PieceState(keep, rewriting, heat, phi_max)
