"""The GCS commands the C-884 emulator answers, one handler each (a table, not an if-chain).

A handler gets the emulator, the command's arguments and whether the host sent it (or a macro
runs it); it sets `emu.error` for a refused command (GCS answers nothing then) and `say`s the
answer of a query. Error codes are PI's (`lasergen.backends.pi_gcs.codes`).
"""

from __future__ import annotations

import math

from lasergen.backends.pi_gcs.commands import BUSY_BYTE, READY_BYTE, answer_lines, pairs

E_SYNTAX, E_UNKNOWN, E_NO_REF_OR_SERVO, E_POS_LIMIT, E_VEL_LIMIT = 1, 2, 5, 7, 8
E_AXIS, E_RANGE, E_MACRO_NAME, E_MACRO_MISSING, E_PARAMS, E_ONLY_MACRO, E_MOVING = 15, 17, 18, 20, 24, 85, 93
CTO_TRIGGER_STEP, CTO_AXIS, CTO_MODE, CTO_POLARITY = 1, 2, 3, 7
SUPPORTED_MODES = (2, 5, 6)  # on target, motion error, in motion; see the emulator's notes
MAX_MACRO_LINES = 256


def answer(items) -> bytes:
    return answer_lines([items] if isinstance(items, str) else list(items))


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(text)
    return value


class Commands:
    """Single-byte commands (mixed into the emulator)."""

    def single_byte(self, name: str):
        if self.fast_forward and name in ("#5", "#7", "#8"):
            self.run_until_idle()
        if name == "#5":
            mask = sum(1 << i for i in range(len(self.axes)) if self.moving(i))
            self.say(f"{mask:X}")
        elif name == "#7":
            if not self.stalled:
                self.out += bytes([BUSY_BYTE if self.recording else READY_BYTE])
        elif name == "#8":
            self.say("1" if self.macro or self.macro_timer_s is not None else "0")
        elif name == "#24":
            self.soft_reset()


def _axes_values(emu, args, convert=_float) -> dict[int, float]:
    out = {}
    for axis, value in pairs(args):
        if axis not in emu.index:
            raise KeyError(axis)
        out[emu.index[axis]] = convert(value)
    return out


def _guard_axes(fn):
    """Unknown axis -> error 15; odd arguments -> error 24; a bad number -> error 1."""
    def run(emu, args, from_host):
        try:
            fn(emu, args, from_host)
        except KeyError:
            emu.error = E_AXIS
    return run


def _query_axes(emu, args, values) -> None:
    wanted = args or emu.axes
    if any(a not in emu.index for a in wanted):
        emu.error = E_AXIS
        return
    emu.say([f"{a}={values(emu.index[a])}" for a in wanted])


def _num(v: float) -> str:
    return f"{v:.6f}"


@_guard_axes
def _mov(emu, args, from_host):
    targets = _axes_values(emu, args)
    limits = emu.travel_mm
    for i, p in targets.items():
        if not (emu.servo[i] and emu.referenced[i]):
            emu.error = E_NO_REF_OR_SERVO
            return
        if not limits[i][0] - 1e-9 <= p <= limits[i][1] + 1e-9:
            emu.error = E_POS_LIMIT
            return
    emu.start_move(targets)


def _setter(name: str, limit=None):
    @_guard_axes
    def run(emu, args, from_host):
        values = _axes_values(emu, args)
        for i, v in values.items():
            if v <= 0 or (limit is not None and v > limit(emu)[i] + 1e-9):
                emu.error = E_VEL_LIMIT if name == "vel" else E_RANGE
                return
        for i, v in values.items():
            getattr(emu, name)[i] = v
    return run


@_guard_axes
def _svo(emu, args, from_host):
    for i, v in _axes_values(emu, args, int).items():
        if emu.moving(i):
            emu.error = E_MOVING
            return
        emu.servo[i] = v == 1


def _frf(emu, args, from_host):
    wanted = args or emu.axes
    if any(a not in emu.index for a in wanted):
        emu.error = E_AXIS
        return
    idx = [emu.index[a] for a in wanted]
    if not all(emu.servo[i] for i in idx):
        emu.error = E_NO_REF_OR_SERVO
        return
    low = {i: emu.travel_mm[i][0] for i in idx}
    for i in idx:
        emu.referenced[i] = True
    emu.start_move({i: low[i] for i in idx})


def _stp(emu, args, from_host):
    emu.stop_all()


def _dio(emu, args, from_host):
    for line, value in pairs(args):
        line = int(line)
        if line not in emu.dio:
            emu.error = E_RANGE
            return
        emu.dio[line] = value == "1"


def _tro(emu, args, from_host):
    for line, value in pairs(args):
        line = int(line)
        if line not in emu.tro:
            emu.error = E_RANGE
            return
        emu.tro[line] = value == "1"


