"""Toolpath -> the GCS 2.0 command stream a host sends to a C-884, one toolpath row per group.

How a job is expressed, and why (PI's GCS manuals of the C-863/C-884 class, and pipython's
command set): a stream of GCS commands the host sends, one motion at a time, not a macro or a
wave table uploaded and started.
  - GCS has no motion queue: a MOV sent while an axis moves re-targets it at once. So the host
    sends the next move only after `#5`/`ONT?` show the last one ended; what was sent is what
    runs, and "on target" is a proof that it ran (GRBL's `ok` proves nothing of the kind).
  - A macro runs out of the host's sight (proofs only by polling), cannot start in its middle
    (no resume from a row), lives in the controller's small non-volatile memory (each upload
    writes flash) and is limited in size far below a 10^5-move job. The C-884 has no wave
    generator (WAV/WGO are piezo-controller features). One small macro is used, for a dot:
    the controller itself closes the gate after the dwell, so a dropped host never leaves the
    beam on (the same rule as GRBL's atomic dot group).
Per row (axes and the gate line come from the profile's [pi_gcs] table; `1 2` and `1` here):
  RAPID  [VEL 1 <vmax> 2 <vmax>] MOV 1 <x> 2 <y>                 gate closed
  LINE   [VEL ..] [ACC ..] [DEC ..] MOV 1 <x> 2 <y>              a blank move at writing speed
  mark   [CTO 1 2 <axis>] TRO 1 1 / [VEL ..] MOV 1 <x> 2 <y> / TRO 1 0
         the gate line follows trigger mode 6 ("in motion") of the move's main axis: the beam
         is on exactly while the stage moves, switched by the controller's servo loop, not by
         the host; TRO arms it at rest and disarms it after the move.
  DWELL  MAC START LGDOT <dwell_ms> <latency_ms> <gate>    gate on, controller-timed dwell, gate off
         (the macro names the gate only as its argument: run outside a macro, its lines are refused)
A straight diagonal needs both axes to start and stop together: each axis gets VEL and ACC/DEC
scaled by its share |u_i| of the direction, so both trapezoids are the same in time. VEL is
stated on the first move after another kind of row or a pass start, and whenever it changes;
ACC/DEC whenever they change, and on such a first move when they differ from the profile's
(which the session sets on connect), so a resume from any row's group needs no history.
Host lines start with `;` and are never sent: `;@pass` names a pass, `;@energy <uJ>` is set by
the attenuator (gate closed) before the rows that follow. Positions 4 decimals (0.1 um).
Z (a job in depth; a flat job never names the Z axis): the prologue sets the Z axis's ACC/DEC
and VEL too, and every MOV states all three axes (`MOV 1 x 2 y 3 z`), so any row group is an
absolute position, Z included (a resume re-establishes the plane with its first move); a move
that changes Z gets VEL/ACC for the Z axis by its share, as X and Y do. Between planes a move
changes Z alone (gate closed).
"""

from __future__ import annotations

import math

import numpy as np

from lasergen.backends.pi_gcs.commands import DOT_MACRO, DOT_MACRO_LINES, format_number
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

TRIGGER_IN_MOTION = 6
CTO_AXIS, CTO_MODE = 2, 3
CHUNK_ROWS = 100_000


def num(value: float, decimals: int = 4) -> str:
    return format_number(round(float(value), decimals))


def latency_ms(machine) -> int:
    """The gate latency as the whole milliseconds a macro's DEL can wait (rounded up)."""
    return int(math.ceil(machine.gate_latency_ms - 1e-9))


def axes_of(machine, with_z: bool = False) -> tuple[list[str], tuple, tuple]:
    """(axis ids, velocity limits, accelerations) of X, Y and, for a job in depth, Z."""
    axes, rates, accels = list(machine.axes), tuple(machine.max_rate_mm_s), tuple(machine.accel_mm_s2)
    if with_z:
        axes.append(machine.z_axis)
        rates, accels = rates + (machine.z_max_rate_mm_s,), accels + (machine.z_accel_mm_s2,)
    return axes, rates, accels


def names_z_axis(lines, machine) -> bool:
    """True when a MOV of these job lines names the profile's Z axis (a job in depth): a host
    or an emulated rig then switches on, references and sets up Z as well as X and Y."""
    if machine.z_range_mm is None:
        return False
    z = str(machine.z_axis)
    return any(line.startswith("MOV ") and z in line.split()[1::2] for line in lines)


def prologue(machine, with_z: bool = False) -> list[str]:
    axes, v, a = axes_of(machine, with_z)
    ax = axes[0]
    g = machine.gate_line
    per_axis = lambda values, d: " ".join(f"{axis} {num(value, d)}" for axis, value in zip(axes, values))  # noqa: E731
    return [f"TRO {g} 0", f"DIO {g} 0", f"CTO {g} {CTO_MODE} {TRIGGER_IN_MOTION}", f"CTO {g} {CTO_AXIS} {ax}",
            f"MAC BEG {DOT_MACRO}", *DOT_MACRO_LINES, "MAC END",
            f"ACC {per_axis(a, 3)}", f"DEC {per_axis(a, 3)}", f"VEL {per_axis(v, 4)}"]


