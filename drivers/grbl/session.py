"""The GRBL 1.1 session: `drivers.session.Session` for a GRBL controller in laser mode.

Connect: soft reset, banner, `$I` (version 1.1; build date and options; the `$I=` user
string is the machine id, stored once by `set_machine_id` when empty), `$$` against the
machine profile (`client.check_settings`), unlock or home if locked.
Observe (before any reset, for a resume): wait until the controller no longer runs, then
`$G` and `?`. GRBL re-initialises its parser at every reset and power-up (F0, S0), so a
parser still holding a feed rate proves the controller was not reset since the last session
wrote to it; only then is the reported position evidence.
Stop: feed hold first (laser mode gates the beam off in a hold), then the position once the
hold is complete (Hold:0 or Idle), then a soft reset (queue and beam cleared). A position is
evidence only when two consecutive status reports of the machine at rest agree: GRBL's reports
carry no checksum, and a single corrupted digit can still read as a valid position (a stop
booked at 10.273 mm where the machine stood at 10.203 mm took an unwritten mark for a cut one
and a cut one for done), while two reads corrupted alike are not a single fault. A stall gets
hold and reset together at once: a hung controller answers nothing, and waiting keeps the
beam as it was. After an alarm GRBL answers nothing until a reset, and then reports the
position its step counter holds: the evidence of which lines ran, even where the alarm's
text warns that steps may have been lost mechanically. A reset nobody asked for (ALARM:3, a
banner) leaves the position unknown: a soft reset and a power-up look alike from here.
"""

from __future__ import annotations

import secrets
import time

from drivers.grbl import plan as grbl_plan
from drivers.grbl.client import HOLD, RESET, GrblClient
from drivers.grbl.job_table import job_table
from drivers.grbl.streaming import Streamer
from drivers.session import DeviceError, DeviceIdentity, DeviceStatus, Session, StopReport, StreamHalt
from lasergen import LasergenError

HOLD_WAIT_S = 5.0
BANNER_WAIT_S = 3.0
POSITION_LOST_ALARMS = {3}  # reset while in motion: somebody reset the controller (soft or power?)
STATES = {"Idle": "idle", "Run": "run", "Jog": "run", "Home": "run", "Hold": "hold", "Alarm": "alarm",
          "Door": "hold", "Check": "other", "Sleep": "other"}
REPORT_RESOLUTION_MM = 0.001  # `?` reports 3 decimals


