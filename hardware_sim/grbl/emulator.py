"""A byte-level GRBL 1.1h emulator (laser mode), driven by explicit simulated time.

Protocol, after grbl/serial.c, protocol.c, system.c and report.c:
  - Bytes arrive into the build's RX ring (the profile's `rx_buffer_bytes`: 128, 127 usable);
    when it is full, bytes are dropped (a character-counting sender never lets that happen). Realtime bytes (`?` `!` `~` 0x18,
    0x85 jog cancel) are picked out on arrival and never stored or acknowledged.
  - Each `\\n` or `\\r` ends a line; the line loses whitespace and comments (lasergen's
    `clean_line`), longer than 79 characters is error:11, empty is `ok`. `$` lines are system
    commands, anything else goes through lasergen's GRBL-faithful interpreter.
  - Every line gets exactly one `ok` or `error:N`. Motion lines are answered once their blocks
    are in the planner queue (the profile's `planner_blocks`: 15 in GRBL's default build; `$I`
    reports both sizes), so `ok` comes only as fast as motion frees slots;
    lines that synchronise (spindle/laser changes, G4, M2/M30: `Interpreter.synced`) are
    answered only after the queue has run empty and, for G4, the dwell is over.
  - Alarms: power-up with homing enabled locks ("[MSG:'$H'|'$X' to unlock]", error:9 for
    G-code); a soft-limit target stops motion, resets and reports ALARM:2 and, like a hard
    limit (ALARM:1), waits for a soft reset ("[MSG:Reset to continue]", nothing answered);
    a reset while moving reports ALARM:3. `$X` unlocks, `$H` homes (origin at the switches).
  - Probing: no probe is wired, so G38.2 runs out its move and raises ALARM:5, G38.3 just
    reports where it ended, G38.4/G38.5 raise ALARM:4 at once (`_queue_probe`).
Time: `advance(t)` runs motion up to simulated time t one event at a time (a block ends, a
dwell ends), taking lines from the RX buffer into the planner after each, as GRBL's main loop
does between stepper events; so a thread that wakes late never lets the planner run dry in
simulated time. With `fast_forward` the emulator jumps its own clock whenever a line waits on
motion, and a `?` lets queued motion finish first, so a stream runs as fast as the link, with
GRBL's back-pressure kept in simulated time.
Faults (`hardware_sim.faults.FaultPlan`: drops, errors, alarms, stalls, resets, power loss,
corrupt replies) act through the `FaultInjection` mixin (`fault_injection.py`).
"""

from __future__ import annotations

import copy
from collections import deque

from hardware_sim.exposure_record import ExposureRecorder
from hardware_sim.faults import FaultPlan
from hardware_sim.grbl import settings as gs
from hardware_sim.grbl.fault_injection import FaultInjection
from hardware_sim.grbl.motion import Block, MotionExecutor
from hardware_sim.grbl.system import ANSWERED, ERR, SystemCommands
from lasergen.backends.grbl.gcode import GcodeError, Interpreter, clean_line
from lasergen.backends.grbl.gcode.words import LINE_BUFFER_SIZE
from lasergen.machine import MachineProfile

RESET, STATUS, HOLD, START, JOG_CANCEL = 0x18, ord("?"), ord("!"), ord("~"), 0x85
CRITICAL_ALARMS = {1, 2}
UNLOCK_MSG = "[MSG:'$H'|'$X' to unlock]"
AXES_SETTINGS = (130, 131, 132)


