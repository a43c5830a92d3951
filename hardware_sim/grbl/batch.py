"""The emulated GRBL controller's executor, in batch: the beam history of a whole job at once.

`hardware_sim.batch` runs a job that is not streamed through the emulator line by line, as a
sender would (one interpreter call and one planner window per block: ~0.5 ms a block). For a
body in lasergen's own dialect (`lasergen.backends.grbl.gcode.fastread`, whose scan it reuses: G0/G1 moves, M3S0/M5,
dots as G1F..M3S.. / G4 / M5, armed raster passes under M4S0 with bare marks and bare G0) every block is known in advance, so this module computes the
history the same executor (`hardware_sim.grbl.motion.MotionExecutor`) records when the lines are
fed that way, with numpy over all blocks instead of Python per block:
  runs      blocks between two synchronising lines (a laser on/off, a dot's M3, G4) form a run:
            the executor plans a run's first block when it is pushed into the idle planner (its
            window: the previous block and itself), and every later block when the one before it
            finishes, with the 13 blocks queued behind it (the sender keeps the 15-block buffer
            full) up to the run's end;
  windows   each block's entry, peak and exit speed and duration come from GRBL's planner over its
            window, exactly as `MotionExecutor._duration` calls `lasergen.backends.grbl.motion`
            (junction deviation, backward and forward passes, the idle lock on the window's last
            block), evaluated for all windows at once on a (blocks x 16) array;
  clock     blocks and G4 timers follow each other: start times are the running sum of their
            durations in line order (the same float additions as the executor's clock);
  beam      moves fire at their S through the controller's $30 clamp and the laser's limit; a
            dot's exposure lasts from its M3 to its M5, as the executor's rest-power rule records it.
            Under M4 (dynamic power) GRBL scales S by speed / programmed rate and the beam is off at
            rest: a beam-on M4 block that runs at its programmed rate throughout (entry = peak =
            exit, as lasergen's armed marks run) fires at S exactly as under M3; if any ramps,
            the job is left to the line-by-line executor, which integrates the ramp.
  depth     Z words on G0/G1 lines (a job in depth) are blocks in three axes, as planner.c plans
            them: length, unit vector, axis limits ($112, $122) and junctions in X, Y and Z, with Z
            rounded as the executor's Toolpath holds it (float32).
Anything outside that dialect (outside the soft limits, Z on another line, or a line GRBL would refuse)
returns None and is run line by line. `tests/sim/test_batch_executor.py` checks both give the same history.
"""

from __future__ import annotations

import numpy as np

from lasergen.backends.grbl.gcode import fastread as fr
from lasergen.backends.grbl.gcode.words import LINE_BUFFER_SIZE
from hardware_sim.grbl.settings import boot_settings
from lasergen.backends.grbl.motion import _axis_limited, _junction_sqr, accels_mm_s2, idle_lock_s, rates_mm_s
from lasergen.kinematics import trapezoid_times
from lasergen.machine import MachineProfile

QUEUED = 13  # blocks behind the one starting when the buffer is kept full (15 minus it, minus the one to come)
WIDTH = QUEUED + 2  # window: previous block, the block, the queued ones


def _lines(lines: list[str]):
    """Per line: kind code, X, Y, F, S, P, Z words (NaN where absent) and the spindle state after
    it (0 = M5, fr.M3_ON, fr.M4_ON), or None if not the dialect (the fast reader's own scan of it)."""
    text = "\n".join(lines) + "\n"
    if not text.isascii() or any(len(line) >= LINE_BUFFER_SIZE for line in lines):
        return None
    data = text.encode()
    raw = np.frombuffer(data, dtype=np.uint8)
    starts = np.r_[0, np.flatnonzero(raw == 10)[:-1] + 1]
    scanned = fr._scan(data, raw, starts)
    if scanned is None:
        return None
    kind, _comment, words, spindle = scanned
    if np.any(~np.isnan(words[5]) & ~np.isin(kind, (fr.RAPID_L, fr.MOVE_L, fr.MARK_L))):
        return None  # Z on a spindle or dwell line: left to the interpreter
    return (kind, *words[:6], spindle)


