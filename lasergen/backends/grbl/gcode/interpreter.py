"""A G-code interpreter with GRBL 1.1's modal state, validation and laser-mode rules.

`Interpreter.execute(block)` validates a cleaned block the way gcode.c does (modal groups,
repeated and unused words, missing F/P/axis words, GRBL's status codes), then updates the
modal state and returns what the machine would do as `Action`s: motions (arcs are cut into
chords within $12 like mc_arc), dwells, spindle/laser changes and program flow. State only
changes when the whole block is valid, as in GRBL.

Laser mode ($32=1): the beam fires only in G1/G2/G3 with M3/M4 and S > 0, never in G0; M3
keeps its power through a G4 dwell when the motion mode is G1/2/3, M4 does not fire at rest.

`synced` tells whether the last block makes GRBL wait for the planner to empty before it
answers (protocol_buffer_synchronize): spindle/laser state changes (even in laser mode), an S
change or a G0<->G1 mode change at rest under M3 (gcode.c's LASER_FORCE_SYNC), G4, coolant
changes and M0/M2/M30. A sender may read the `ok` of such a block as "everything before it has
executed"; any other `ok` only means "parsed and queued".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lasergen.backends.grbl.gcode.words import STATUS, GcodeError, split_words

# G-code number -> (modal group, canonical command); None = unsupported (error:20)
G_CODES = {
    0: ("motion", "G0"), 1: ("motion", "G1"), 2: ("motion", "G2"), 3: ("motion", "G3"), 80: ("motion", "G80"),
    38.2: ("motion", "G38.2"), 38.3: ("motion", "G38.3"), 38.4: ("motion", "G38.4"), 38.5: ("motion", "G38.5"),
    4: ("nonmodal", "G4"), 10: ("nonmodal", "G10"), 28: ("nonmodal", "G28"), 28.1: ("nonmodal", "G28.1"),
    30: ("nonmodal", "G30"), 30.1: ("nonmodal", "G30.1"), 53: ("nonmodal", "G53"), 92: ("nonmodal", "G92"),
    92.1: ("nonmodal", "G92.1"), 17: ("plane", "G17"), 18: ("plane", "G18"), 19: ("plane", "G19"),
    90: ("distance", "G90"), 91: ("distance", "G91"), 91.1: ("arc_distance", "G91.1"),
    93: ("feed_mode", "G93"), 94: ("feed_mode", "G94"), 20: ("units", "G20"), 21: ("units", "G21"),
    40: ("cutter", "G40"), 43.1: ("tool_length", "G43.1"), 49: ("tool_length", "G49"), 61: ("control", "G61"),
    **{54 + i: ("coord", f"G{54 + i}") for i in range(6)},
}
M_CODES = {0: ("stopping", "M0"), 1: ("stopping", "M1"), 2: ("stopping", "M2"), 30: ("stopping", "M30"),
           3: ("spindle", "M3"), 4: ("spindle", "M4"), 5: ("spindle", "M5"),
           8: ("coolant", "M8"), 9: ("coolant", "M9")}
AXIS_NONMODAL = {"G10", "G28", "G30", "G92"}
VALUE_LETTERS = set("FIJKLNPRSTXYZ")
NON_NEGATIVE = set("FNPST")
MAX_LINE_NUMBER = 10_000_000
MAX_TOOL_NUMBER = 255
LASER_MOTIONS = ("G1", "G2", "G3")


@dataclass
class Action:
    kind: str  # "move", "dwell", "spindle", "stop", "coolant"
    start: tuple = ()
    end: tuple = ()
    rapid: bool = False
    feed_mm_s: float = 0.0
    power_s: float = 0.0  # S the laser fires with during this action (0 = off)
    spindle: str = "M5"
    seconds: float = 0.0
    code: str = ""


@dataclass
class ModalState:
    motion: str = "G0"
    plane: str = "G17"
    absolute: bool = True
    inverse_time: bool = False
    mm: bool = True
    coord: int = 0
    spindle: str = "M5"
    coolant: str = "M9"
    feed_mm_min: float = 0.0
    s: float = 0.0
    tool: int = 0
    position: list = field(default_factory=lambda: [0.0, 0.0, 0.0])  # machine coordinates, mm
    coord_offsets: list = field(default_factory=lambda: [[0.0, 0.0, 0.0] for _ in range(6)])
    g92: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    tool_length: float = 0.0
    home28: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    home30: list = field(default_factory=lambda: [0.0, 0.0, 0.0])
    line_number: int = 0

    def work_offset(self, axis: int) -> float:
        return self.coord_offsets[self.coord][axis] + self.g92[axis] + (self.tool_length if axis == 2 else 0.0)

    def work_position(self) -> list:
        return [self.position[a] - self.work_offset(a) for a in range(3)]


def _fail(name: str, detail: str = ""):
    raise GcodeError(STATUS[name], detail or name.replace("_", " "))


# G numbers whose invalid decimal forms GRBL rejects as unsupported (error:20), not error:23
G_DECIMAL_UNSUPPORTED = {17, 18, 19, 28, 30, 38, 43, 61, 90, 91, 92}


def _lookup(table, value, letter):
    """Command word -> (modal group, command), with gcode.c's error for each kind of miss."""
    int_value = int(value)
    mantissa = round(100 * (value - int_value))
    if letter == "M" and mantissa:
        _fail("command_value_not_integer", f"M{value:g} has a decimal")
    key = int_value if mantissa == 0 else round(value, 1)
    if key in table:
        return table[key]
    if mantissa and int_value in table and int_value not in G_DECIMAL_UNSUPPORTED:
        _fail("command_value_not_integer", f"{letter}{value:g} has a decimal")
    _fail("unsupported_command", f"{letter}{value:g} is not supported")


