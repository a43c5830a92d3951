"""A byte-level PI C-884 emulator (GCS 2.0), driven by explicit simulated time.

Protocol (PI's GCS manuals of the C-863/C-884 class; syntax in `lasergen.backends.pi_gcs.commands`):
  - A line ends in LF; set commands are never answered, queries answer per axis `<id>=<value>`
    (" \\n" between lines, "\\n" after the last). Single bytes #5 #7 #8 #24 act on arrival.
  - A refused command is silent: its error code is kept until `ERR?` reads it (then 0). Only
    the last code is kept. Codes: `lasergen.backends.pi_gcs.codes`.
  - Axes: the profile's X and Y ([pi_gcs] axes), and its focus stage as a third axis when the
    profile has a Z travel ([travel] z_mm, axis [pi_gcs] z_axis, its own z_max_rate_mm_s and
    z_accel_mm_s2); every per-axis command, query and fault treats Z as it treats X and Y.
  - Power-up: servo off and axes unreferenced; a MOV then is error 5. `SVO` switches the servo,
    `FRF` references (a move to the reference switch at the travel's low end, which becomes 0).
  - MOV checks the travel (TMN?/TMX?: error 7) and starts every named axis at once on its own
    trapezoid (`trajectory`); a MOV while moving re-targets from where the axes are. VEL above
    the profile's maximum is error 8. ONT? turns 1 once the move ended and settled (settle_ms).
  - STP, HLT and #24 stop all motion and macros at once (error 10). RBT reboots (power-up).
  - Digital outputs 1..4: DIO sets a line; CTO/TRO give it a trigger condition instead. The
    modes the C-863/C-884 class documents: 0 position distance, 2 on target, 5 motion error,
    6 in motion, 7 position + offset; lasergen uses 6, so modes 0 and 7 are refused (error 17)
    rather than emulated wrongly. A line's level drives the rig's gate (`hardware_sim.beam`).
  - Macros: MAC BEG/END record, MAC START <name> [args] runs ($1.. replaced), MAC DEL, MAC?;
    inside a macro DIO, DEL <ms>, MOV, VEL, TRO run; #8 tells whether one runs.
Faults (`hardware_sim.faults`, the same `sim://` options as the GRBL emulator; lines count per
connection): error_on=K:C refuses line K with code C (a query is answered and the next command
refused, as a refusal is what GCS can report); alarm_on=K is a motion error on line K (servo
off on every axis, code -1024); stall_after=N hangs the firmware after line N until #24;
alarm_at=K:D is the same motion error once line K's motion has run D um (a
move cut at a known point, e.g. halfway through the Z move between two planes; a line K that
moves nothing, a query or a setting, arms it on the move running then or else on the next
move this connection starts); drop_after=N drops the link; corrupt=P mangles what the controller sends; reset_after=N acts
as #24 arrived (stop all: code 10 that nobody asked for), power_after=N reboots (servo off,
references lost). `fault_log` keeps (simulated time, what) of each fault and reset, as the GRBL
emulator's does (the fault campaign reads it).
What the beam did goes to the ExposureRecorder from the gate's optical intervals (`beam_record`).
Time: with `fast_forward`, any query first lets running motion and macros finish, so a host
polling for on-target sees it at once and a stream runs as fast as the link.
"""

from __future__ import annotations

from hardware_sim.exposure_record import ExposureRecorder
from hardware_sim.faults import FaultPlan
from hardware_sim.pi_gcs import commands as cmd
from hardware_sim.pi_gcs.beam_record import BeamRecorder
from hardware_sim.pi_gcs.trajectory import AxisProfile, Move
from lasergen.backends.pi_gcs.codes import MOTION_ERROR, STOPPED
from lasergen.backends.pi_gcs.commands import SINGLE_BYTE, split_command

MAX_LINE = 1024
OUTPUT_LINES = (1, 2, 3, 4)
IDN = "(c)2024 Physik Instrumente (PI) GmbH & Co. KG, C-884.4DC, 0123456789, 01.02.03.04"


