"""A lasergen GCS job body -> Toolpath, by following what the controller would do line by line.

The reader keeps the state the commands leave in the controller (position, per-axis VEL, the
gate's trigger armed by TRO, the energy the attenuator was set to by `;@energy`, or the
profile's fixed energy) and turns each motion line into a toolpath row:
  MOV with the trigger armed         LINE mark at the energy in force
  MOV at every moving axis's maximum RAPID
  any other MOV                      blank LINE at the straight-line speed the VELs allow
  MAC START LGDOT <ms> <latency_ms> <gate>  DWELL of <ms> at the current position
The Z axis (the profile's [pi_gcs] z_axis, on a stage with [travel] z_mm) is followed like X and
Y: its position is each row's z0/z1, its VEL counts in the move's speed.
Only the commands lasergen's emitter writes are accepted (a job is not a place for SVO, FRF or
parameter changes: the session does those, checked); anything else is refused with its line
number, as the GRBL reader does with GRBL's error codes.
"""

from __future__ import annotations

import math

import numpy as np

from lasergen import LasergenError
from lasergen.backends.pi_gcs.commands import DOT_MACRO, DOT_MACRO_LINES, pairs, split_command
from lasergen.backends.pi_gcs.emit import axes_of
from lasergen.program import ParsedProgram
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

FIELDS = ("kind", "x0", "y0", "x1", "y1", "speed_mm_s", "dwell_s", "energy_uJ", "pass_id", "layer", "z0", "z1",
          "line")


class _State:
    def __init__(self, machine):
        self.m = machine
        axes, rates, _ = axes_of(machine, machine.z_range_mm is not None)
        self.axis_index = {a: i for i, a in enumerate(axes)}
        self.rates = rates
        self.pos = [0.0] * len(axes)
        self.vel = list(rates)
        self.armed = False
        self.energy = machine.fixed_energy_uJ if machine.energy_mode == "fixed" else None
        self.pass_id, self.layer = 0, 0
        self.macro: list[str] | None = None
        self.macros: dict[str, list[str]] = {}

    def axis_values(self, args: list[str]) -> dict[int, float]:
        out = {}
        for axis, value in pairs(args):
            if axis not in self.axis_index:
                raise ValueError(f"axis {axis!r} is not one of the profile's {', '.join(self.axis_index)}")
            number = float(value)
            if not math.isfinite(number):
                raise ValueError(f"{value!r} is not a finite number")
            out[self.axis_index[axis]] = number
        return out


def _move(st: _State, args, number, rows):
    target = list(st.pos)
    for i, v in st.axis_values(args).items():
        target[i] = v
    d = [t - p for t, p in zip(target, st.pos)]
    length = math.sqrt(sum(c * c for c in d))
    share = [abs(c) / length for c in d] if length else [0.0] * len(d)
    moving = [i for i in range(len(d)) if share[i] > 0]
    speed = min((st.vel[i] / share[i] for i in moving), default=0.0)
    at_max = all(abs(st.vel[i] - st.rates[i]) < 1e-9 for i in moving)
    if st.armed:
        if st.energy is None:
            raise ValueError("a writing move before any ;@energy line (the attenuator was never set)")
        kind, energy = LINE, st.energy
    else:
        kind, energy = (RAPID, 0.0) if at_max else (LINE, 0.0)
    z0, z1 = (st.pos[2], target[2]) if len(target) > 2 else (0.0, 0.0)
    rows.append((kind, st.pos[0], st.pos[1], target[0], target[1], 0.0 if kind == RAPID else speed, 0.0,
                 energy, st.pass_id, st.layer, z0, z1, number))
    st.pos = target


def _vel(st: _State, args, number, rows):
    for i, v in st.axis_values(args).items():
        if v <= 0:
            raise ValueError(f"velocity must be > 0, got {v:g}")
        st.vel[i] = v


def _tro(st: _State, args, number, rows):
    for line, value in pairs(args):
        if int(line) == st.m.gate_line:
            st.armed = value == "1"


def _mac_start(st: _State, args, number, rows):
    if not args or args[0].upper() != DOT_MACRO:
        raise ValueError(f"only lasergen's dot macro {DOT_MACRO} may be started")
    if st.macros.get(DOT_MACRO) != list(DOT_MACRO_LINES):
        raise ValueError(f"macro {DOT_MACRO} is not defined as lasergen's dot macro before its use "
                         "(a job planned by an earlier lasergen: plan it again)")
    if len(args) != 4:
        raise ValueError(f"MAC START {DOT_MACRO} takes the dwell and the latency in ms and the gate line")
    if args[3] != str(st.m.gate_line):
        raise ValueError(f"MAC START {DOT_MACRO} names gate line {args[3]}; the profile's is {st.m.gate_line}")
    if st.energy is None:
        raise ValueError("a dot before any ;@energy line (the attenuator was never set)")
    dwell_s = int(args[1]) / 1000.0
    x, y = st.pos[:2]
    z = st.pos[2] if len(st.pos) > 2 else 0.0
    rows.append((DWELL, x, y, x, y, 0.0, dwell_s, st.energy, st.pass_id, st.layer, z, z, number))


def _mac_beg(st: _State, args, number, rows):
    if len(args) != 1:
        raise ValueError("MAC BEG takes a macro name")
    st.macro = [args[0].upper()]


def _ignore(st, args, number, rows):
    pass


COMMANDS = {"MOV": _move, "VEL": _vel, "TRO": _tro, "MAC START": _mac_start, "MAC BEG": _mac_beg,
            "ACC": _ignore, "DEC": _ignore, "DIO": _ignore, "CTO": _ignore}


def _host_line(st: _State, raw: str):
    if raw.startswith(";@pass "):
        parts = raw.split()
        try:
            st.pass_id, st.layer = int(parts[1]), int(parts[3])
        except (IndexError, ValueError):
            pass
    elif raw.startswith(";@energy "):
        try:
            st.energy = float(raw.split()[1])
        except (IndexError, ValueError):
            raise ValueError(f"unreadable energy line {raw!r}") from None
        if not (math.isfinite(st.energy) and st.energy >= 0):
            raise ValueError(f"energy must be a finite number >= 0, got {raw.split()[1]!r}")


def read_body(lines: list[str], machine) -> ParsedProgram:
    st = _State(machine)
    rows: list[tuple] = []
    for number, raw in enumerate(lines):
        text = raw.strip()
        try:
            if not text:
                continue
            if text.startswith(";"):
                _host_line(st, text)
                continue
            mnemonic, args = split_command(text)
            if st.macro is not None:
                if mnemonic == "MAC END":
                    st.macros[st.macro[0]] = st.macro[1:]
                    st.macro = None
                else:
                    st.macro.append(text)
                continue
            handler = COMMANDS.get(mnemonic)
            if handler is None:
                raise ValueError(f"{mnemonic} is not a command lasergen's GCS jobs use")
            handler(st, args, number, rows)
        except ValueError as exc:
            raise LasergenError(f"line {number + 1}: {exc} in {text!r}") from None
    if st.macro is not None:
        raise LasergenError(f"macro {st.macro[0]} is never closed by MAC END")
    table = np.array(rows, dtype=np.float64).reshape(-1, len(FIELDS))
    cols = dict(zip(FIELDS, table.T))
    row_line = cols.pop("line").astype(np.int64)
    return ParsedProgram(Toolpath.from_columns(**cols), row_line, len(lines))