class GrblSession(Session):
    family = "grbl"

    def __init__(self, url: str, machine, poll_s: float = 0.2, stall_budget_s: float | None = None):
        super().__init__(url, machine)
        self.client = GrblClient(url, machine)
        self.streamer = Streamer(self.client, window_bytes=machine.rx_buffer_bytes - 1, poll_s=poll_s,
                                 stall_budget_s=stall_budget_s, planner_blocks=machine.planner_blocks)
        self.table = None
        self.last_halt: StreamHalt | None = None
        self._hurry = False

    # ---- connection ----
    def open(self):
        self.client.open()

    def close(self):
        self.client.close()

    def observe(self, settle_s: float) -> DeviceStatus | None:
        client = self.client
        client.drain(0.2)
        try:
            st = client.status(timeout_s=1.0)
            deadline = time.monotonic() + settle_s
            while st.state in ("Run", "Jog") and time.monotonic() < deadline:
                time.sleep(0.2)
                st = client.status(timeout_s=1.0)
            if st.state not in ("Idle", "Hold"):
                return DeviceStatus(STATES.get(st.state, "other"), None, st.state)
            agreed = client.status(timeout_s=1.0).mpos == st.mpos  # evidence only if two reads agree
            modes = next((m.groups[1] for m in client.command("$G", timeout_s=2.0) if m.kind == "feedback"), "")
        except DeviceError:
            return None
        feed = next((w for w in modes.split() if w.startswith("F")), "F0")
        untouched = float(feed[1:] or 0) > 0  # reset/power-up zero the parser's feed rate
        return DeviceStatus(STATES[st.state], st.mpos if untouched and agreed else None, f"{st.state}; parser {modes}")

    def connect(self) -> list[str]:
        warnings = self.client.connect()
        version, options, user = self.client.info
        if not user:  # GRBL upper-cases what it stores, so the id is upper case already
            self.set_machine_id(f"LG-{secrets.token_hex(4).upper()}")
            version, options, user = self.client.build_info()
            warnings.append(f"stored machine id {user} on the controller ($I=), so journals know this device")
        self.identity = DeviceIdentity("grbl", f"{version} [{options}]", user)
        warnings += self._use_buffer_sizes(options)
        return warnings

    def _use_buffer_sizes(self, options: str) -> list[str]:
        """Stream with the controller's own buffers (`$I`): the window its RX buffer allows (a
        smaller one than the profile's would overflow it and GRBL would drop bytes) and the
        planner size that `Bf:` counts are read against (a bigger one than the profile's read
        as 15 would prove queued lines executed)."""
        sizes = self.client.buffer_sizes(options)
        if sizes is None:
            return []
        blocks, rx = sizes
        self.streamer.window, self.streamer.planner_blocks = rx - 1, blocks
        if (blocks, rx) == (self.machine.planner_blocks, self.machine.rx_buffer_bytes):
            return []
        return [f"controller reports a {blocks}-block planner and a {rx}-byte receive buffer ($I); the profile "
                f"says {self.machine.planner_blocks} and {self.machine.rx_buffer_bytes}: streaming uses the "
                f"controller's; set planner_blocks and rx_buffer_bytes in the profile so time estimates match"]

    def set_machine_id(self, machine_id: str):
        if not machine_id or len(machine_id) > 70 or not machine_id.isprintable():
            raise DeviceError(f"machine id must be 1..70 printable characters, got {machine_id!r}")
        self.client.command(f"$I={machine_id}")

    # ---- jobs ----
    def prepare(self, job_path: str):
        self.table = job_table(job_path, self.machine, planner=grbl_plan.plan)
        self.table.position_tol_mm = REPORT_RESOLUTION_MM * 0.6
        return self.table

    def stream(self, plan, handler):
        self.last_halt = None
        try:
            self.streamer.run(self.table, plan, grbl_plan.units(self.table, plan), handler)
        except StreamHalt as halt:
            self.last_halt = halt
            raise
        except DeviceError as exc:
            self.last_halt = StreamHalt("link", str(exc))
            raise self.last_halt from None
        except LasergenError as exc:  # the lazily read job ended in a piece that is not the dialect
            self.last_halt = StreamHalt("job", str(exc))
            raise self.last_halt from None

    def seq_text(self, plan, seq: int) -> str:
        return grbl_plan.seq_text(self.table, plan, seq)

    # ---- control ----
    def stop(self) -> StopReport:
        halt = self.last_halt
        kind = halt.kind if halt is not None else "abort"
        client = self.client
        if kind == "link":
            return StopReport(None, False, "link lost: the controller runs what it holds, beam off at its end")
        try:
            if kind == "stall":
                client.write(HOLD + RESET)  # at once: nothing to wait for from a hung controller
                self._after_reset()
                return StopReport(self._status_position(), True, "stalled: hold and reset sent together")
            position = None
            if kind not in ("alarm", "reset"):
                client.feed_hold()
                position = self._held_position()
            client.soft_reset_now()
            self._after_reset()
            if kind == "alarm" and halt.code not in POSITION_LOST_ALARMS:
                position = self._status_position()
            return StopReport(position, True, "feed hold, soft reset")
        except DeviceError as exc:
            try:
                client.write(RESET)
            except DeviceError:
                pass
            return StopReport(None, False, f"the controller did not answer the stop ({exc})")

    def _held_position(self):
        deadline = time.monotonic() + (0.5 if self._hurry else HOLD_WAIT_S)
        previous = None
        while time.monotonic() < deadline:
            try:
                st = self.client.status(timeout_s=0.5)
            except DeviceError:
                previous = None
                continue
            if st.state in ("Idle", "Alarm") or (st.state == "Hold" and st.substate == 0):
                if previous is not None and st.mpos == previous:
                    return st.mpos
                previous = st.mpos
            else:
                previous = None
        return None

    def _after_reset(self):
        try:
            self.client.wait_for(("banner",), 0.5 if self._hurry else BANNER_WAIT_S, "banner after the soft reset")
        except DeviceError:
            pass  # a garbled banner: what follows tells whether the reset happened
        try:
            self.client.drain(0.1)
        except DeviceError:
            pass

    def _status_position(self):
        previous = None
        for _ in range(4):
            try:
                where = self.client.status(timeout_s=1.0).mpos
            except DeviceError:
                previous = None
                continue
            if previous is not None and where == previous:
                return where
            previous = where
        return None

    def reset(self):
        self.client.soft_reset_now()
        self._after_reset()

    def status(self, timeout_s: float = 1.0) -> DeviceStatus:
        st = self.client.status(timeout_s)
        return DeviceStatus(STATES.get(st.state, "other"), st.mpos, st.state)

    def pause(self):
        self.client.post("pause")

    def resume_motion(self):
        self.client.post("resume")

    def abort(self, kind: str = "abort"):
        self.client.post(kind)

    def hurry(self):
        self._hurry = True
