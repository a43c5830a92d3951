"""A G-code interpreter with GRBL 1.1's modal state, validation and laser-mode rules.

`Interpreter.execute(block)` validates a cleaned block as gcode.c does and in its order (the
first failing check decides the code): the word-by-word first pass (`commands.read_words`),
then line number, feed rate, dwell, tool-length, non-modal (G10/G92/G28/G30/G53), motion
(G80, G0/G1, arcs in the selected plane, G38.x probes) and unused-word checks, and for `$J=`
jogs the jog rules last. Only a valid block changes the state; it then runs in gcode.c's order
of execution and returns what the machine would do as `Action`s: motions (arcs cut into chords
within $12 as mc_arc does), dwells, spindle/laser and coolant changes, program flow, probes.

Probing (G38.2-G38.5) is accepted as GRBL accepts it; whether the probe touches is the
machine's business, not the parser's: the interpreter assumes the move runs to its target
(GRBL's parser position after a probe that never triggered) and returns a "probe" action.

Laser mode ($32=1): the beam fires only in G1/G2/G3 with M3/M4 and S > 0, never in G0 or a
probe move; M3 keeps its power through a G4 dwell when the motion mode is G1/2/3, M4 does
not fire at rest.

`synced` tells whether the last block makes GRBL wait for the planner to empty before it
answers (protocol_buffer_synchronize): spindle/laser state changes (even in laser mode), an S
change or a G0<->G1 mode change at rest under M3 (gcode.c's LASER_FORCE_SYNC), G4, probes,
coolant changes and M0/M2/M30. A sender may read the `ok` of such a block as "everything
before it has executed"; any other `ok` only means "parsed and queued".
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from lasergen.backends.grbl.gcode.arcs import PLANE_AXES, center_from_offsets, center_from_radius, chord_points
from lasergen.backends.grbl.gcode.commands import Words, fail, read_words
from lasergen.backends.grbl.gcode.words import split_words

MAX_LINE_NUMBER = 10_000_000
N_COORDINATE_SYSTEMS = 6
MM_PER_INCH = 25.4
LASER_MOTIONS = ("G1", "G2", "G3")
PROBES = ("G38.2", "G38.3", "G38.4", "G38.5")
JOG_GROUPS = {"distance", "units", "nonmodal"}
OFFSET_AXIS = {"I": 0, "J": 1, "K": 2}


@dataclass
class Action:
    kind: str  # "move", "dwell", "spindle", "stop", "coolant", "probe"
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
    feed_mm_min: float = 0.0  # GRBL's feed value: mm/min, or in G93 the last block's inverse time (1/min)
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


@dataclass
class _Block:
    """A checked block, everything converted to mm and machine coordinates, ready to execute."""
    words: Words
    motion: str
    mm: bool
    absolute: bool
    inverse_time: bool
    feed: float  # mm/min, or 1/min in G93
    s: float
    coord: int
    claim: str | None  # who uses the axis words, after gcode.c's adjustments
    target: list
    home: list | None = None
    offsets: tuple | None = None  # (coordinate system index or "g92", new offsets)
    arc_center: tuple | None = None


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
        """Validate and run one cleaned block (`$J=` stripped for a jog); raises GcodeError with GRBL's code."""
        words = read_words(split_words(block))
        b = self._check(words, jog)
        if jog:
            return self._jog(b)
        return self._execute(b)

    # ---- gcode.c step 3: error checks, in its order ------------------------------------------
    def _check(self, w: Words, jog: bool) -> _Block:
        st, groups, values = self.state, w.groups, w.values
        used = set("NF") if jog else set("NFST")
        motion = groups.get("motion", "G1" if jog else st.motion)
        nonmodal = groups.get("nonmodal")
        mm = groups.get("units", "G21" if st.mm else "G20") == "G21"
        scale = 1.0 if mm else MM_PER_INCH
        absolute = groups.get("distance", "G90" if st.absolute else "G91") == "G90"
        inverse_time = groups.get("feed_mode", "G94" if jog or not st.inverse_time else "G93") == "G93"
        axis = {i: values[a] * scale for i, a in enumerate("XYZ") if a in values}
        claim = w.axis_claim or ("motion" if axis else None)

        if "N" in values and math.trunc(values["N"]) > MAX_LINE_NUMBER:
            fail("invalid_line_number")
        feed = self._feed(values.get("F"), jog, inverse_time, claim, motion, scale)
        s = values.get("S", st.s)
        if nonmodal == "G4":
            if "P" not in values:
                fail("value_word_missing", "G4 needs P (seconds)")
            used.add("P")
        if claim == "tool_length" and groups.get("tool_length") == "G43.1" and set(axis) != {2}:
            fail("g43_dynamic_axis_error", "G43.1 takes exactly one Z word")
        coord = int(groups["coord"][1:]) - 54 if "coord" in groups else st.coord

        b = _Block(w, motion, mm, absolute, inverse_time, feed, s, coord, claim, list(st.position))
        if nonmodal == "G10":
            self._check_g10(b, axis, used)
        elif nonmodal == "G92":
            if not axis:
                fail("no_axis_words", "G92 needs axis words")
            offsets = list(st.g92)
            for i, v in axis.items():
                offsets[i] = st.position[i] - st.coord_offsets[coord][i] - v - (st.tool_length if i == 2 else 0.0)
            b.offsets = ("g92", offsets)
        else:
            if claim != "tool_length":
                for i, v in axis.items():
                    if nonmodal == "G53":
                        b.target[i] = v
                    elif absolute:
                        b.target[i] = v + st.coord_offsets[coord][i] + st.g92[i] + (st.tool_length if i == 2 else 0.0)
                    else:
                        b.target[i] = st.position[i] + v
            if nonmodal in ("G28", "G30"):
                home = list(st.home28 if nonmodal == "G28" else st.home30)
                if axis:  # only the named axes go home
                    home = [home[i] if i in axis else st.position[i] for i in range(3)]
                else:
                    b.claim = None
                b.home = home
            elif nonmodal == "G53" and motion not in ("G0", "G1"):
                fail("g53_invalid_motion_mode")

        if motion == "G80":
            if axis:
                fail("axis_words_exist", "axis words while G80 cancels motion")
        elif b.claim == "motion":
            self._check_motion(b, axis, used, scale)
        unused = set(values) - used - (set("XYZ") if b.claim else set())
        if unused:
            fail("unused_words", f"unused word(s) {''.join(sorted(unused))}")
        if jog and (set(groups) - JOG_GROUPS or nonmodal not in (None, "G53")):
            fail("invalid_jog_command")
        return b

    def _feed(self, f, jog: bool, inverse_time: bool, claim, motion: str, scale: float) -> float:
        if jog:
            if f is None:
                fail("undefined_feed_rate", "a jog needs F")
            return f * scale
        if inverse_time:
            if claim == "motion" and motion not in ("G0", "G80") and f is None:
                fail("undefined_feed_rate", "G93 needs F on every motion block")
            return f or 0.0
        if not self.state.inverse_time:
            return self.state.feed_mm_min if f is None else f * scale
        return f or 0.0  # G93 -> G94: no feed carried over, and gcode.c applies no inch conversion here

    def _check_g10(self, b: _Block, axis: dict, used: set):
        st, values = self.state, b.words.values
        if not axis:
            fail("no_axis_words", "G10 needs axis words")
        if "P" not in values and "L" not in values:
            fail("value_word_missing", "G10 needs L and P")
        p, l_word = math.trunc(values.get("P", 0)), math.trunc(values.get("L", 0))
        if p > N_COORDINATE_SYSTEMS:
            fail("unsupported_coord_sys", f"G10 P{p}: only P0..P{N_COORDINATE_SYSTEMS}")
        if l_word != 20 and (l_word != 2 or "R" in values):
            fail("unsupported_command", "G10 supports L2 (without R) and L20")
        used.update("PL")
        index = p - 1 if p > 0 else b.coord
        offsets = list(st.coord_offsets[index])
        for i, v in axis.items():
            offsets[i] = v if l_word == 2 else st.position[i] - st.g92[i] - v - (st.tool_length if i == 2 else 0.0)
        b.offsets = (index, offsets)

    def _check_motion(self, b: _Block, axis: dict, used: set, scale: float):
        motion, values, position = b.motion, b.words.values, self.state.position
        if motion == "G0":
            if not axis:
                b.claim = None
            return
        if b.feed == 0:
            fail("undefined_feed_rate", f"{motion} without a feed rate (F)")
        if motion == "G1":
            if not axis:
                b.claim = None
        elif motion in ("G2", "G3"):
            plane = b.words.groups.get("plane", self.state.plane)
            a0, a1, _ = PLANE_AXES[plane]
            if not axis:
                fail("no_axis_words", f"{motion} needs axis words")
            if a0 not in axis and a1 not in axis:
                fail("no_axis_words_in_plane")
            clockwise = motion == "G2"
            if "R" in values:
                used.add("R")
                if b.target == position:
                    fail("invalid_target", "an R arc ending where it starts")
                b.arc_center = center_from_radius(position, b.target, values["R"] * scale, clockwise, plane)
            else:
                offsets = {OFFSET_AXIS[k]: values[k] * scale for k in "IJK" if k in values}
                if a0 not in offsets and a1 not in offsets:
                    fail("no_offsets_in_plane")
                used.update("IJK")
                b.arc_center = center_from_offsets(position, b.target, offsets, plane)
        else:  # G38.x
            if not axis:
                fail("no_axis_words", f"{motion} needs axis words")
            if b.target == position:
                fail("invalid_target", f"{motion} to where the probe already is")

    # ---- gcode.c step 4: execution, in its order --------------------------------------------
    def _execute(self, b: _Block) -> list[Action]:
        st, groups, values = self.state, b.words.groups, b.words.values
        spindle = groups.get("spindle", st.spindle)
        is_motion = b.claim == "motion" and bool(b.words.values.keys() & set("XYZ"))
        self.synced = self._needs_sync(groups, b.motion, spindle, b.s, is_motion)
        actions: list[Action] = []
        st.line_number = math.trunc(values.get("N", 0))
        st.inverse_time = b.inverse_time
        st.feed_mm_min = b.feed
        st.tool = math.trunc(values.get("T", 0))  # gcode.c keeps T only for the block that names it
        if spindle != st.spindle:
            actions.append(Action("spindle", spindle=spindle, power_s=b.s, code=spindle))
        st.spindle, st.s = spindle, b.s
        if "coolant" in groups:
            st.coolant = groups["coolant"]
            actions.append(Action("coolant", code=st.coolant))
        if groups.get("nonmodal") == "G4":
            power = self.laser_power(b.motion, st.spindle, st.s) if st.spindle == "M3" else 0.0
            actions.append(Action("dwell", seconds=values["P"], power_s=power, spindle=st.spindle))
        st.plane = groups.get("plane", st.plane)
        st.mm, st.coord, st.absolute = b.mm, b.coord, b.absolute
        if b.claim == "tool_length":
            st.tool_length = 0.0 if groups["tool_length"] == "G49" else values["Z"] * (1.0 if b.mm else MM_PER_INCH)
        self._non_modal(b, groups.get("nonmodal"), actions)
        st.motion = b.motion
        if b.claim == "motion":
            if b.motion in ("G0", "G1"):
                actions.append(self._move(b.target, b.motion == "G0", b.feed, b.inverse_time))
            elif b.motion in ("G2", "G3"):
                points = chord_points(st.position, b.target, b.arc_center, b.motion == "G2", st.plane,
                                      self.arc_tolerance_mm)
                feed = b.feed * len(points) if b.inverse_time else b.feed  # per chord, as mc_arc scales it
                actions.extend(self._move(p, False, feed, b.inverse_time) for p in points)
            else:
                probe = self._move(b.target, False, b.feed, b.inverse_time)
                probe.kind, probe.code, probe.power_s = "probe", b.motion, 0.0
                actions.append(probe)
        stop = groups.get("stopping")
        if stop:
            actions.append(Action("stop", code=stop))
            if stop in ("M2", "M30"):  # program end resets these modes (not G92, F, S, T), as GRBL does
                st.motion, st.plane, st.absolute, st.inverse_time, st.coord = "G1", "G17", True, False, 0
                if st.spindle != "M5":
                    actions.append(Action("spindle", spindle="M5", code="M5"))
                st.spindle, st.coolant = "M5", "M9"
        return actions

    def _non_modal(self, b: _Block, nonmodal: str | None, actions: list):
        st = self.state
        if b.offsets is not None:
            where, offsets = b.offsets
            if where == "g92":
                st.g92 = offsets
            else:
                st.coord_offsets[where][:] = offsets
        elif nonmodal in ("G28", "G30"):
            if b.claim:
                actions.append(self._move(b.target, True, 0.0, False))
            actions.append(self._move(b.home, True, 0.0, False))
        elif nonmodal in ("G28.1", "G30.1"):
            setattr(st, "home28" if nonmodal == "G28.1" else "home30", list(st.position))
        elif nonmodal == "G92.1":
            st.g92 = [0.0, 0.0, 0.0]

    def _jog(self, b: _Block) -> list[Action]:
        """A valid `$J=` block: one G1 move, no modal state changed except the position.

        A jog without axis words goes to the machine origin: gcode.c leaves its target zeroed
        then (a GRBL 1.1 quirk, kept so the emulator moves where the firmware would)."""
        self.synced = False
        target = b.target if b.claim == "motion" else [0.0, 0.0, 0.0]
        return [self._move(target, False, b.feed, False)]

    def _needs_sync(self, groups: dict, motion: str, spindle: str, s: float, is_motion: bool) -> bool:
        st = self.state
        if spindle != st.spindle or "coolant" in groups or groups.get("nonmodal") == "G4":
            return True
        if groups.get("stopping") in ("M0", "M2", "M30") or (motion in PROBES and is_motion):
            return True
        if spindle == "M5":
            return False
        if s != st.s:  # a new S syncs, except on a laser-mode motion (it rides on the block)
            return not (is_motion and self.laser_mode)
        if is_motion:
            return False
        # M3 at rest: switching between a firing (G1/2/3) and a non-firing motion mode re-syncs the laser
        return self.laser_mode and spindle == "M3" and (motion in LASER_MOTIONS) != (st.motion in LASER_MOTIONS)

    def _move(self, target: list, rapid: bool, feed: float, inverse_time: bool) -> Action:
        st = self.state
        start = tuple(st.position)
        if rapid:
            feed_mm_min = 0.0
        elif inverse_time:  # G93: F blocks per minute -> the block's length times F
            feed_mm_min = feed * math.dist(start, target)
        else:
            feed_mm_min = feed
        motion = "G0" if rapid else "G1"
        action = Action("move", start=start, end=tuple(target), rapid=rapid, feed_mm_s=feed_mm_min / 60.0,
                        power_s=self.laser_power(motion, st.spindle, st.s), spindle=st.spindle)
        st.position = list(target)
        return action
