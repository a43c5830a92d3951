"""Invariants of a fault campaign run, checked from the emulated device's own exposure record.

The record is what the beam did (rows of executed motion and rest with the beam on, in the
order they happened, each with its start and end on the emulator's clock), never what the
sender believes. Against the job's marks:
  exposed twice   a point of a raster mark covered by two beam-on rows (overlap > TOL_MM), or a
                  dot with beam-on dwell rows in two separate intervals
  skipped         a mark not fully exposed (a raster mark missing more than TOL_MM, a dot with
                  less than its planned dwell); "not listed" when the sender's final report
                  lists it neither as uncertain nor as cut
  stray           a beam-on row that lies on no mark, longer than TOL_MM: a gap written
                  (`stray_lines`), or a rest with the beam on where no dot was planned, longer
                  than STRAY_S (`stray_rests_s`, e.g. at a mark's end while the sender reacts to
                  a refused beam-off line: on an emulator clock running N x faster than the
                  sender's, that reaction lasts N x longer in the record)
  beam off after a fault: from the fault's moment to the end of the last beam-on row that
                  starts before the controller's next reset (the stop path's, or the fault's
                  own) or the next sender session, whichever comes first, in the emulator's
                  seconds. A row that outlives the next session's start still counts whole (a
                  move the dead sender left running); rows the next session itself starts do
                  not: they are that session's work, not the fault's (a PI controller is not
                  reset by a new connection, so without that bound a killed sender "kept the
                  beam on" until the end of the job its resume wrote).
  a rest as a defect: a stray rest counts as a defect when it lasts at least REST_DEFECT_S of
                  the sender's (real) time; shorter ones are reported, not failed. The glass
                  says why (PHYSICS.md, Fig. 1; `hardware_sim.glass`): nothing nucleates in a
                  static pool before t_inc ~0.95 s at 200 uJ / 10 kHz (a dot below 1 s is
                  dark), and a moving line at 2 mm/s (the campaign's fastest) holds any point
                  in its 21.5 um-radius melt for 2 r / v ~ 21 ms; a 2 ms rest adds 0.2 % of the
                  incubation and < 10 % of the dose a line gives its end point: it writes
                  nothing and changes no mark visibly. The 0.1-1 ms rests seen at a mark's end
                  on GRBL are far below it. A rest during a controller stall (the hung
                  controller keeps its beam until the sender's status timeout holds and resets
                  it) is the documented residual: the campaign reports it apart.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

TOL_MM = 0.001  # 1 um: GRBL reports positions to 1 um
STRAY_S = 1e-3  # a rest with the beam on shorter than this (emulator s) is not recorded as one
REST_DEFECT_S = 2e-3  # a stray rest this long (sender s) or longer is a defect: see the docstring


@dataclass
class Record:
    """The device's record: executed rows (a Toolpath) and each row's start and end times."""

    path: object
    t_start_s: np.ndarray
    t_end_s: np.ndarray

    @classmethod
    def from_history(cls, history) -> "Record":
        """The record from an emulator's beam history (`hardware_sim.ledger.BeamHistory`, any
        controller family): a segment that moves is a line (beam on) or a rapid, one that does
        not is a rest (a dwell if the beam was on, a hold otherwise). A move whose S word was
        commanded counts as written even where its power was 0: under GRBL's M4 the last stepper
        segment of a block that ends at rest fires at S x 0 (its end speed), so a mark the planner
        stops on (a starved queue, a hold) has a tail of up to accel x (10 ms)^2 / 2 with no
        pulse energy. That is the firmware's power rule on a mark the sender did write, not a mark
        it skipped; its dose is the glass model's business."""
        h = history
        moving = (h.x0 != h.x1) | (h.y0 != h.y1)
        on = ((h.beam_on > 0) & (h.energy_uJ > 0)) | (moving & (h.s_command > 0))
        length = np.hypot(h.x1 - h.x0, h.y1 - h.y0)
        path = Toolpath.from_columns(
            kind=np.where(moving, np.where(on, LINE, RAPID), DWELL).astype(np.float64),
            x0=h.x0, y0=h.y0, x1=h.x1, y1=h.y1,
            speed_mm_s=np.where(h.duration_s > 0, length / np.maximum(h.duration_s, 1e-12), 0.0),
            dwell_s=np.where(moving, 0.0, h.duration_s), energy_uJ=np.where(on, np.maximum(h.energy_uJ, 1e-12), 0.0),
            pass_id=np.zeros(len(h.x0)))
        return cls(path, np.asarray(h.t_start_s, float), np.asarray(h.t_start_s + h.duration_s, float))

    @property
    def beam_on(self) -> np.ndarray:
        return (self.path.energy_uJ > 0) & (self.path.kind != RAPID)