def _windows(start, end, rapid, feed, machine: MachineProfile, run_first: np.ndarray):
    """Each block's (v_entry, v_peak, v_exit, accel, duration) from its executor window."""
    n = start.shape[0]
    d = end - start
    length = np.sqrt(d[:, 0] ** 2 + d[:, 1] ** 2 + d[:, 2] ** 2)  # + 0.0 exactly on a flat job
    ux, uy, uz = d[:, 0] / length, d[:, 1] / length, d[:, 2] / length
    v_rapid = _axis_limited(rates_mm_s(machine), ux, uy, uz)
    v_nom = np.where(rapid, v_rapid, np.minimum(feed, v_rapid))
    accels = accels_mm_s2(machine)
    accel = _axis_limited(accels, ux, uy, uz)
    junction = np.r_[0.0, _junction_sqr(ux, uy, accels, machine.junction_deviation_mm, uz)]
    # window of block j: [j - 1 if any block ran before] + [j] + queued blocks to the end of its run
    run = np.cumsum(run_first) - 1
    run_end = np.r_[np.flatnonzero(np.diff(run)), n - 1][run]
    j = np.arange(n)
    first = (j > 0).astype(np.int64)  # `previous` is the last finished block, across syncs
    queued = np.where(run_first, 0, np.minimum(QUEUED, run_end - j))
    m = first + 1 + queued  # window size
    k = np.arange(WIDTH)
    idx = np.clip(j[:, None] - first[:, None] + k, 0, n - 1)
    inside = k < m[:, None]
    L = np.where(inside, length[idx], 0.0)
    A = np.where(inside, accel[idx], 1.0)
    V = np.where(inside, v_nom[idx], 0.0)
    c = np.zeros((n, WIDTH + 1))
    pair = inside[:, 1:]
    c[:, 1:WIDTH] = np.where(pair, np.minimum(junction[idx[:, 1:]], np.minimum(V[:, 1:], V[:, :-1]) ** 2), 0.0)
    Q = np.zeros((n, WIDTH + 1))
    Q[:, 1:] = np.cumsum(2 * A * L, axis=1)
    w = np.minimum.accumulate((c + Q)[:, ::-1], axis=1)[:, ::-1] - Q
    ahead = np.minimum(np.arange(WIDTH + 1)[None, :] + machine.planner_blocks - 1, m[:, None])
    w = np.minimum(w, np.take_along_axis(Q, ahead, axis=1) - Q)
    w[np.arange(n), m] = 0.0
    w = np.maximum(Q + np.minimum.accumulate(w - Q, axis=1), 0.0)
    v = np.sqrt(w)
    rows = np.arange(n)
    v0, v1 = v[rows, first], v[rows, first + 1]
    t, v_peak = trapezoid_times(length, v0, v1, v_nom, accel)
    t = np.where(first + 1 == m, t + idle_lock_s(machine), t)
    return v0, v_peak, v1, accel, np.where(np.isfinite(t), t, 0.0)


