"""Toolpath -> G-code body in the GRBL 1.1 laser dialect, formatted with numpy, not per line.

Per toolpath row:
  RAPID  G0X<x>Y<y>, or G0X<x> inside a scan line (laser mode gates the beam off in G0)
  LINE   G1X<x>[Y<y>][F<mm/min>]S<power>     (S0 = blank move at constant speed)
  DWELL  G1F<max>M3S<power> / G4P<s> / M5    (a dot: laser on at rest, then off)
GRBL rejects a G1 without axis words (error:22) while no feed rate has been set, which
is the case in a dots-only job, so the dot's G1 carries the machine's max rate as F.
A G0 that begins a scan line or moves between dots carries absolute X and Y, and the first G1
after it, a dot or a pass start states Y and F, so a job resumed from such a G0 (the runner
restarts at the G0 that begins a scan line) needs no modal history but G21 G90 and, inside a
raster pass, M3. A G0 between two G1s of one pass that keeps Y (a gap inside a scan line
crossed by a collinear rapid) is `G0X..`, and the G1 after it `G1X..S..`: it is not a restart
point. Within a scan line a G1 is `G1X..S..`: ~40 % fewer bytes on the serial link.
A line pass (raster or vector) is bracketed by `M4S0` (armed) or `M3S0` and `M5`; a `;@pass`
comment names it for the reader. A pass of mode "travel" (blank moves only, `lasergen frame`)
gets no `M3`: the beam stays gated off by `M5` whatever its lines say.
Armed passes (GRBL's M4 with modal arming; `arm`): every mark is a bare line, `X..[Y..][F..]S..`,
that runs in the motion mode the line before it left. That line is its arming line, the blank
G1 that ends at the mark's start (a lead-in, a gap crossed at writing speed, or a gap crossed at
the rapid rate as `G1X..F<max rate>S0`, which GRBL plans exactly as the G0 it replaces), and the
line before the arming line always leaves G0 (a `G0X..` move, or a bare `G0` written for it).
GRBL changes no modal state on a line it refuses, so a refused arming line leaves the mark a G0
(the beam is disabled in G0): never written, never written from the wrong place. That is what
lets the sender stream marks without waiting for every earlier `ok` (no barrier per mark,
`drivers/grbl/plan.py`). Under M4 the power follows the speed (S x speed / programmed rate) and
the beam is off at rest; GRBL forces no planner sync on a bare `G0` under M4 (it would under M3,
gcode.c's laser-mode sync rule), so the machine never stops for it. A pass whose marks cannot be
armed (a chain of beam-on lines, as a vector stroke's segments; a mark with no blank move or
in-line rapid right before it) is written under M3 as before.
Z (a job in depth; a flat job never states Z, so its lines are as they always were): a RAPID
that moves Z alone, between planes, is `G0Z<z>` (laser mode: the beam is off in G0); every
other G0 that is a restart point states Z with X and Y (`G0X..Y..Z..`), so a resumed job
re-establishes the plane before any mark; a G1 or an in-line G0 states Z where it changes it
(a tilted sample: Z follows the surface along the line). Words in the order X Y Z F S; the
longest line, `G1X-100.1234Y-100.1234Z-10.1234F30000S1000.5`, is 44 characters.
Numbers are written as fixed point with trailing zeros trimmed, by building a byte matrix
(rows x columns) with 0 as "no character" and dropping the zeros in one pass: ~10^7 lines/min.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from lasergen import kernels
from lasergen.machine import MachineProfile
from lasergen.toolpath import DWELL, LINE, RAPID, Toolpath

CHUNK_ROWS = 500_000
UNLIT_MODES = ("dots", "travel")  # passes not bracketed by M3S0 ... M5 (a dot switches itself)
ARMED_ON, CONSTANT_ON = "M4S0", "M3S0"  # the brackets of an armed pass and of any other lit pass
BARE, ARMING, DISARM = 1, 2, 4  # `form` bits of a LINE row in an armed pass: no G1 word (a mark);
# Y and F written each where needed (arming lines and marks); a bare `G0` line before it


def _digits_table(count: int, width: int) -> np.ndarray:
    """ASCII of 0..count-1, right-aligned in `width` columns, 0 bytes for leading blanks."""
    values = np.arange(count)
    table = np.zeros((count, width), dtype=np.uint8)
    for col in range(width):
        power = 10 ** (width - 1 - col)
        table[:, col] = np.where((values >= power) | (col == width - 1), values // power % 10 + 48, 0)
    return table


def _fraction_table(decimals: int) -> np.ndarray:
    """'.ddd' of 0..10^d-1 with trailing zeros (and a bare point) dropped, as 0 bytes."""
    table = np.zeros((10 ** decimals, decimals + 1), dtype=np.uint8)
    digits = _digits_table(10 ** decimals, decimals)
    digits[digits == 0] = 48  # fractions keep their leading zeros
    keep = np.flip(np.cumsum(np.flip(digits > 48, axis=1), axis=1), axis=1) > 0
    table[:, 1:] = np.where(keep, digits, 0)
    table[:, 0] = np.where(keep[:, 0], ord("."), 0)
    return table


_FRACTIONS = {d: _fraction_table(d) for d in range(1, 5)}


def number_columns(values: np.ndarray, decimals: int) -> np.ndarray:
    """Fixed-point ASCII of each value, right-aligned; 0 bytes where no character goes.

    Integer and fraction parts are looked up in digit tables (one gather each), which is an
    order of magnitude faster than per-digit integer arithmetic on large arrays.
    """
    scale = 10 ** decimals
    scaled = np.rint(np.abs(values) * scale).astype(np.int64)
    int_part, frac = np.divmod(scaled, scale)
    top = int(int_part.max(initial=0))
    n_int = len(str(top))
    out = np.zeros((len(values), 1 + n_int + 1 + decimals), dtype=np.uint8)
    out[:, 1:1 + n_int] = np.take(_digits_table(top + 1, n_int), int_part, axis=0)
    negative = np.flatnonzero((values < 0) & (scaled > 0))
    if negative.size:
        first_digit = np.argmax(out[negative, 1:1 + n_int] > 0, axis=1)
        out[negative, first_digit] = ord("-")
    if decimals:
        out[:, 1 + n_int:] = np.take(_FRACTIONS[decimals], frac, axis=0)
    return out


def _field(text: str, n: int) -> np.ndarray:
    return np.frombuffer(text.encode(), dtype=np.uint8)[None, :].repeat(n, axis=0)


def _lines(fields: list[np.ndarray]) -> np.ndarray:
    """Concatenate per-row fields into a byte matrix (0 = no character)."""
    n = fields[0].shape[0]
    matrix = np.empty((n, sum(f.shape[1] for f in fields)), dtype=np.uint8)
    col = 0
    for f in fields:
        matrix[:, col:col + f.shape[1]] = f
        col += f.shape[1]
    return matrix


def dot_on(machine: MachineProfile) -> str:
    """`G1F<max rate>M3S`: G1 puts GRBL's laser mode in a laser-on motion mode, and F makes the
    axis-less G1 valid even before any feed rate has been programmed."""
    return "G1F" + f"{min(machine.max_rate_mm_s) * 60.0:.2f}".rstrip("0").rstrip(".") + "M3S"


LINE_SHORT = 3  # a LINE row that keeps the modal Y and F: G1X<x>S<s>
LINE_ARMED = 6  # a LINE row of an armed pass: [G0 line] [G1]X<x>[Y<y>][Z<z>][F<f>]S<s>
RAPID_SHORT = 4  # a RAPID row inside a scan line: G0X<x>
RAPID_Z = 5  # a RAPID row that moves Z alone: G0Z<z>
Z_NONE, Z_AFTER, Z_ONLY = 0, 1, 2  # per row: no Z word, Z after X (and Y), Z alone
ROW_BYTES = 22  # matrix row width: fits G0X..Y.. and G1X..S..; longer lines take two rows


def inline_rapids(path: Toolpath) -> np.ndarray:
    """RAPID rows inside a scan line: between two LINE rows of the same pass, Y unchanged."""
    kind, pid = path.kind, path.pass_id
    inside = np.zeros(len(path), dtype=bool)
    inside[1:-1] = (kind[1:-1] == RAPID) & (kind[:-2] == LINE) & (kind[2:] == LINE) \
        & (pid[1:-1] == pid[:-2]) & (pid[1:-1] == pid[2:]) & (path.y1[1:-1] == path.y0[1:-1])
    return inside


def modal_words(path: Toolpath, inline: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Which LINE rows must state Y and F: the first after any other kind of row (but a rapid
    inside the scan line) or a pass start, so a resume from a scan line's G0 is self-contained,
    and where Y or F change."""
    n = len(path)
    if inline is None:
        inline = inline_rapids(path)
    line = path.kind == LINE
    fresh = np.ones(n, dtype=bool)
    fresh[1:] = ((path.kind[:-1] != LINE) & ~inline[:-1]) | (path.pass_id[1:] != path.pass_id[:-1])
    need_f = line & (fresh | np.r_[True, path.speed_mm_s[1:] != path.speed_mm_s[:-1]])
    need_y = line & (fresh | (path.y1 != path.y0))
    return need_y, need_f