@dataclass
class Verdict:
    twice: list = field(default_factory=list)
    skipped: list = field(default_factory=list)
    stray_lines: int = 0  # beam-on line rows where no mark was planned (a gap written)
    stray_rests_s: list = field(default_factory=list)  # beam-on rests where no dot was planned (s)
    stray_rest_at_s: list = field(default_factory=list)  # (start, end) of each of those rests (emulator s)

    @property
    def stray(self) -> int:
        return self.stray_lines + len(self.stray_rests_s)

    short: list = field(default_factory=list)  # (marks over an under-exposed piece, exposures missing)

    def not_listed(self, listed) -> list:
        """Skipped marks the sender did not list. Where planned marks overlap (a rewrite pass
        over a first pass), a piece short of k exposures needs k of its marks listed."""
        listed = set(listed)
        out = {m for m in self.skipped if m not in listed and not any(m in marks for marks, _ in self.short)}
        for marks, missing in self.short:
            if len(listed & set(marks)) < missing:
                out |= set(marks) - listed
        return sorted(out)


def _line_key(x0, y0, x1, y1):
    """(direction, offset) of the infinite line through a segment, rounded to TOL_MM, and the
    segment's extent along it."""
    dx, dy = x1 - x0, y1 - y0
    length = np.hypot(dx, dy)
    ux, uy = np.where(length > 0, dx / np.maximum(length, 1e-12), 1.0), np.where(length > 0, dy / np.maximum(length, 1e-12), 0.0)
    flip = (ux < -1e-9) | ((np.abs(ux) <= 1e-9) & (uy < 0))
    ux, uy = np.where(flip, -ux, ux), np.where(flip, -uy, uy)
    offset = x0 * uy - y0 * ux
    s0, s1 = x0 * ux + y0 * uy, x1 * ux + y1 * uy
    key = list(zip(np.round(ux, 6), np.round(uy, 6), np.round(offset / TOL_MM).astype(np.int64)))
    return key, np.minimum(s0, s1), np.maximum(s0, s1)


def _depth_excess(planned, executed):
    """Over a line: pieces (s0, s1, planned depth, executed depth) longer than TOL_MM where the
    executed depth differs from the planned one."""
    events = sorted({s for iv in planned + executed for s in iv})
    out = []
    for lo, hi in zip(events[:-1], events[1:]):
        if hi - lo <= 1e-9:
            continue
        mid = 0.5 * (lo + hi)
        p = sum(a <= mid < b for a, b in planned)
        e = sum(a <= mid < b for a, b in executed)
        if p != e:
            out.append((lo, hi, p, e))
    return out