def _cto(emu, args, from_host):
    if len(args) % 3:
        emu.error = E_PARAMS
        return
    for k in range(0, len(args), 3):
        line, param, value = int(args[k]), int(args[k + 1]), args[k + 2]
        if line not in emu.cto:
            emu.error = E_RANGE
            return
        if param == CTO_MODE and int(value) not in SUPPORTED_MODES:
            emu.error = E_RANGE
            return
        if param == CTO_AXIS and value not in emu.index:
            emu.error = E_AXIS
            return
        emu.cto[line][param] = int(value) if param == CTO_MODE else value


def _cto_query(emu, args, from_host):
    emu.say([f"{line} {p}={v}" for line, params in emu.cto.items() for p, v in params.items()])


def _del(emu, args, from_host):
    if from_host:
        emu.error = E_ONLY_MACRO
        return
    emu.macro_timer_s = emu.now_s + max(0, int(args[0])) / 1000.0


def _mac_beg(emu, args, from_host):
    if len(args) != 1 or not args[0].isalnum() or len(args[0]) > 8:
        emu.error = E_MACRO_NAME
        return
    emu.recording = (args[0].upper(), [])


def _mac_start(emu, args, from_host):
    if not args or args[0].upper() not in emu.macros:
        emu.error = E_MACRO_MISSING
        return
    values = args[1:]
    lines = emu.macros[args[0].upper()]
    for k, value in enumerate(values, start=1):
        lines = [line.replace(f"${k}", value) for line in lines]
    emu.macro = list(lines)
    emu.macro_timer_s = None


def _mac_del(emu, args, from_host):
    if not args or emu.macros.pop(args[0].upper(), None) is None:
        emu.error = E_MACRO_MISSING


def _mac_query(emu, args, from_host):
    if args:
        lines = emu.macros.get(args[0].upper())
        if lines is None:
            emu.error = E_MACRO_MISSING
            return
        emu.say(lines)
    else:
        emu.say(sorted(emu.macros) or [""])


def _err(emu, args, from_host):
    emu.say(str(emu.error))
    emu.error = 0


def _rbt(emu, args, from_host):
    emu.power_up()


HANDLERS = {
    "*IDN?": lambda emu, a, h: emu.say(emu.idn),
    "ERR?": _err,
    "CSV?": lambda emu, a, h: emu.say("2.0"),
    "SAI?": lambda emu, a, h: emu.say(emu.axes),
    "TIO?": lambda emu, a, h: emu.say(["I=4", "O=4"]),
    "HLP?": lambda emu, a, h: emu.say(sorted(HANDLERS)),
    "SVO": _svo,
    "SVO?": lambda emu, a, h: _query_axes(emu, a, lambda i: int(emu.servo[i])),
    "FRF": _frf,
    "FRF?": lambda emu, a, h: _query_axes(emu, a, lambda i: int(emu.referenced[i])),
    "MOV": _mov,
    "MOV?": lambda emu, a, h: _query_axes(emu, a, lambda i: _num(emu.target[i])),
    "POS?": lambda emu, a, h: _query_axes(emu, a, lambda i: _num(emu.positions_now()[i])),
    "ONT?": lambda emu, a, h: _query_axes(emu, a, lambda i: int(emu.on_target(i))),
    "VEL": _setter("vel", lambda emu: emu.max_vel_mm_s),
    "VEL?": lambda emu, a, h: _query_axes(emu, a, lambda i: _num(emu.vel[i])),
    "ACC": _setter("acc"),
    "ACC?": lambda emu, a, h: _query_axes(emu, a, lambda i: _num(emu.acc[i])),
    "DEC": _setter("dec"),
    "DEC?": lambda emu, a, h: _query_axes(emu, a, lambda i: _num(emu.dec[i])),
    "TMN?": lambda emu, a, h: _query_axes(emu, a, lambda i: _num(emu.travel_mm[i][0])),
    "TMX?": lambda emu, a, h: _query_axes(emu, a, lambda i: _num(emu.travel_mm[i][1])),
    "STP": _stp,
    "HLT": _stp,
    "DIO": _dio,
    "DIO?": lambda emu, a, h: emu.say([f"{line}={int(emu.line_level(line))}" for line in emu.dio]),
    "TRO": _tro,
    "TRO?": lambda emu, a, h: emu.say([f"{line}={int(v)}" for line, v in emu.tro.items()]),
    "CTO": _cto,
    "CTO?": _cto_query,
    "DEL": _del,
    "MAC BEG": _mac_beg,
    "MAC START": _mac_start,
    "MAC DEL": _mac_del,
    "MAC?": _mac_query,
    "RBT": _rbt,
}