def z_words(path: Toolpath, inline: np.ndarray, with_z: bool | None = None) -> np.ndarray:
    """Per row, how it states Z (Z_NONE, Z_AFTER, Z_ONLY): nothing in a flat job; else a G0
    restart point always, a Z-only RAPID as `G0Z`, a G1 or an in-line G0 where Z changes."""
    n = len(path)
    mode = np.zeros(n, dtype=np.uint8)
    if not (path.has_z if with_z is None else with_z):
        return mode
    changes = path.z1 != path.z0
    rapid = path.kind == RAPID
    restart = rapid & ~inline
    mode[restart | (((path.kind == LINE) | inline) & changes)] = Z_AFTER
    mode[restart & changes & (path.x1 == path.x0) & (path.y1 == path.y0)] = Z_ONLY
    return mode


def arm(path: Toolpath, machine: MachineProfile, lit: np.ndarray, every_pass_lit: bool = False):
    """(path, form, armed, inline): the toolpath as armed passes write it, the `form` bits per row,
    per pass id in `lit` (the passes bracketed by M3/M4) whether it is armed, and the in-line
    rapids left. In an armed pass an in-line rapid straight before a mark becomes the blank G1
    at the machine's top rate that arms it (GRBL plans both alike: the nominal speed is capped
    by the axes' rates either way). Per-row booleans, shifted, not index arrays: 10^7-row jobs."""
    n = len(path)
    inline = inline_rapids(path)
    if n == 0 or not lit.size:
        return path, np.zeros(n, np.uint8), np.zeros(lit.size, bool), inline
    armed = np.ones(lit.size, bool)
    kind, pid = path.kind, path.pass_id
    lit_of = np.zeros(int(max(pid.max(), lit.max())) + 1, bool)
    lit_of[lit] = True
    line = kind == LINE
    any_mark = line & (path.energy_uJ > 0)
    mark = any_mark if every_pass_lit else any_mark & lit_of[pid]
    same_pass = np.zeros(n, bool)  # the row before is of the same pass
    np.equal(pid[1:], pid[:-1], out=same_pass[1:])
    armable = np.zeros(n, bool)  # the row before is a blank G1 or an in-line rapid of the pass
    armable[1:] = same_pass[1:] & ~any_mark[:-1] & (line[:-1] | inline[:-1])
    unarmable = mark & ~armable
    if unarmable.any():  # such passes stay under M3
        bad = np.unique(pid[unarmable])
        lit_of[bad] = False
        armed = ~np.isin(lit, bad)
        mark &= lit_of[pid]
    del armable, unarmable, any_mark
    arming = np.zeros(n, bool)
    arming[:-1] = mark[1:]
    convert = arming & inline
    if convert.any():
        kind, speed = kind.copy(), path.speed_mm_s.copy()
        np.putmask(kind, convert, LINE)
        np.putmask(speed, convert, max(machine.max_rate_mm_s))
        path = replace(path, kind=kind, speed_mm_s=speed)
        inline &= ~convert
    disarm = arming.copy()  # the line before the arming line must leave G0: a G0 move, else a bare G0
    disarm[1:] &= ~(same_pass[1:] & (kind[:-1] == RAPID))
    form = mark.view(np.uint8) * np.uint8(BARE | ARMING)
    form |= arming.view(np.uint8) * np.uint8(ARMING)
    form |= disarm.view(np.uint8) * np.uint8(DISARM)
    return path, form, armed, inline


