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
    """Per-cell memory of incubation (as ln Phi + t / tau, decay-invariant) and crystal times."""

    def __init__(self, x0_mm, y0_mm, width_mm, height_mm, cell_um, memory_s):
        self.x0, self.y0, self.cell = x0_mm, y0_mm, cell_um / 1000.0
        self.nx = int(np.ceil(width_mm / self.cell)) + 1
        self.ny = int(np.ceil(height_mm / self.cell)) + 1
        self.tau = memory_s
        self.memory = np.full(self.ny * self.nx, NEG)
        self.seed_t = np.full(self.ny * self.nx, np.inf)   # earliest crystal within 1.5 melt radii
        self.core_t = np.full(self.ny * self.nx, np.inf)   # earliest crystal within half a melt radius

    def cells(self, x_mm, y_mm):
        c = np.clip(((x_mm - self.x0) / self.cell).astype(np.int64), 0, self.nx - 1)
        r = np.clip(((y_mm - self.y0) / self.cell).astype(np.int64), 0, self.ny - 1)
        return r, c

    def memory_at(self, flat, t_s):
        key = self.memory[flat]
        return np.where(key > NEG / 2, np.exp(np.minimum(key - t_s / self.tau, 700.0)), 0.0)

    def stencil(self, radius_um):
        m = int(np.ceil(radius_um / 1000.0 / self.cell))
        dr, dc = np.mgrid[-m:m + 1, -m:m + 1]
        inside = np.hypot(dr, dc) * self.cell * 1000.0 <= radius_um + 0.5 * self.cell * 1000.0
        return dr[inside], dc[inside]

    def deposit(self, r, c, values, stencil, target, reduce):
        dr, dc = stencil
        rr, cc = r[:, None] + dr[None, :], c[:, None] + dc[None, :]
        ok = (rr >= 0) & (rr < self.ny) & (cc >= 0) & (cc < self.nx)
        flat = (rr * self.nx + cc)[ok]
        reduce.at(target, flat, np.broadcast_to(values[:, None], ok.shape)[ok])


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