class GrblEmulator(FaultInjection, SystemCommands):
    def __init__(self, machine: MachineProfile, faults: FaultPlan | None = None, fast_forward: bool = True):
        self.machine = machine
        self.rx_buffer_bytes = machine.rx_buffer_bytes  # the build's serial RX ring (128 in GRBL's default)
        self.fast_forward = fast_forward
        self.faults = faults or FaultPlan()
        self.settings = gs.boot_settings(machine)
        self.recorder = ExposureRecorder(machine, s_max=lambda: self.settings[30])  # GRBL clamps S to $30
        self.motion = MotionExecutor(machine, self.recorder)
        self.out = bytearray()
        self.rx = bytearray()
        self.dropped_bytes = 0
        self.lines_taken = 0
        self.startup_lines = ["", ""]
        self.coord_offsets = [[0.0, 0.0, 0.0] for _ in range(6)]
        self.link_dropped = False
        self.user_info = ""  # `$I=` build-info user string, kept like EEPROM across resets
        self.fault_log: list[tuple[float, str]] = []
        self.motion.on_alarm = self._alarm
        self.pending_alarm: tuple[float, int] | None = None  # fault alarm_at, for the line being taken
        self.realtime = {RESET: self.soft_reset, STATUS: self._status_request, HOLD: self._feed_hold,
                         START: self._cycle_start, JOG_CANCEL: self.motion.cancel_jog}
        self._boot(power_up=True)

    # ------------------------------------------------------------------ lifecycle
    def _boot(self, power_up: bool):
        self.rx.clear()
        self.steps: deque = deque()
        self.reply = "ok"
        self.critical = self.stalled = False
        self.wco_counter = self.ovr_counter = 0
        self.program_flow = ""
        self.probe_mm = (0.0, 0.0, 0.0)  # GRBL clears its probe position on every reset
        interp = Interpreter(laser_mode=bool(self.settings[32]), arc_tolerance_mm=self.settings[12])
        interp.state.coord_offsets = self.coord_offsets
        interp.state.position = list(self.motion.position)
        self.interp = interp
        if power_up:
            self.state = "Alarm" if self.settings[22] else "Idle"
        elif self.state in ("Check", "Home", "Sleep"):
            self.state = "Idle"
        self._say(f"\r\n{gs.BANNER}" if not power_up else gs.BANNER)
        if self.state == "Alarm":
            self._say(UNLOCK_MSG)
        else:
            self._run_startup_lines()

    @property
    def now_s(self) -> float:
        """The emulator's clock (every family's emulator has one: devices and campaigns read it)."""
        return self.motion.now_s

    def soft_reset(self):
        self.fault_log.append((self.motion.now_s, "soft_reset"))
        if self.motion.abort():
            self.state = "Alarm"
            self._say("ALARM:3")
        self._boot(power_up=False)

    # ------------------------------------------------------------------ I/O
    def receive(self, data: bytes):
        """Bytes from the host: realtime ones act at once (after the lines before them)."""
        chunk = bytearray()
        for b in data:
            if b in self.realtime or b >= 0x80:
                if chunk:
                    self._store(chunk)
                    chunk = bytearray()
                    self.pump()
                if b in self.realtime and not (self.stalled and b != RESET):
                    self.realtime[b]()
            else:
                chunk.append(b)
        if chunk:
            self._store(chunk)
        self.pump()

    def _store(self, data: bytes):
        room = self.rx_buffer_bytes - 1 - len(self.rx)
        self.rx += data[:room]
        self.dropped_bytes += max(0, len(data) - room)

    def _say(self, text: str):
        if not self.stalled:
            self.out += text.encode() + b"\r\n"

    # ------------------------------------------------------------------ time
    def advance(self, t_s: float):
        """Run to simulated time t_s event by event, feeding the planner between events."""
        m = self.motion
        if self.stalled:
            m.now_s = max(m.now_s, t_s)
            return
        self.pump()
        while (t := m.next_event_s()) is not None and t <= t_s and not self.stalled:
            m.advance(t)
            self.pump()
        m.advance(t_s)
        self.pump()

    def next_event_s(self) -> float | None:
        return None if self.stalled else self.motion.next_event_s()

    def run_until_idle(self):
        """Let everything received so far finish (fast-forward, e.g. after the link dropped)."""
        while not self.stalled and not self.critical:
            self.pump()
            t = self.motion.next_event_s()
            if t is None:
                break
            self.motion.advance(t)

    def pump(self):
        """Take lines from the RX buffer and execute them as far as the queue allows."""
        while not (self.stalled or self.critical or self.state == "Sleep"):
            if self.steps:
                if self._continue_line():
                    continue
                t = self.motion.next_event_s()
                if self.fast_forward and t is not None:
                    self.motion.advance(t)
                    continue
                return
            line = self._take_line()
            if line is None:
                return
            self._dispatch(line)

    # ------------------------------------------------------------------ lines
    def _take_line(self) -> str | None:
        ends = [i for i in (self.rx.find(b"\n"), self.rx.find(b"\r")) if i >= 0]
        if not ends:
            return None
        i = min(ends)
        raw = self.rx[:i].decode("latin-1")
        del self.rx[:i + 1]
        return raw

    def _dispatch(self, raw: str):
        line = clean_line(raw)
        if not line:
            self._say("ok")
            return
        self.lines_taken += 1
        n = self.lines_taken
        if self._fault_before_line(n):
            return
        if len(line) >= LINE_BUFFER_SIZE:
            self._say(f"error:{ERR['overflow']}")
        elif line[0] == "$":
            self._finish(self._system(line))
        elif self.state == "Alarm" or self._jogging():
            self._say(f"error:{ERR['gc_lock']}")
        else:
            self._finish(self._gcode(line))
        self._fault_after_line(n)

    def _finish(self, code: int | None):
        """Answer now (code), or once the queued steps of the line have run (None)."""
        if code == ANSWERED:
            return
        if code is None:
            self.reply = "ok"
            self._continue_line()
        else:
            self._say("ok" if code == 0 else f"error:{code}")

    def _continue_line(self) -> bool:
        """Run the line's steps as far as possible; True when it finished (and was answered)."""
        m = self.motion
        while self.steps:
            step = self.steps[0]
            kind = step[0]
            if kind == "sync" and not m.idle:
                return False
            if kind == "block":
                if m.available <= 0:
                    return False
                m.push(step[1])
            elif kind == "rest":
                m.set_rest_power(step[1])
            elif kind == "enable":
                self.recorder.laser_enabled()
            elif kind == "timer":
                m.start_timer(step[1])
            elif kind == "call":
                step[1]()
            self.steps.popleft()
            if self.critical:
                return True
        self._say(self.reply)
        return True

    def _jogging(self) -> bool:
        m = self.motion
        return (m.current is not None and m.current.jog) or any(b.jog for b in m.queue)

    # ------------------------------------------------------------------ G-code
    def _gcode(self, line: str) -> int | None:
        interp = self.interp
        before = copy.copy(interp.state)
        before_spindle = interp.state.spindle
        try:
            actions = interp.execute(line)
        except GcodeError as exc:
            return exc.code
        moves = [a for a in actions if a.kind in ("move", "probe")]
        if self.settings[20] and any(not self._within(a.end) for a in moves):
            interp.state = before
            self._alarm(2)
            return ANSWERED
        if self.state == "Check":
            return 0
        st = interp.state
        if interp.synced:
            self.steps.append(("sync",))
            if before_spindle == "M5" and st.spindle != "M5":
                self.steps.append(("enable",))
            self.steps.append(("rest", self._rest_power()))
        for a in actions:
            if a.kind == "dwell":
                self.steps += [("timer", a.seconds), ("sync",)]
            elif a.kind == "move" and a.start != a.end:  # planner.c drops zero-length blocks
                rest = a.power_s if a.spindle == "M3" else 0.0
                dynamic = a.spindle == "M4" and interp.laser_mode  # stepper.c: is_pwm_rate_adjusted
                block = Block(a.start, a.end, a.rapid, a.feed_mm_s, a.power_s, rest, dynamic=dynamic)
                if self.pending_alarm is not None:
                    (block.alarm_after_mm, block.alarm_code), self.pending_alarm = self.pending_alarm, None
                self.steps.append(("block", block))
            elif a.kind == "stop":
                self.steps.append(("call", lambda code=a.code: self._program_stop(code)))
            elif a.kind == "probe":
                self._queue_probe(a)
        return None

    def _queue_probe(self, a):
        """G38.x on a machine with no probe wired (mc_probe_cycle): the planner empties first.
        Toward the work (G38.2/.3) the input never triggers, the move runs to its end, then
        G38.2 raises ALARM:5 (G38.3 does not); away (G38.4/.5) GRBL inverts the input, an open
        probe already reads 'triggered', and ALARM:4 comes before any motion. The line is
        still answered `ok`; G-code is locked until `$X` or a reset, as after any alarm."""
        self.steps.append(("sync",))
        if a.code in ("G38.4", "G38.5"):
            self.steps.append(("call", lambda: self._probe_done(a.start, alarm=4)))
            return
        self.steps += [("block", Block(a.start, a.end, False, a.feed_mm_s, 0.0, 0.0)), ("sync",),
                       ("call", lambda: self._probe_done(a.end, alarm=5 if a.code == "G38.2" else None))]

    def _probe_done(self, where, alarm: int | None):
        self.interp.state.position = list(where)
        if alarm is not None:
            self.state = "Alarm"
            self._say(f"ALARM:{alarm}")
        if alarm != 4:
            if alarm is None:  # the no-error probes record where the cycle ended
                self.probe_mm = tuple(where)
            self._say(f"[PRB:{gs.axes(self.probe_mm)}:0]")

    def _rest_power(self) -> float:
        st = self.interp.state
        return self.interp.laser_power(st.motion, st.spindle, st.s) if st.spindle == "M3" else 0.0

    def _program_stop(self, code: str):
        if code == "M0":
            self.motion.hold()
        elif code in ("M2", "M30"):
            self._say("[MSG:Pgm End]")

    def _within(self, target) -> bool:
        return all(-1e-6 <= target[i] <= self.settings[AXES_SETTINGS[i]] + 1e-6 for i in range(3))

    # ------------------------------------------------------------------ realtime & alarms
    def _alarm(self, code: int):
        self.fault_log.append((self.motion.now_s, f"alarm:{code}"))
        self.motion.abort()
        self.steps.clear()
        self.state = "Alarm"
        self._say(f"ALARM:{code}")
        if code in CRITICAL_ALARMS:
            self._say("[MSG:Reset to continue]")
            self.critical = True
        self.interp.state.position = list(self.motion.position)

    def _feed_hold(self):
        if self.state in ("Alarm", "Check", "Sleep"):
            return
        if self._jogging():
            self.motion.cancel_jog()
            return
        self.motion.hold()

    def _cycle_start(self):
        if self.motion.holding:
            self.motion.resume()
            self.pump()

    def _status_request(self):
        if self.critical:
            return  # GRBL answers nothing while it waits for a reset
        if self.fast_forward:
            self.run_until_idle()
        self._say(self.status_report())

    def report_state(self) -> str:
        if self.state != "Idle":
            return self.state
        if self.motion.holding:
            return "Hold:0"
        if self.motion.current is not None or self.motion.queue:
            return "Jog" if self._jogging() else "Run"
        return "Idle"

    def status_report(self) -> str:
        m = self.motion
        pos = m.position_at(m.now_s)
        st = self.interp.state
        mask = int(self.settings[10])
        wco = [st.work_offset(a) for a in range(3)]
        fields = [self.report_state(),
                  ("MPos:" if mask & 1 else "WPos:") + gs.axes(pos if mask & 1 else [p - o for p, o in zip(pos, wco)])]
        if mask & 2:
            fields.append(f"Bf:{m.available},{self.rx_buffer_bytes - len(self.rx)}")
        # the laser level now (GRBL's sys.spindle_speed): under M4 the current segment's S x speed / rate
        power = m.level_now() if m.current is not None and not m.holding else (0 if m.holding else m.rest_power_s)
        fields.append(f"FS:{m.speed_mm_s() * 60:.0f},{power:.0f}")
        busy = self.report_state() not in ("Idle", "Alarm", "Check", "Sleep")
        if self.wco_counter:
            self.wco_counter -= 1
        else:
            self.wco_counter = 29 if busy else 9
            self.ovr_counter = min(self.ovr_counter, 1)
            fields.append("WCO:" + gs.axes(wco))
        if self.ovr_counter:
            self.ovr_counter -= 1
        else:
            self.ovr_counter = 19 if busy else 9
            fields.append("Ov:100,100,100")
        return "<" + "|".join(fields) + ">"