def _optional(field: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """A field's bytes on the rows that `keep`, no characters (0 bytes) elsewhere."""
    return np.where(keep[:, None], field, np.uint8(0)) if not keep.all() else field


def _z_field(path: Toolpath, rows: np.ndarray, z_mode: np.ndarray) -> list[np.ndarray]:
    keep = z_mode[rows] != Z_NONE
    if not keep.any():
        return []
    n = rows.size
    return [_optional(_field("Z", n), keep), _optional(number_columns(path.z1[rows], 4), keep)]


def _group_matrix(kind: int, rows: np.ndarray, path: Toolpath, machine: MachineProfile,
                  z_mode: np.ndarray, need_y: np.ndarray, need_f: np.ndarray, form: np.ndarray) -> np.ndarray:
    n = rows.size
    if kind == RAPID_Z:
        fields = [_field("G0Z", n), number_columns(path.z1[rows], 4), _field("\n", n)]
    elif kind == DWELL:
        fields = [_field(dot_on(machine), n), number_columns(machine.energy_to_s(path.energy_uJ[rows]), 1),
                  _field("\nG4P", n),
                  number_columns(path.dwell_s[rows], 3), _field("\nM5\n", n)]
    elif kind == RAPID_SHORT:
        fields = [_field("G0X", n), number_columns(path.x1[rows], 4), *_z_field(path, rows, z_mode), _field("\n", n)]
    elif kind == LINE_ARMED:
        fields = [_optional(_field("G0\n", n), (form[rows] & DISARM) > 0),
                  _optional(_field("G1", n), (form[rows] & BARE) == 0), _field("X", n), number_columns(path.x1[rows], 4),
                  _optional(_field("Y", n), need_y[rows]), _optional(number_columns(path.y1[rows], 4), need_y[rows]),
                  *_z_field(path, rows, z_mode),
                  _optional(_field("F", n), need_f[rows]),
                  _optional(number_columns(path.speed_mm_s[rows] * 60.0, 2), need_f[rows]),
                  _field("S", n), number_columns(machine.energy_to_s(path.energy_uJ[rows]), 1), _field("\n", n)]
    elif kind == LINE_SHORT:
        fields = [_field("G1X", n), number_columns(path.x1[rows], 4), *_z_field(path, rows, z_mode), _field("S", n),
                  number_columns(machine.energy_to_s(path.energy_uJ[rows]), 1), _field("\n", n)]
    else:
        fields = [_field("G0X" if kind == RAPID else "G1X", n), number_columns(path.x1[rows], 4),
                  _field("Y", n), number_columns(path.y1[rows], 4), *_z_field(path, rows, z_mode)]
        if kind == LINE:
            fields += [_field("F", n), number_columns(path.speed_mm_s[rows] * 60.0, 2),
                       _field("S", n), number_columns(machine.energy_to_s(path.energy_uJ[rows]), 1)]
        fields.append(_field("\n", n))
    return _lines(fields)


def format_rows(path: Toolpath, machine: MachineProfile, need_y: np.ndarray | None = None,
                need_f: np.ndarray | None = None, inline: np.ndarray | None = None,
                z_mode: np.ndarray | None = None, form: np.ndarray | None = None) -> bytes:
    """The G-code lines of toolpath rows (no pass brackets), as one bytes object: the compiled
    kernel when built (`lasergen.kernels`), else the numpy formatter; byte-identical. `form`:
    the armed-pass bits per row (`arm`), none by default."""
    n = len(path)
    if n == 0:
        return b""
    if form is None:
        form = np.zeros(n, np.uint8)
    if inline is None:
        inline = inline_rapids(path)
    if need_y is None or need_f is None:
        need_y, need_f = modal_words(path, inline)
    if z_mode is None:
        z_mode = z_words(path, inline)
    kernel = kernels.get()
    if kernel is not None:
        s_word = machine.energy_to_s(path.energy_uJ)
        if s_word.dtype == np.float32:
            f_word = path.speed_mm_s * 60.0
            columns = (path.kind, path.x1, path.y1, f_word, s_word, path.dwell_s, need_y, need_f, inline,
                       path.z1, z_mode, form)
            return kernel.format_rows(*map(np.ascontiguousarray, columns), dot_on(machine).encode())
    return format_rows_numpy(path, machine, need_y, need_f, inline, z_mode, form)


def format_rows_numpy(path: Toolpath, machine: MachineProfile, need_y: np.ndarray, need_f: np.ndarray,
                      inline: np.ndarray, z_mode: np.ndarray | None = None, form: np.ndarray | None = None) -> bytes:
    """The reference formatter. Rows are formatted per kind into byte matrices (0 = no character)
    and laid into one matrix ROW_BYTES wide, a line too long for one matrix row taking two;
    dropping the 0 bytes in one pass then yields the lines in order."""
    n = len(path)
    if z_mode is None:
        z_mode = z_words(path, inline)
    kind = path.kind.copy()
    kind[(kind == LINE) & ~need_y & ~need_f] = LINE_SHORT
    kind[inline] = RAPID_SHORT
    kind[(path.kind == RAPID) & (z_mode == Z_ONLY)] = RAPID_Z
    if form is None:
        form = np.zeros(n, np.uint8)
    kind[(path.kind == LINE) & (form > 0)] = LINE_ARMED
    groups = []
    for k in (RAPID, LINE, DWELL, LINE_SHORT, RAPID_SHORT, RAPID_Z, LINE_ARMED):
        rows = np.flatnonzero(kind == k)
        if rows.size:
            groups.append((rows, _group_matrix(k, rows, path, machine, z_mode, need_y, need_f, form)))
    span = np.ones(n, dtype=np.int64)
    for rows, m in groups:
        span[rows] = -(-m.shape[1] // ROW_BYTES)
    first = np.cumsum(span) - span
    matrix = np.zeros((int(span.sum()), ROW_BYTES), dtype=np.uint8)
    for rows, m in groups:
        parts = -(-m.shape[1] // ROW_BYTES)
        padded = np.zeros((m.shape[0], parts * ROW_BYTES), dtype=np.uint8)
        padded[:, :m.shape[1]] = m
        for p in range(parts):
            matrix[first[rows] + p] = padded[:, p * ROW_BYTES:(p + 1) * ROW_BYTES]
    flat = matrix.ravel()
    return flat[flat != 0].tobytes()


def pass_comment(pass_id: int, layer: int, layer_name: str, recipe: str, mode: str) -> str:
    return f";@pass {pass_id} layer {layer} recipe {recipe} mode {mode} name {layer_name}"[:79]


def _pass_modes(path: Toolpath, pass_info: dict[int, dict], bounds: np.ndarray) -> list[str]:
    modes = []
    for a, b in zip(bounds[:-1], bounds[1:]):
        info = pass_info.get(int(path.pass_id[a]), {})
        modes.append(info.get("mode", "dots" if (path.kind[a:b] == DWELL).any() else "raster"))
    return modes


def _written(path: Toolpath, machine: MachineProfile, pass_info: dict[int, dict], armed: bool):
    """(pass bounds, pass modes, the toolpath as written, `form` bits, ids of the armed passes, in-line rapids)."""
    bounds = np.flatnonzero(np.r_[True, path.pass_id[1:] != path.pass_id[:-1], True]) if len(path) else np.zeros(1, int)
    modes = _pass_modes(path, pass_info, bounds)
    lit = np.array([int(path.pass_id[a]) for a, m in zip(bounds[:-1], modes) if m not in UNLIT_MODES], np.int64)
    if not armed:
        lit = lit[:0]
    path, form, armed_lit, inline = arm(path, machine, lit, every_pass_lit=lit.size == len(modes))
    return bounds, modes, path, form, set(lit[armed_lit].tolist()), inline


def as_written(path: Toolpath, machine: MachineProfile, pass_info: dict[int, dict], armed: bool = True) -> Toolpath:
    """The toolpath as `emit_body` writes it (an armed pass's rapids into marks are blank G1s at
    the top rate), which is what reading the body back gives."""
    return _written(path, machine, pass_info, armed)[2]


def emit_body(path: Toolpath, machine: MachineProfile, pass_info: dict[int, dict], armed: bool = True):
    """Program body as a stream of byte chunks: units/modes, each pass bracketed, laser off at the
    end. A pass in depth (`pass_info[p]["depth_um"]`) or a toolpath that moves Z states Z. Lit
    passes whose marks can be armed are written armed under M4 (`arm`; `armed=False`: every lit
    pass under M3, the dialect of earlier versions, kept for comparisons)."""
    yield b"G21G90G94\nM5\n"
    bounds, modes, path, form, armed_ids, inline = _written(path, machine, pass_info, armed)
    need_y, need_f = modal_words(path, inline)
    with_z = path.has_z or any(info.get("depth_um") is not None for info in pass_info.values())
    z_mode = z_words(path, inline, with_z)
    for a, b, mode in zip(bounds[:-1], bounds[1:], modes):
        pid = int(path.pass_id[a])
        info = pass_info.get(pid, {})
        head = pass_comment(pid, int(path.layer[a]), info.get("name", ""), info.get("recipe", ""), mode) + "\n"
        bracket = mode not in UNLIT_MODES
        on = (ARMED_ON if pid in armed_ids else CONSTANT_ON) + "\n"
        yield (head + (on if bracket else "")).encode()
        for c in range(a, b, CHUNK_ROWS):
            chunk = slice(c, min(c + CHUNK_ROWS, b))
            yield format_rows(path.take(chunk), machine, need_y[chunk], need_f[chunk], inline[chunk], z_mode[chunk],
                              form[chunk])
        if bracket:
            yield b"M5\n"
    yield b"M5\n"