def nucleate(material: Material, pieces, depth_um, writing, bounds_mm) -> PieceState:
    """Walk the strokes in time order. `pieces`: x_mm, y_mm, t_s (start), dt_s, row, with `writing`
    per piece: dict of arrays power_W, core_um, t_centre_K, melt_um."""
    kin = material.kinetics
    n = pieces.x_mm.size
    keep = np.zeros(n)
    rewriting = np.zeros(n, bool)
    heat = np.zeros(n)
    if n == 0:
        return PieceState(keep, rewriting, heat, 0.0)
    melt = writing["melt_um"]
    positive = melt[melt > 0]
    cell_um = max(float(positive.min()) / 4.0 if positive.size else 10.0, 2.0)
    x_min, y_min, x_max, y_max = bounds_mm
    grid = StateGrid(x_min - 0.2, y_min - 0.2, x_max - x_min + 0.4, y_max - y_min + 0.4, cell_um,
                     kin["incubation_memory_s"])
    radii = np.unique(np.round(melt, 1))
    stencils = {r: (grid.stencil(2 * r), grid.stencil(1.5 * r), grid.stencil(r / 3)) for r in radii}
    cuts = pieces.stroke_cuts
    stroke = np.repeat(np.arange(cuts.size - 1), np.diff(cuts))
    chunk, src = chunks_of(stroke, pieces.x_mm, pieces.y_mm, depth_um, pieces.t_s, pieces.dt_s,
                           writing["power_W"], writing["core_um"])
    src_stroke_first = np.searchsorted(src["stroke"], np.arange(cuts.size - 1))
    energy, rep = writing["energy_uJ"], writing["rep_rate_kHz"]
    phi_max = 0.0
    cool = kin["rewrite_cool_s"]
    speed_all = pieces.speed_mm_s
    for s in range(cuts.size - 1):
        a, b = cuts[s], cuts[s + 1]
        x, y, t, dt = pieces.x_mm[a:b], pieces.y_mm[a:b], pieces.t_s[a:b], pieces.dt_s[a:b]
        t0 = t[0]
        # heat left by earlier strokes, at this stroke's chunks
        first = src_stroke_first[s]
        lo = np.searchsorted(src["t_off"][:first], t0 - HEAT_WINDOW_S)
        if first > lo:
            my = np.unique(chunk[a:b])
            r_um = np.sqrt((src["x"][my, None] - src["x"][None, lo:first]) ** 2
                           + (src["y"][my, None] - src["y"][None, lo:first]) ** 2) * 1000.0
            r_um = np.hypot(r_um, src["z"][my, None] - src["z"][None, lo:first])
            rise = thermal.residual_rise_K(material, r_um, src["t_on"][my, None], src["t_on"][None, lo:first],
                                           src["t_off"][None, lo:first], src["P"][None, lo:first],
                                           src["core"][None, lo:first]).sum(axis=1)
            heat[a:b] = rise[chunk[a:b] - my[0]]  # a stroke's chunks are consecutive
        t_inc = thermal.incubation_s(material, energy[a:b], rep[a:b], heat[a:b])
        speed = speed_all[a:b]
        boost = 1.0 + speed / kin["nucleation_speed_mm_s"]
        inc = np.where(np.isfinite(t_inc), boost * dt / np.where(np.isfinite(t_inc), t_inc, 1.0), 0.0)
        r, c = grid.cells(x, y)
        flat = r * grid.nx + c
        inherited = grid.memory_at(flat, t)
        seeded = grid.seed_t[flat] < t
        rewriting[a:b] = grid.core_t[flat] <= t0 - cool
        inherited = np.where(seeded, np.maximum(inherited, 1.0), inherited)
        total = np.cumsum(inc)
        phi = total + np.maximum.accumulate(inherited - (total - inc))
        with np.errstate(divide="ignore", invalid="ignore"):
            keep[a:b] = np.where(inc > 0, np.clip((phi - 1.0) / inc, 0.0, 1.0), 0.0)
        phi_max = max(phi_max, float(phi[-1]))
        # crystals on the axis: the dose there after nucleation (a dwell: k0 t; a moving pool:
        # k0 L_axial / v) must reach the detectable fraction; a nucleated but too fast pass leaves none
        rate = writing["axis_rate_per_s"][a:b] * thermal.arrhenius(material, writing["t_centre_K"][a:b] + heat[a:b]) \
            / thermal.arrhenius(material, writing["t_centre_K"][a:b])
        exposure_s = np.where(speed > 0, writing["axial_um"][a:b] / 1000.0 / np.maximum(speed, 1e-12), dt)
        axis_x = -np.expm1(-(rate * keep[a:b] * exposure_s) ** kin["avrami_n"])
        # what this stroke leaves in the glass: one entry per run of pieces in the same cell
        runs = np.flatnonzero(np.r_[flat[1:] != flat[:-1], True])
        starts = np.r_[0, runs[:-1] + 1]
        lit = np.maximum.reduceat(axis_x, starts) >= kin["detect_fraction"]
        rad = np.round(melt[a:b][runs], 1)
        for radius in np.unique(rad):
            if radius <= 0:
                continue
            sel = rad == radius
            overlap, seed, core = stencils[radius]
            key = np.log(np.maximum(phi[runs][sel], 1e-300)) + (t[runs][sel] + dt[runs][sel]) / grid.tau
            grid.deposit(r[runs][sel], c[runs][sel], key, overlap, grid.memory, np.maximum)
            on = sel & lit
            if on.any():
                t_x = (t + dt)[starts][on]
                grid.deposit(r[runs][on], c[runs][on], t_x, seed, grid.seed_t, np.minimum)
                grid.deposit(r[runs][on], c[runs][on], t_x, core, grid.core_t, np.minimum)
    return PieceState(keep, rewriting, heat, phi_max)