class Interpreter:
    def __init__(self, laser_mode: bool = True, arc_tolerance_mm: float = 0.002):
        self.state = ModalState()
        self.laser_mode = laser_mode
        self.arc_tolerance_mm = arc_tolerance_mm
        self.synced = False  # did the last block synchronise the planner (see module doc)

    def laser_power(self, motion: str, spindle: str, s: float) -> float:
        if spindle == "M5" or s <= 0:
            return 0.0
        if self.laser_mode and motion not in LASER_MOTIONS:
            return 0.0
        return s

    def execute(self, block: str, jog: bool = False) -> list[Action]:
        """Validate and run one cleaned block; raises GcodeError with GRBL's code."""
        words = split_words(block)
        groups, values = {}, {}
        for letter, value in words:
            if letter in "GM":
                group, cmd = _lookup(G_CODES if letter == "G" else M_CODES, value, letter)
                if group in groups:
                    _fail("modal_group_violation", f"{cmd} and {groups[group]} in one block")
                groups[group] = cmd
            elif letter in VALUE_LETTERS:
                if letter in values:
                    _fail("word_repeated", f"{letter} repeated")
                if letter in NON_NEGATIVE and value < 0:
                    _fail("negative_value", f"{letter}{value:g} is negative")
                values[letter] = value
            else:
                _fail("unsupported_command", f"word {letter} is not supported")
        if "motion" in groups and groups.get("nonmodal") in AXIS_NONMODAL:
            _fail("axis_command_conflict")
        if jog and (set(groups) - {"distance", "units", "nonmodal"} or groups.get("nonmodal") not in (None, "G53")):
            _fail("invalid_jog_command")
        return self._run(groups, values, jog)

    def _run(self, groups: dict, values: dict, jog: bool) -> list[Action]:
        st = self.state
        used = set()
        self.synced = False

        def take(letter):
            used.add(letter)
            return values.get(letter)

        n = take("N")
        if n is not None and n > MAX_LINE_NUMBER:
            _fail("invalid_line_number")
        mm = groups.get("units", "G21" if st.mm else "G20") == "G21"
        scale = 1.0 if mm else 25.4
        inverse_time = groups.get("feed_mode", "G93" if st.inverse_time else "G94") == "G93"
        absolute = groups.get("distance", "G90" if st.absolute else "G91") == "G90"
        motion = groups.get("motion", st.motion)
        nonmodal = groups.get("nonmodal")
        axis = {a: take(a) for a in "XYZ" if a in values}
        feed = take("F")
        feed_mm_min = feed * scale if feed is not None and not inverse_time else st.feed_mm_min
        if jog and feed is None:
            _fail("undefined_feed_rate")
        s = take("S")
        s = st.s if s is None else s
        t = take("T")
        if t is not None and t > MAX_TOOL_NUMBER:
            _fail("max_value_exceeded")
        spindle = groups.get("spindle", st.spindle)
        coord = st.coord if "coord" not in groups else int(groups["coord"][1:]) - 54
        actions: list[Action] = []

        # non-modal commands that use axis words or P/L values
        # an explicit motion word is a motion command even without axis words (gcode.c)
        axis_command = None
        if nonmodal in AXIS_NONMODAL:
            axis_command = nonmodal
        elif motion != "G80" and (axis or "motion" in groups):
            axis_command = "motion"
        if axis and axis_command is None and nonmodal not in ("G53",):
            _fail("axis_words_exist")
        if nonmodal == "G4":
            p = take("P")
            if p is None:
                _fail("value_word_missing", "G4 needs P (seconds)")
        if nonmodal == "G10":
            p, l_word = take("P"), take("L")
            if not axis:
                _fail("no_axis_words")
            if p is None or l_word is None:
                _fail("value_word_missing")
            if l_word not in (2, 20):
                _fail("unsupported_command")
            if int(p) > 6:
                _fail("unsupported_coord_sys")
        if nonmodal == "G92" and not axis:
            _fail("no_axis_words")
        if nonmodal == "G53" and motion not in ("G0", "G1"):
            _fail("g53_invalid_motion_mode")
        if axis_command == "motion" and motion in ("G1", "G2", "G3"):
            if inverse_time and feed is None:
                _fail("undefined_feed_rate")
            if not inverse_time and feed_mm_min <= 0:
                _fail("undefined_feed_rate", f"{motion} without a feed rate (F)")
            if motion in ("G2", "G3") and not axis:
                _fail("no_axis_words")
        if axis_command == "motion" and not axis and motion in ("G0", "G1"):
            axis_command = None  # G0/G1 without axis words only set the mode
        if axis_command == "motion" and motion.startswith("G38"):
            _fail("unsupported_command", "probing is not available on this controller")

        # target in machine coordinates
        target = list(st.position)
        for i, a in enumerate("XYZ"):
            if a in axis:
                v = axis[a] * scale
                if nonmodal == "G53":
                    target[i] = v
                elif absolute:
                    target[i] = v + (st.coord_offsets[coord][i] + st.g92[i] + (st.tool_length if i == 2 else 0))
                else:
                    target[i] = st.position[i] + v

        arc = None
        if axis_command == "motion" and motion in ("G2", "G3"):
            ijk = {a: take(a) for a in "IJK" if a in values}
            r = take("R")
            if not {"X", "Y"} & set(axis):
                _fail("no_axis_words_in_plane")
            arc = self._arc_center(motion, target, ijk, r, scale)
        if nonmodal in ("G10",):
            used.update("PL")
        unused = set(values) - used - ({"P"} if nonmodal == "G4" else set())
        if unused:
            _fail("unused_words", f"unused word(s) {''.join(sorted(unused))}")

        # ---- the block is valid: change state and act, in gcode.c's order of execution ----
        self.synced = self._needs_sync(groups, motion, spindle, s, axis_command == "motion" and bool(axis))
        st.line_number = int(n or 0)
        st.mm, st.absolute, st.inverse_time = mm, absolute, inverse_time
        if not inverse_time:
            st.feed_mm_min = feed_mm_min
        if t is not None:
            st.tool = int(t)
        if spindle != st.spindle or s != st.s:
            if spindle != st.spindle:
                actions.append(Action("spindle", spindle=spindle, power_s=s, code=spindle))
            st.spindle, st.s = spindle, s
        if "coolant" in groups:
            st.coolant = groups["coolant"]
            actions.append(Action("coolant", code=st.coolant))
        if nonmodal == "G4":
            st.motion = motion if "motion" in groups else st.motion
            power = self.laser_power(st.motion, st.spindle, st.s) if st.spindle == "M3" else 0.0
            actions.append(Action("dwell", seconds=values["P"], power_s=power, spindle=st.spindle))
        if "plane" in groups:
            st.plane = groups["plane"]
        st.coord = coord
        if groups.get("tool_length") == "G49":
            st.tool_length = 0.0
        elif groups.get("tool_length") == "G43.1":
            st.tool_length = (axis.get("Z", 0.0) or 0.0) * scale
        if nonmodal == "G10":
            index = st.coord if int(values["P"]) == 0 else int(values["P"]) - 1
            for i, a in enumerate("XYZ"):
                if a in axis:
                    v = axis[a] * scale
                    st.coord_offsets[index][i] = v if values["L"] == 2 else st.position[i] - st.g92[i] - v
        elif nonmodal == "G92":
            for i, a in enumerate("XYZ"):
                if a in axis:
                    st.g92[i] = st.position[i] - st.coord_offsets[st.coord][i] - axis[a] * scale
        elif nonmodal == "G92.1":
            st.g92 = [0.0, 0.0, 0.0]
        elif nonmodal in ("G28.1", "G30.1"):
            setattr(st, "home28" if nonmodal == "G28.1" else "home30", list(st.position))
        elif nonmodal in ("G28", "G30"):
            if axis:
                actions.append(self._move(target, rapid=True))
            home = st.home28 if nonmodal == "G28" else st.home30
            actions.append(self._move(list(home), rapid=True))
        if "motion" in groups:
            st.motion = motion
        if axis_command == "motion":
            if motion == "G0":
                actions.append(self._move(target, rapid=True))
            elif motion == "G1":
                actions.append(self._move(target, rapid=False))
            elif arc is not None:
                actions.extend(self._arc_moves(motion, target, arc))
        stop = groups.get("stopping")
        if stop:
            actions.append(Action("stop", code=stop))
            if stop in ("M2", "M30"):  # program end resets these modes, as GRBL does
                st.motion, st.plane, st.absolute, st.inverse_time, st.coord = "G1", "G17", True, False, 0
                st.g92 = [0.0, 0.0, 0.0]
                if st.spindle != "M5":
                    actions.append(Action("spindle", spindle="M5", code="M5"))
                st.spindle, st.coolant = "M5", "M9"
        return actions

    def _needs_sync(self, groups: dict, motion: str, spindle: str, s: float, is_motion: bool) -> bool:
        st = self.state
        if spindle != st.spindle or "coolant" in groups or groups.get("nonmodal") == "G4":
            return True
        if groups.get("stopping") in ("M0", "M2", "M30"):
            return True
        if spindle == "M5":
            return False
        if s != st.s:  # a new S syncs, except on a laser-mode motion (it rides on the block)
            return not (is_motion and self.laser_mode)
        if is_motion:
            return False
        # M3 at rest: switching between a firing (G1/2/3) and a non-firing motion mode re-syncs the laser
        return self.laser_mode and spindle == "M3" and (motion in LASER_MOTIONS) != (st.motion in LASER_MOTIONS)

    def _move(self, target: list, rapid: bool) -> Action:
        st = self.state
        start = tuple(st.position)
        motion = "G0" if rapid else "G1"
        action = Action("move", start=start, end=tuple(target), rapid=rapid, feed_mm_s=0.0 if rapid else st.feed_mm_min / 60.0,
                        power_s=self.laser_power(motion, st.spindle, st.s), spindle=st.spindle)
        st.position = list(target)
        return action

    def _arc_center(self, motion, target, ijk, r, scale):
        st = self.state
        x0, y0 = st.position[0], st.position[1]
        x1, y1 = target[0], target[1]
        if r is not None:
            r *= scale
            dx, dy = x1 - x0, y1 - y0
            if dx == 0 and dy == 0:
                _fail("invalid_target")
            h2 = 4.0 * r * r - dx * dx - dy * dy
            if h2 < 0:
                _fail("arc_radius_error")
            h = -math.sqrt(h2) / math.hypot(dx, dy)
            if motion == "G3":
                h = -h
            if r < 0:
                h, r = -h, -r
            return (x0 + 0.5 * (dx - h * dy), y0 + 0.5 * (dy + h * dx))
        if not ({"I", "J"} & set(ijk)):
            _fail("no_offsets_in_plane")
        cx, cy = x0 + ijk.get("I", 0.0) * scale, y0 + ijk.get("J", 0.0) * scale
        r0, r1 = math.hypot(x0 - cx, y0 - cy), math.hypot(x1 - cx, y1 - cy)
        delta = abs(r1 - r0)
        if delta > 0.005 and (delta > 0.5 or delta > 0.001 * r0):
            _fail("invalid_target")
        return (cx, cy)

    def _arc_moves(self, motion, target, center):
        st = self.state
        cx, cy = center
        x0, y0, z0 = st.position
        r = math.hypot(x0 - cx, y0 - cy)
        a0 = math.atan2(y0 - cy, x0 - cx)
        a1 = math.atan2(target[1] - cy, target[0] - cx)
        sweep = a1 - a0
        if motion == "G2" and sweep >= -1e-9:
            sweep -= 2 * math.pi
        if motion == "G3" and sweep <= 1e-9:
            sweep += 2 * math.pi
        tol = self.arc_tolerance_mm
        segments = max(1, int(abs(0.5 * sweep * r) / math.sqrt(max(tol * (2 * r - tol), 1e-12))))
        moves = []
        for k in range(1, segments + 1):
            f = k / segments
            point = [cx + r * math.cos(a0 + sweep * f), cy + r * math.sin(a0 + sweep * f), z0 + (target[2] - z0) * f]
            moves.append(self._move(target if k == segments else point, rapid=False))
        return moves