def check(job_path, record: Record) -> Verdict:
    """Compare the job's marks (a Toolpath) with the device's record, line by line."""
    marks = job_path.take(job_path.is_mark)
    ex, on = record.path, record.beam_on
    verdict = Verdict()
    twice, skipped = set(), set()
    # raster marks and beam-on line rows, grouped by the line they lie on
    mark_lines = np.flatnonzero(marks.kind == LINE)
    mk, ms0, ms1 = _line_key(marks.x0[mark_lines], marks.y0[mark_lines], marks.x1[mark_lines], marks.y1[mark_lines])
    rows = np.flatnonzero(on & (ex.kind == LINE))
    rk, rs0, rs1 = _line_key(ex.x0[rows], ex.y0[rows], ex.x1[rows], ex.y1[rows])
    by_line: dict = {}
    for j, key in enumerate(mk):
        by_line.setdefault(key, ([], []))[0].append(j)
    stray = 0
    for j, key in enumerate(rk):
        if key in by_line:
            by_line[key][1].append(j)
        elif rs1[j] - rs0[j] > TOL_MM:
            stray += 1
    for key, (planned_idx, executed_idx) in by_line.items():
        planned = [(ms0[j], ms1[j]) for j in planned_idx]
        executed = [(rs0[j], rs1[j]) for j in executed_idx]
        for lo, hi, p, e in _depth_excess(planned, executed):
            if hi - lo <= TOL_MM:
                continue
            hit = [int(mark_lines[j]) for j in planned_idx if ms0[j] < hi and ms1[j] > lo]
            if e > p and p == 0:
                stray += 1
            elif e > p:
                twice.update(hit)
            else:
                skipped.update(hit)
                verdict.short.append((hit, p - e))
    # dots: beam-on rests at a planned dot, counted as separate intervals, and their total time
    dots = np.flatnonzero(marks.kind == DWELL)
    rests = np.flatnonzero(on & (ex.kind == DWELL) & (ex.dwell_s > STRAY_S))
    rest_used = np.zeros(rests.size, bool)
    for m in dots:
        near = np.hypot(ex.x0[rests] - marks.x0[m], ex.y0[rests] - marks.y0[m]) <= TOL_MM
        rest_used |= near
        same = dots[np.hypot(marks.x0[dots] - marks.x0[m], marks.y0[dots] - marks.y0[m]) <= TOL_MM]
        r = rests[near]
        starts, ends = record.t_start_s[r], record.t_end_s[r]
        order = np.argsort(starts)
        separate = (1 + int(np.sum(starts[order][1:] > ends[order][:-1] + 1e-6))) if r.size else 0
        if separate > same.size:
            twice.add(int(m))
        planned_s, got_s = float(marks.dwell_s[same].sum()), float(ex.dwell_s[r].sum())
        if got_s < planned_s * (1 - 1e-3):
            skipped.add(int(m))
            if m == same.min():  # one entry per position: k dots short there need k listed
                missing = int(np.ceil((planned_s - got_s) / marks.dwell_s[same].max() - 1e-3))
                verdict.short.append(([int(d) for d in same], missing))
    verdict.twice, verdict.skipped, verdict.stray_lines = sorted(twice), sorted(skipped), stray
    verdict.stray_rests_s = [float(v) for v in ex.dwell_s[rests[~rest_used]]]
    verdict.stray_rest_at_s = [(float(a), float(b)) for a, b in
                               zip(record.t_start_s[rests[~rest_used]], record.t_end_s[rests[~rest_used]])]
    return verdict


def beam_off_after(record: Record, fault_s: float, reset_s: float | None, next_session_s: float | None = None) -> float:
    """Seconds from a fault until the beam was off for good: the rows that started before the
    next reset or the next session (the module docstring), ended by the reset."""
    on = record.beam_on
    reset = np.inf if reset_s is None else reset_s
    end_window = min(reset, np.inf if next_session_s is None else next_session_s)
    overlap = on & (record.t_end_s > fault_s) & (record.t_start_s < end_window)
    if not overlap.any():
        return 0.0
    return float(min(record.t_end_s[overlap].max(), reset) - fault_s)


def beam_off_times(record: Record, log, sender_faults, session_starts, speed: float) -> list:
    """[(fault kind, sender seconds until the beam was off)] for every fault of a run: the
    device's own (its fault log: (emulator s, what)) and the sender's ((kind, emulator s)).
    The next reset bounds the beam: a reset, a power loss or an alarm in the log; a power loss
    is its own reset (every output low), so the rows after it are a session's new work."""
    resets = sorted(t for t, what in log if what in ("soft_reset", "power_cycle") or what.startswith("alarm"))
    events = [(t, what.split(":")[0]) for t, what in log
              if what.split(":")[0] in ("drop", "error", "alarm", "corrupt", "stall", "power_cycle")]
    events += [(t, kind) for kind, t in sender_faults]
    times = []
    for t, what in events:
        after = t - 1e-9 if what == "power_cycle" else t + 1e-9
        nxt = next((r for r in resets if r > after), None)
        session = next((s for s in session_starts if s > t + 1e-9), None)
        times.append((what, beam_off_after(record, t, nxt, session) / speed))
    return times


def split_rests(verdict: Verdict, stalls_s, speed: float) -> tuple[float, float, float]:
    """(longest defect rest, longest rest below REST_DEFECT_S, longest rest during a stall), in
    sender seconds: a rest during a stall is one that covers a stall's moment."""
    stall, minor, defect = 0.0, 0.0, 0.0
    for (a, b), d in zip(verdict.stray_rest_at_s, verdict.stray_rests_s):
        s = d / speed
        if any(a - 1e-9 <= t <= b + 1e-9 for t in stalls_s):
            stall = max(stall, s)
        elif s >= REST_DEFECT_S:
            defect = max(defect, s)
        else:
            minor = max(minor, s)
    return defect, minor, stall