class PiGcsEmulator(cmd.Commands):
    USES_RIG = True

    def __init__(self, machine, faults: FaultPlan | None = None, fast_forward: bool = True, rig=None):
        self.machine = machine
        self.fast_forward = fast_forward
        self.faults = faults or FaultPlan()
        has_z = machine.z_range_mm is not None
        self.axes = list(machine.axes) + ([machine.z_axis] if has_z else [])
        self.index = {a: i for i, a in enumerate(self.axes)}
        self.travel_mm = [machine.x_range_mm, machine.y_range_mm] + ([machine.z_range_mm] if has_z else [])
        self.max_vel_mm_s = list(machine.max_rate_mm_s) + ([machine.z_max_rate_mm_s] if has_z else [])
        self.accel_mm_s2 = list(machine.accel_mm_s2) + ([machine.z_accel_mm_s2] if has_z else [])
        self.recorder = ExposureRecorder(machine)
        self.beam = BeamRecorder(machine, self.recorder, rig, len(self.axes))
        self.beam.current = lambda: (self.move, self.now_s) if self.move is not None else None
        self.idn = IDN
        self.now_s = 0.0
        self.out = bytearray()
        self.rx = bytearray()
        self.lines_taken = 0
        self.link_dropped = False
        self.refuse_next: int | None = None
        self.macros: dict[str, list[str]] = {}
        self.position = [0.0] * len(self.axes)
        self.fault_log: list[tuple[float, str]] = []
        self.motion_error_at_s: float | None = None  # alarm_at: when the armed motion error strikes
        self.alarm_pending: tuple | None = None  # alarm_at taken, no move yet: (fault plan, distance mm)
        self.power_up()

    # ------------------------------------------------------------------ lifecycle
    def power_up(self):
        """Servo off, unreferenced, outputs low, nothing running (power-up or RBT)."""
        self._cut_motion()
        self.alarm_pending = None
        self.servo = [False] * len(self.axes)
        self.referenced = [False] * len(self.axes)
        self.vel = list(self.max_vel_mm_s)
        self.acc = list(self.accel_mm_s2)
        self.dec = list(self.accel_mm_s2)
        self.target = list(self.position)
        self.error = 0
        self.dio = {line: False for line in OUTPUT_LINES}
        self.tro = {line: False for line in OUTPUT_LINES}
        self.cto = {line: {2: self.axes[0], 3: 0} for line in OUTPUT_LINES}
        self.recording: tuple[str, list[str]] | None = None
        self.macro: list[str] = []  # lines still to run
        self.macro_timer_s: float | None = None
        self.stalled = False
        self.on_target_at_s = self.now_s
        self._gate()

    def soft_reset(self):
        """#24: stop everything (the byte GRBL uses for its soft reset); un-hangs a stalled firmware."""
        self.fault_log.append((self.now_s, "soft_reset"))
        self.stalled = False
        self.stop_all()

    # ------------------------------------------------------------------ I/O
    def receive(self, data: bytes):
        for b in data:
            if b in SINGLE_BYTE:
                if not self.stalled or b == 0x18:
                    self.single_byte(SINGLE_BYTE[b])
                continue
            self.rx.append(b)
            if b == 0x0A:
                raw = self.rx[:-1].decode("latin-1").strip()
                self.rx.clear()
                if raw and not self.stalled:
                    self._take(raw)
            elif len(self.rx) > MAX_LINE:
                self.rx.clear()
                self.error = 3

    def take_output(self) -> bytes:
        data, self.out = bytes(self.out), bytearray()
        sent = self.faults.mangle(data, self.lines_taken)
        if sent != data and not any(kind == "corrupt" for _, kind in self.fault_log[-1:]):
            self.fault_log.append((self.now_s, "corrupt"))
        return sent

    def say(self, items: list[str] | str):
        if not self.stalled:
            self.out += cmd.answer(items)

    def _take(self, raw: str):
        self.lines_taken += 1
        n = self.lines_taken
        query = split_command(raw)[0].endswith("?")
        if self.faults.drops_at(n):
            if not self.link_dropped:
                self.fault_log.append((self.now_s, "drop"))
            self.link_dropped = True
        if getattr(self.faults, "powers_at", lambda n: False)(n):
            self.fault_log.append((self.now_s, "power_cycle"))
            self.power_up()
            if not query:
                return
        if getattr(self.faults, "resets_at", lambda n: False)(n):
            self.soft_reset()
            if not query:
                return
        if self.faults.alarm_for(n) is not None:
            self.fault_log.append((self.now_s, f"alarm:{MOTION_ERROR}"))
            self.motion_error()
            if not query:
                return
        if (code := self.faults.error_for(n)) is not None:
            self.fault_log.append((self.now_s, f"error:{code}"))
            self.refuse_next = code  # a query is answered; the next command is refused
        if self.refuse_next is not None and not query:
            self.error, self.refuse_next = self.refuse_next, None
            return
        if self.fast_forward and query:
            self.run_until_idle()
        self.execute(raw, from_host=True)
        if (during := self.faults.alarm_during(n)) is not None:
            self.alarm_pending = (self.faults, during[0])
        faults, distance_mm = self.alarm_pending or (None, 0.0)
        if faults is self.faults and self.move is not None:  # this connection's fault, a move to cut
            self.motion_error_at_s, self.alarm_pending = self.move.time_at_distance(distance_mm), None
        if self.faults.stalls_at(n):
            self.fault_log.append((self.now_s, "stall"))
            self.stalled = True

    def execute(self, raw: str, from_host: bool):
        mnemonic, args = split_command(raw)
        if self.recording is not None and from_host:
            if mnemonic == "MAC END":
                self.macros[self.recording[0]] = self.recording[1]
                self.recording = None
            else:
                self.recording[1].append(raw)
            return
        handler = cmd.HANDLERS.get(mnemonic)
        if handler is None:
            self.error = 81 if not from_host else 2
            return
        try:
            handler(self, args, from_host)
        except (ValueError, IndexError, KeyError):
            self.error = 1
        self._gate()

    # ------------------------------------------------------------------ time
    def next_event_s(self) -> float | None:
        if self.stalled:
            return None
        times = [t for t in (self.macro_timer_s, self._move_end(), self.beam.pending_until_s(), self.motion_error_at_s)
                 if t is not None]
        if self.macro and self.macro_timer_s is None:
            times.append(self.now_s)
        return min(times) if times else None

    def _move_end(self) -> float | None:
        return self.move.t_end_s if self.move is not None else None

    def advance(self, t_s: float):
        """Run motion, macro steps and the gate up to simulated time t_s."""
        while not self.stalled:
            t = self.next_event_s()
            if t is None or t > t_s:
                break
            self.now_s = max(self.now_s, t)
            self._step()
        self.now_s = max(self.now_s, t_s)
        self.beam.flush(self.now_s)

    def _step(self):
        if self.motion_error_at_s is not None and self.motion_error_at_s <= self.now_s:
            self.motion_error_at_s = None
            self.fault_log.append((self.now_s, f"alarm:{MOTION_ERROR}"))
            self.motion_error()
        elif self.move is not None and self.move.t_end_s <= self.now_s:
            self._finish_move()
        elif self.macro_timer_s is not None and self.macro_timer_s <= self.now_s:
            self.macro_timer_s = None
        elif self.macro and self.macro_timer_s is None:
            self.execute(self.macro.pop(0), from_host=False)
        self.beam.flush(self.now_s)

    def run_until_idle(self):
        """Let running motion, macros and the gate finish (fast-forward)."""
        for _ in range(1_000_000):
            t = self.next_event_s()
            if t is None:
                break
            self.now_s = max(self.now_s, t)
            self._step()
        self.now_s = max(self.now_s, self.on_target_at_s)
        self.beam.flush(self.now_s)

    # ------------------------------------------------------------------ motion
    def start_move(self, targets: dict[int, float]):
        here = self.positions_now()
        self._cut_motion()
        profiles = {i: AxisProfile(here[i], p, self.vel[i], self.acc[i], self.dec[i])
                    for i, p in targets.items() if p != here[i]}
        for i, p in targets.items():
            self.target[i] = p
        self.move = Move(profiles, self.now_s) if profiles else None
        self.on_target_at_s = (self.move.t_end_s if self.move else self.now_s) + self.machine.settle_ms / 1000.0
        self._gate()

    def _finish_move(self):
        move = self.move
        t = move.t_end_s
        self.position = [move.position(i, t, self.position[i]) for i in range(len(self.axes))]
        self.beam.moved(move, t)
        self.move = None
        self._gate()

    def _cut_motion(self):
        """Stop where the axes are now (a stop, a motion error, a re-target)."""
        move = getattr(self, "move", None)
        self.motion_error_at_s = None  # an armed alarm_at belongs to the motion cut here
        if move is not None:
            self.position = self.positions_now()
            self.beam.moved(move, self.now_s)
            self.target = list(self.position)
        self.move = None
        self.on_target_at_s = self.now_s

    def positions_now(self) -> list[float]:
        if self.move is None:
            return list(self.position)
        return [self.move.position(i, self.now_s, self.position[i]) for i in range(len(self.axes))]

    def moving(self, index: int) -> bool:
        return self.move is not None and self.move.moving(index, self.now_s)

    def on_target(self, index: int) -> bool:
        return self.move is None and self.now_s >= self.on_target_at_s

    def stop_all(self):
        self._cut_motion()
        self.macro, self.macro_timer_s = [], None
        self.error = STOPPED
        self._gate()

    def motion_error(self):
        """A following error: motion stops, every servo switches off (the C-884's 'alarm')."""
        self._cut_motion()
        self.macro, self.macro_timer_s = [], None
        self.servo = [False] * len(self.axes)
        self.error = MOTION_ERROR
        self._gate()

    # ------------------------------------------------------------------ gate
    def line_level(self, line: int) -> bool:
        if self.tro[line]:
            mode, axis = self.cto[line][3], self.cto[line][2]
            i = self.index.get(axis)
            if mode == 6:
                return i is not None and self.moving(i)
            if mode == 2:
                return i is not None and self.on_target(i)
            return False
        return self.dio[line]

    def _gate(self):
        if hasattr(self, "dio"):
            self.beam.set_line(self.now_s, self.line_level(self.machine.gate_line))
PiEmulator = PiGcsEmulator  # the name the back-end registry uses