def axis_motion(dx: float, dy: float, speed: float, rapid: bool, machine, dz: float | None = None):
    """Per-axis (velocity, acceleration) of a straight move (X, Y, and Z when `dz` is given):
    None for an axis that stays put."""
    d = (dx, dy) if dz is None else (dx, dy, dz)
    _, rates, accels = axes_of(machine, dz is not None)
    length = math.sqrt(sum(c * c for c in d))
    share = tuple(abs(c) / length for c in d) if length > 0 else (0.0,) * len(d)
    axes = range(len(d))
    if rapid:
        return [(rates[i], accels[i]) if share[i] > 0 else None for i in axes]
    v = min([speed] + [rates[i] / share[i] for i in axes if share[i] > 0])
    a = min(accels[i] / share[i] for i in axes if share[i] > 0)
    return [(v * share[i], a * share[i]) if share[i] > 0 else None for i in axes]


class Emitter:
    """The modal state the stream leaves in the controller (VEL, ACC/DEC, trigger axis, energy)."""

    def __init__(self, machine, with_z: bool = False):
        self.m = machine
        self.with_z = with_z
        self.axes, rates, accels = axes_of(machine, with_z)
        self.defaults = accels
        self.gate = machine.gate_line
        self.vel = list(rates)
        self.acc = list(accels)
        self.trigger_axis = 0
        self.energy = None
        self.fresh = True

    def _set(self, word: str, current: list, wanted: list, force: bool) -> list[str]:
        changed = [i for i in range(len(wanted)) if wanted[i] is not None and (force or abs(wanted[i] - current[i]) > 1e-9)]
        for i in changed:
            current[i] = wanted[i]
        if not changed:
            return []
        return [f"{word} " + " ".join(f"{self.axes[i]} {num(current[i], 3 if word != 'VEL' else 4)}" for i in changed)]

    def row(self, kind: int, x0, y0, x1, y1, speed, dwell, energy, z0=0.0, z1=0.0) -> list[str]:
        out = []
        marks = energy > 0 and kind != RAPID
        if marks and self.m.energy_mode == "attenuator" and energy != self.energy:
            out.append(f";@energy {num(energy, 3)}")
            self.energy = energy
        if kind == DWELL:
            self.fresh = True
            return out + [f"MAC START {DOT_MACRO} {max(0, round(dwell * 1000))} {latency_ms(self.m)} {self.gate}"]
        motion = axis_motion(x1 - x0, y1 - y0, speed, kind == RAPID, self.m, z1 - z0 if self.with_z else None)
        wanted_v = [mv[0] if mv else None for mv in motion]
        wanted_a = [mv[1] if mv else None for mv in motion]
        out += self._set("VEL", self.vel, wanted_v, self.fresh)
        restate = self.fresh and any(w is not None and abs(w - d) > 1e-9 for w, d in zip(wanted_a, self.defaults))
        acc = self._set("ACC", self.acc, wanted_a, restate)
        if acc:
            out += acc + ["DEC" + acc[0][3:]]
        self.fresh = kind == RAPID  # after a rapid the next line states its VEL
        move = f"MOV {self.axes[0]} {num(x1)} {self.axes[1]} {num(y1)}"
        if self.with_z:
            move += f" {self.axes[2]} {num(z1)}"
        if not marks:
            return out + [move]
        main = 0 if abs(x1 - x0) >= abs(y1 - y0) else 1
        if main != self.trigger_axis:
            out.append(f"CTO {self.gate} {CTO_AXIS} {self.axes[main]}")
            self.trigger_axis = main
        return out + [f"TRO {self.gate} 1", move, f"TRO {self.gate} 0"]


def pass_comment(pass_id: int, layer: int, layer_name: str, recipe: str, mode: str) -> str:
    return f";@pass {pass_id} layer {layer} recipe {recipe} mode {mode} name {layer_name}"[:79]


def emit_body(path: Toolpath, machine, pass_info: dict[int, dict]):
    """The job body as byte chunks: prologue (gate closed, trigger and dot macro set up), each
    pass's rows, gate closed at the end."""
    with_z = path.has_z or any(info.get("depth_um") is not None for info in pass_info.values())
    emitter = Emitter(machine, with_z)
    yield ("\n".join(prologue(machine, with_z)) + "\n").encode()
    if len(path):
        bounds = np.flatnonzero(np.r_[True, path.pass_id[1:] != path.pass_id[:-1], True])
        cols = [path.kind, path.x0, path.y0, path.x1, path.y1, path.speed_mm_s, path.dwell_s, path.energy_uJ,
                path.z0, path.z1]
        for a, b in zip(bounds[:-1], bounds[1:]):
            pid = int(path.pass_id[a])
            info = pass_info.get(pid, {})
            mode = info.get("mode", "dots" if (path.kind[a:b] == DWELL).any() else "raster")
            lines = [pass_comment(pid, int(path.layer[a]), info.get("name", ""), info.get("recipe", ""), mode)]
            emitter.fresh = True
            for c in range(a, b, CHUNK_ROWS):
                rows = zip(*(col[c:min(c + CHUNK_ROWS, b)].tolist() for col in cols))
                for kind, x0, y0, x1, y1, speed, dwell, energy, z0, z1 in rows:
                    lines += emitter.row(kind, x0, y0, x1, y1, speed, dwell, energy, z0, z1)
                yield ("\n".join(lines) + "\n").encode()
                lines = []
    g = machine.gate_line
    yield f"TRO {g} 0\nDIO {g} 0\n".encode()


__all__ = ["emit_body", "prologue", "axis_motion", "axes_of", "names_z_axis", "LINE"]