def batch_history(lines: list[str], machine: MachineProfile, s_max: float | None = None):
    """The BeamHistory the emulator records for `lines` fed in batch, or None (run line by line)."""
    from hardware_sim.ledger import BeamHistory

    parsed = _lines(lines)
    if parsed is None:
        return None
    kind, x, y, f, s, p, z, spindle = parsed
    on_line = np.isin(kind, (fr.ON_L, fr.DOT_ON_L))
    on = spindle > 0
    was_on = np.r_[False, on[:-1]]
    dwell_line = kind == fr.DWELL_L
    if np.any(on_line & was_on) or np.any(dwell_line & ~was_on):
        return None  # laser re-enabled while on, or a G4 without a dot's M3: left to the interpreter
    s_state = fr._ffill(s, 0.0)
    feed = fr._ffill(f, np.nan)
    g1_line = (kind == fr.MOVE_L) | (kind == fr.MARK_L)  # a bare mark is a G1 (a bare G0 is no block)
    move_line = (kind == fr.RAPID_L) | g1_line
    if np.isnan(feed[g1_line]).any():
        return None
    xs, ys, zs = (fr._ffill(np.where(move_line, w, np.nan), 0.0) for w in (x, y, z))
    x_from, y_from, z_from = np.r_[0.0, xs[:-1]], np.r_[0.0, ys[:-1]], np.r_[0.0, zs[:-1]]
    travel = boot_settings(machine)
    lo_x, hi_x = machine.x_range_mm
    lo_y, hi_y = machine.y_range_mm
    if np.any((xs < -1e-6) | (xs > hi_x - lo_x + 1e-6) | (ys < -1e-6) | (ys > hi_y - lo_y + 1e-6)
              | (zs < -1e-6) | (zs > travel[132] + 1e-6)):
        return None  # a soft-limit alarm: the line-by-line run reports it
    sync = on_line | dwell_line | ((kind == fr.OFF_L) & was_on)
    block_line = np.flatnonzero(move_line & ((xs != x_from) | (ys != y_from) | (zs != z_from)))  # zero-length dropped
    # a run starts at the first block after any synchronising line
    syncs_before = np.cumsum(sync)
    run_first = np.r_[True, syncs_before[block_line[1:]] != syncs_before[block_line[:-1]]] if block_line.size else \
        np.zeros(0, bool)
    rapid = kind[block_line] == fr.RAPID_L
    # the executor plans through a Toolpath, whose z columns are float32
    z32 = lambda a: a.astype(np.float32).astype(np.float64)
    start = np.stack([x_from[block_line], y_from[block_line], z32(z_from[block_line])], axis=1)
    end = np.stack([xs[block_line], ys[block_line], z32(zs[block_line])], axis=1)
    # the executor plans through a Toolpath, whose speed column is float32
    feed_mm_s = np.where(rapid, 0.0, feed[block_line] / 60.0).astype(np.float32).astype(np.float64)
    v0, vp, v1, accel, duration = _windows(start, end, rapid, feed_mm_s, machine, run_first) if block_line.size else \
        (np.zeros(0),) * 5
    # the clock: blocks and G4 timers in line order
    step = np.zeros(kind.size)
    step[block_line] = duration
    step[dwell_line] = p[dwell_line]
    t_end_line = np.cumsum(step)                     # the executor adds each duration to its clock
    t_at_line = np.r_[0.0, t_end_line[:-1]]          # clock when a line is reached
    power = np.where(on & (s_state > 0), s_state, 0.0)
    s_cap = machine.s_max if s_max is None else s_max
    # moves
    t0 = t_at_line[block_line]
    b_power = np.where(rapid, 0.0, power[block_line])
    dynamic = (spindle[block_line] == fr.M4_ON) & (b_power > 0)
    rate = feed_mm_s[dynamic]
    if not all(np.all(np.abs(v[dynamic] - rate) <= 1e-9 * rate) for v in (v0, vp, v1)):
        return None  # an M4 beam-on block off its programmed rate (a ramp): the line-by-line executor scales it
    # dots: rest power from a dot's M3 to the next M5
    dot_on = np.flatnonzero(kind == fr.DOT_ON_L)
    off = np.flatnonzero((kind == fr.OFF_L) & was_on)
    next_off = off[np.searchsorted(off, dot_on)] if dot_on.size else dot_on
    if dot_on.size and (np.any(np.searchsorted(off, dot_on) >= off.size)
                        or np.any(np.searchsorted(block_line, dot_on) != np.searchsorted(block_line, next_off))):
        return None  # a dot whose laser stays on into motion: left to the interpreter
    d_t0 = t_at_line[dot_on]
    d_seconds = t_at_line[next_off] - d_t0           # the executor's now - rest_since at the M5
    d_power = power[dot_on]
    keep = (d_seconds > 1e-9) & (d_power > 0)
    order = np.argsort(np.r_[block_line, dot_on[keep]], kind="stable")
    n_b = block_line.size
    seg_t0 = np.r_[t0, d_t0[keep]][order]
    seg_t1 = np.r_[t0 + duration, d_t0[keep] + d_seconds[keep]][order]
    x0 = np.r_[start[:, 0], xs[dot_on][keep]][order]
    y0 = np.r_[start[:, 1], ys[dot_on][keep]][order]
    x1 = np.r_[end[:, 0], xs[dot_on][keep]][order]
    y1 = np.r_[end[:, 1], ys[dot_on][keep]][order]
    z0 = np.r_[z_from[block_line], zs[dot_on][keep]][order]
    z1 = np.r_[zs[block_line], zs[dot_on][keep]][order]
    cmd = np.r_[b_power, d_power[keep]][order]
    kin = [np.r_[a, np.zeros(int(keep.sum()))][order] for a in (v0, vp, v1, accel)]
    s_eff = np.minimum(cmd, s_cap)
    energy = machine.s_to_energy_uJ(s_eff)
    delivered = np.where(cmd > 0, np.minimum(energy, machine.max_energy_uJ), 0.0)
    clamped = (cmd > 0) & ((s_eff < cmd) | (delivered < energy))
    beam = delivered > 0
    return BeamHistory.from_columns(
        t_start_s=seg_t0, duration_s=np.maximum(0.0, seg_t1 - seg_t0), x0=x0, y0=y0, z0=z0, x1=x1, y1=y1, z1=z1,
        v_entry=kin[0], v_peak=kin[1], v_exit=kin[2], accel=kin[3], beam_on=beam.astype(np.int8),
        energy_uJ=np.where(beam, delivered, 0.0), rep_rate_kHz=machine.rep_rate_kHz,
        s_command=cmd, clamped=(clamped & beam).astype(np.int8), hold=0)
