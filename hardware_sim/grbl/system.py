"""GRBL 1.1's `$` system commands (system.c), as a mixin of the emulator.

`$$` settings, `$#` parameters, `$G` parser modes, `$I` build info (`$I=text` stores its user
string), `$N` startup lines, `$C`
check mode, `$X` unlock, `$H` homing, `$J=` jogging, `$SLP`, `$RST=`, `$n=v`. The state rules are
system.c's: `$$` is refused while moving (error:8), `$C` needs Idle, `$#` `$H` `$I` `$N` `$n=v`
need Idle or Alarm, `$J=` needs Idle or Jog; a number that does not parse is error:2, a line
that is not a command error:3. Handlers return 0 / an error code to answer at once, None when
the line queued steps (answered when they have run), or ANSWERED when they replied themselves.
"""

from __future__ import annotations

import copy
import re

from hardware_sim.grbl import settings as gs
from hardware_sim.grbl.motion import Block
from lasergen.backends.grbl.codes import keyed
from lasergen.backends.grbl.gcode import GcodeError

ANSWERED = -1  # the handler has answered the line itself
NUMBER = re.compile(r"[-+]?(?:\d+\.?\d*|\.\d+)")
ERR = {short: keyed("error")[key] for short, key in {
    "bad_number": "bad_number_format", "invalid_statement": "invalid_statement", "setting_disabled": "setting_disabled",
    "idle_error": "idle_error", "gc_lock": "system_gc_lock", "overflow": "overflow",
    "travel_exceeded": "travel_exceeded"}.items()}  # codes from the project's GRBL code table


class SystemCommands:
    def _system(self, line: str) -> int | None:
        key = line[1:2]
        busy = self.motion.holding or not self.motion.idle
        if key == "J":
            return self._jog(line)
        if line in ("$$", "$G", "$C", "$X"):
            return SYSTEM_IMMEDIATE[line](self, busy)
        if key == "":
            self._say(gs.HELP)
            return 0
        if self.state not in ("Idle", "Alarm") or busy:
            return ERR["idle_error"]
        handler = SYSTEM_IDLE.get(key) or SYSTEM_IDLE.get(line)
        return handler(self, line) if handler else self._store_setting(line)

    def _settings_report(self, busy):
        if busy:
            return ERR["idle_error"]
        for text in gs.settings_report(self.settings):
            self._say(text)
        return 0

    def _modes_report(self, busy):
        self._say(gs.modes_report(self.interp.state, self.program_flow))
        return 0

    def _check_mode(self, busy):
        if self.state == "Check":
            self._say("[MSG:Disabled]")
            self._say("ok")
            self.soft_reset()
            return ANSWERED
        if self.state != "Idle" or busy:
            return ERR["idle_error"]
        self.state = "Check"
        self._say("[MSG:Enabled]")
        return 0

    def _unlock(self, busy):
        if self.state == "Alarm":
            self._say("[MSG:Caution: Unlocked]")
            self.state = "Idle"
        return 0

    def _home(self, line: str) -> int | None:
        if not self.settings[22]:
            return ERR["setting_disabled"]
        if line != "$H":
            return ERR["invalid_statement"]
        x, y, z = self.motion.position
        seek_mm_s = self.settings[25] / 60.0
        self.state = "Home"
        self.steps += [("timer", max(abs(x), abs(y), abs(z)) / seek_mm_s), ("sync",), ("call", self._homed)]
        return None

    def _homed(self):
        self.motion.set_position((0.0, 0.0, 0.0))
        self.interp.state.position = [0.0, 0.0, 0.0]
        self.state = "Idle"

    def _jog(self, line: str) -> int | None:
        if self.state != "Idle" or (self.motion.holding or (not self.motion.idle and not self._jogging())):
            return ERR["idle_error"]
        if line[2:3] != "=":
            return ERR["invalid_statement"]
        interp = self.interp
        saved = copy.deepcopy(interp.state)
        try:
            actions = interp.execute(line[3:], jog=True)
        except GcodeError as exc:
            interp.state = saved
            return exc.code
        target = interp.state.position
        interp.state = saved
        if self.settings[20] and not self._within(target):
            return ERR["travel_exceeded"]
        interp.state.position = list(target)
        for a in actions:
            if a.kind == "move":
                self.steps.append(("block", Block(a.start, a.end, False, a.feed_mm_s, 0.0, 0.0, jog=True)))
        return None

    def _parameters(self, line: str) -> int:
        if line != "$#":
            return ERR["invalid_statement"]
        for text in gs.parameters_report(self.interp.state, self.probe_mm):
            self._say(text)
        return 0

    def _build_info(self, line: str) -> int:
        if line.startswith("$I="):  # store the user string (EEPROM), at most 80 - 1 - 3 chars
            self.user_info = line[3:]
            return 0
        if line != "$I":
            return ERR["invalid_statement"]
        for text in gs.build_info_report(self.user_info, self.motion.planner_blocks, self.rx_buffer_bytes):
            self._say(text)
        return 0

    def _startup_lines(self, line: str) -> int:
        if line == "$N":
            for i, text in enumerate(self.startup_lines):
                self._say(f"$N{i}={text}")
            return 0
        index, eq, text = line[2:].partition("=")
        if not eq or index not in ("0", "1"):
            return ERR["invalid_statement"]
        if self.state != "Idle":
            return ERR["idle_error"]
        try:
            copy.deepcopy(self.interp).execute(text)
        except GcodeError as exc:
            return exc.code
        self.startup_lines[int(index)] = text
        return 0

    def _run_startup_lines(self):
        for text in self.startup_lines:
            if text:
                try:
                    self.interp.execute(text)
                    self._say(f">{text}:ok")
                except GcodeError as exc:
                    self._say(f">{text}:error:{exc.code}")

    def _sleep(self, line: str) -> int:
        if line != "$SLP":
            return ERR["invalid_statement"]
        self.motion.abort()
        self.state = "Sleep"
        self._say("[MSG:Sleeping]")
        return 0

    def _restore(self, line: str) -> int:
        what = {"$RST=$": "settings", "$RST=#": "parameters", "$RST=*": "all"}.get(line)
        if what is None:
            return ERR["invalid_statement"]
        if what in ("settings", "all"):
            self.settings = gs.boot_settings(self.machine)
        if what in ("parameters", "all"):
            for offsets in self.coord_offsets:
                offsets[:] = [0.0, 0.0, 0.0]
        self._say("[MSG:Restoring defaults]")
        self._say("ok")
        self.soft_reset()
        return ANSWERED

    def _store_setting(self, line: str) -> int:
        number = NUMBER.match(line, 1)
        if not number:
            return ERR["bad_number"]
        if line[number.end():number.end() + 1] != "=":
            return ERR["invalid_statement"]
        value = NUMBER.match(line, number.end() + 1)
        if not value:
            return ERR["bad_number"]
        n, v = float(number.group()), float(value.group())
        if value.end() != len(line) or n > 255:
            return ERR["invalid_statement"]
        code = gs.store_setting(self.settings, n, v)
        if code == 0:
            self.interp.laser_mode = bool(self.settings[32])
            self.interp.arc_tolerance_mm = self.settings[12]
        return code


SYSTEM_IMMEDIATE = {"$$": SystemCommands._settings_report, "$G": SystemCommands._modes_report,
                    "$C": SystemCommands._check_mode, "$X": SystemCommands._unlock}
SYSTEM_IDLE = {"#": SystemCommands._parameters, "H": SystemCommands._home, "I": SystemCommands._build_info,
               "N": SystemCommands._startup_lines, "S": SystemCommands._sleep, "R": SystemCommands._restore}
