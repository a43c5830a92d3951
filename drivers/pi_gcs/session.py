"""The PI GCS 2.0 session (C-884 class): connect and identify, check the controller against the
profile, stream a job one motion at a time with proofs, stop with the beam off.

Axes. Connect checks, switches on (SVO) and references (FRF) the job's axes: X and Y, and the
focus stage Z when the prepared job moves Z (a job in depth), with its travel (TMN?/TMX?)
against the profile's [travel] z_mm and its own VEL/ACC/DEC. Only then, not whenever the
profile has a Z axis: referencing Z drives the focus to its reference switch, and a flat job
writes wherever the operator focused by hand, so a flat job's handshake never names Z (the
same bytes as on a two-axis controller). A depth job's every MOV names Z, so a resume (after a
power loss the axes are referenced anew, Z at its switch) restores the plane with its first move.

Flow control and proofs. GCS has no queue and answers no set command, so the session sends
each row's commands, then `ERR?`: 0 proves they were accepted and, for set commands, that
they took effect (GCS executes a command when it arrives). A motion command (MOV, the dot
macro) is then waited for: `#5` (motion mask) until nothing moves, or `#8` until the macro
ended, then `ONT?` and `POS?` at the target, then `ERR?` 0: that is proof it ran. Only then
the next row is sent, so at most one motion is ever in the controller's hands.
Safety: the arming `TRO <gate> 1` is sent only after the settings before it were proven
accepted (a refused VEL can never leave a beam-on move at the wrong speed), together with its
MOV; the beam follows the motion (trigger "in motion"), so when the host vanishes the move
ends and the beam with it; a dot's dwell is timed by the controller's macro, which closes the
gate itself. `stop` sends #24 (stop all, at once), then closes the gate (`TRO/DIO <gate> 0`),
and reads the position back (X, Y, and Z when the job moves Z: resume fits it to its plane).
Attenuator: `;@energy <uJ>` rows turn the rig's half-wave plate (`drivers.beam.attenuator`) with
the gate closed; the angle read back is the proof. Its port is the profile's
[beam.attenuator] port, or, beside a `sim://` stage, the same simulated rig's `port=attenuator`.
Pause waits at the next row boundary (the C-884 has no feed hold that keeps a move resumable).
"""

from __future__ import annotations

import threading
import time
import urllib.parse

from drivers.beam.attenuator import Attenuator
from drivers.beam.elliptec import ElliptecMount
from drivers.pi_gcs.client import Garbled, GcsClient, GcsRefused, LinkLost, Silent
from drivers.pi_gcs.job_table import build_table
from drivers.session import (
    DeviceError,
    DeviceIdentity,
    DeviceStatus,
    JobTable,
    STATUS_INTERVAL_S,
    SendPlan,
    Session,
    StopReport,
)
from lasergen.backends.pi_gcs.codes import MOTION_ERROR, STOPPED, error_text
from lasergen.backends.pi_gcs.commands import DOT_MACRO, DOT_MACRO_LINES, MACRO_RUNNING, MOTION_MASK, STOP_ALL, split_command
from lasergen.backends.pi_gcs.emit import axes_of
from lasergen.malus import MalusCalibration

POSITION_TOLERANCE_MM = 0.001
POLL_S = 0.005
REFERENCE_TIMEOUT_S = 120.0
STOP_READS = 3  # tries at reading back the gate and position after a stop


def attenuator_url(stage_url: str, machine) -> str | None:
    if machine.energy_mode != "attenuator":
        return None
    port = machine.attenuator_settings.get("port")
    if port:
        return port
    if stage_url.startswith("sim:"):
        parts = urllib.parse.urlsplit(stage_url)
        query = [(k, v) for k, v in urllib.parse.parse_qsl(parts.query) if k not in ("port",)]
        return "sim://?" + urllib.parse.urlencode(query + [("port", "attenuator")])
    raise DeviceError(f"machine {machine.name!r} sets energy with an attenuator but names no [beam.attenuator] port")


class PiGcsSession(Session):
    family = "pi_gcs"

    def __init__(self, url: str, machine, read_timeout_s: float = 0.02, port=None, attenuator_port=None):
        super().__init__(url, machine)
        self.client = GcsClient(url, machine.baud, read_timeout_s, port=port)
        self.gate = machine.gate_line
        self.axes = list(machine.axes)
        # The job's axes: X, Y, and Z once a job that moves Z is prepared. Connect switches on,
        # references and checks these; streaming waits for them on target; POS? reads them.
        # A flat job never touches the Z axis (not even FRF: that would move the focus the
        # operator set by hand, and a flat job's focus is wherever Z stands).
        self.position_axes = self.axes
        self._attenuator_port = attenuator_port
        self.attenuator: Attenuator | None = None
        self._abort: str | None = None
        self._paused = threading.Event()
        self._hurry = False
        self.recording_macro = False  # a MAC BEG .. MAC END block sent and not yet proven
        self.stall_budget_s = STATUS_INTERVAL_S  # a hang is called within this (`streaming`)

    # ---- connection ----
    def open(self) -> None:
        self.client.open()
        url = None if self._attenuator_port is not None else attenuator_url(self.url, self.machine)
        port = self._attenuator_port
        if port is None and url is not None:
            import serial

            try:
                port = serial.serial_for_url(url, baudrate=9600, timeout=2.0)
            except (serial.SerialException, ValueError, OSError) as exc:
                raise DeviceError(f"cannot open the attenuator at {url}: {exc}") from None
        if port is not None:
            self.attenuator = Attenuator(ElliptecMount(port, self.machine.attenuator_settings.get("address", "0")),
                                         MalusCalibration.from_profile(self.machine))

    def close(self) -> None:
        self.client.close()
        if self.attenuator is not None:
            try:
                self.attenuator.mount.port.close()
            except Exception:  # noqa: BLE001 - close never raises
                pass

    def observe(self, settle_s: float) -> DeviceStatus | None:
        try:
            self._wait_still(settle_s)
            if not all(v == "1" for v in self.client.query_axes("FRF? " + " ".join(self.position_axes)).values()):
                return DeviceStatus("alarm", None, "axes not referenced (power-up)")
            return self.status()
        except DeviceError:
            return None

    def connect(self) -> list[str]:
        c = self.client
        c.drain(0.05)
        try:
            idn = c.query("*IDN?").strip()
        except Silent:
            # A controller left recording a macro (a session lost between MAC BEG and MAC END)
            # stores every line, *IDN? too, and answers none: end the recording, ask again.
            c.send("MAC END")
            c.drain(0.05)
            idn = None
        except DeviceError as exc:
            raise DeviceError(f"{self.url} does not answer *IDN? like a PI GCS controller ({exc})") from None
        if idn is None:
            try:
                idn = c.query("*IDN?").strip()
            except DeviceError as exc:
                raise DeviceError(f"{self.url} does not answer *IDN? like a PI GCS controller ({exc})") from None
        model, serial_number = self.machine.idn_model, self.machine.serial_number
        fields = [f.strip() for f in idn.split(",")]
        if model not in idn:
            raise DeviceError(f"{self.url} is {idn[:60]!r}, not the {model} the profile names")
        found_serial = fields[2] if len(fields) > 2 else ""
        if serial_number and serial_number != found_serial:
            raise DeviceError(f"controller serial number {found_serial!r} is not the profile's {serial_number!r}")
        self.identity = DeviceIdentity("pi_gcs", idn, found_serial)
        c.error()  # clear a code left from before
        self._gate_closed()
        if c.single(MOTION_MASK).strip() not in ("0", ""):
            c.write(STOP_ALL)
            c.error()
        return self._check_and_prepare()

    def _check_and_prepare(self) -> list[str]:
        """The job's axes (X, Y, and Z for a job in depth) exist, travel at least the profile's
        range, are switched on and referenced; then the profile's VEL, ACC and DEC on them."""
        c, m, job_axes = self.client, self.machine, self.position_axes
        axes = " ".join(job_axes)
        warnings = []
        listed = c.query("SAI?").split()
        missing = [a for a in job_axes if a not in listed]
        if missing:
            raise DeviceError(f"controller has no axis {', '.join(missing)} (it has {', '.join(listed)})")
        low, high = c.query_numbers(f"TMN? {axes}", job_axes), c.query_numbers(f"TMX? {axes}", job_axes)
        travel = (m.x_range_mm, m.y_range_mm, m.z_range_mm)
        for axis, (lo, hi) in zip(job_axes, travel):
            if low[axis] > lo + 1e-6 or high[axis] < hi - 1e-6:
                raise DeviceError(f"axis {axis} travels {low[axis]:g}..{high[axis]:g} mm, "
                                  f"less than the profile's {lo:g}..{hi:g}")
        if not all(v == "1" for v in c.query_axes(f"SVO? {axes}").values()):
            c.check(f"SVO {' '.join(f'{a} 1' for a in job_axes)}")
            warnings.append(f"servo switched on for axes {axes}")
        if not all(v == "1" for v in c.query_axes(f"FRF? {axes}").values()):
            c.check(f"FRF {axes}")
            self._wait_still(REFERENCE_TIMEOUT_S)
            warnings.append(f"axes {axes} referenced (FRF): the stage moved to its reference switches")
        _, vmax, acc = axes_of(m, with_z=len(job_axes) > 2)
        per_axis = lambda values: " ".join(f"{a} {v:g}" for a, v in zip(job_axes, values))  # noqa: E731
        try:
            c.check(f"VEL {per_axis(vmax)}")
        except GcsRefused:
            raise DeviceError(f"the controller refuses the profile's max velocity {max(vmax):g} mm/s") from None
        c.check(f"ACC {per_axis(acc)}", f"DEC {per_axis(acc)}")
        if self.attenuator is not None:
            self.attenuator.mount.info()
        return warnings

    def set_machine_id(self, machine_id: str) -> None:
        if self.identity is not None and machine_id == self.identity.machine_id:
            return
        raise DeviceError("a PI controller's id is its serial number (*IDN?); it stores no other")

    # ---- jobs ----
    def prepare(self, job_path: str) -> JobTable:
        table = build_table(job_path, self.machine)
        self.position_axes = self.axes + ([self.machine.z_axis] if table.end_z_mm is not None else [])
        return table

    def stream(self, plan: SendPlan, handler) -> None:
        from drivers.pi_gcs.streaming import Streamer

        Streamer(self, plan, handler).run()

    # ---- control ----
    def _gate_closed(self):
        self.client.send(f"TRO {self.gate} 0", f"DIO {self.gate} 0")

    def _wait_still(self, timeout_s: float):
        deadline = time.monotonic() + timeout_s
        while self.client.single(MOTION_MASK).strip() not in ("0", ""):
            if time.monotonic() > deadline:
                raise Silent(f"axes still moving after {timeout_s:g} s")
            time.sleep(POLL_S)

    def stop(self) -> StopReport:
        c = self.client
        beam_off, position, detail = False, None, ""
        try:
            c.write(STOP_ALL)  # every motion and macro stops at once: the trigger line falls
            if self.recording_macro:  # its MAC END unproven: the controller may still be storing lines
                c.send("MAC END")
            self._gate_closed()
        except DeviceError as exc:
            return StopReport(None, False, f"link lost ({exc}): the controller ends the move or dot it runs, "
                                           "and the gate closes with it")
        for _ in range(STOP_READS):  # a mangled answer (the link lives) is asked again
            try:
                c.drain(0.02)
                c.error()
                level = c.query_axes("DIO?").get(str(self.gate))
                beam_off = level == "0"
                position = self._position()
                return StopReport(position, beam_off, "" if beam_off else f"stop sent, but the gate line reads {level!r}")
            except DeviceError as exc:
                detail = str(exc)
                if not (isinstance(exc, Garbled) or getattr(exc, "heard", False)):
                    break
        return StopReport(position, beam_off, f"stop and gate close sent, not read back: {detail}")

    def reset(self) -> None:
        self.client.write(STOP_ALL)
        self._gate_closed()
        try:
            self.client.error()
        except DeviceError:
            pass

    def _position(self) -> tuple:
        pos = self.client.query_numbers("POS? " + " ".join(self.position_axes), self.position_axes)
        return tuple(pos[a] for a in self.position_axes)

    def status(self, timeout_s: float = 1.0) -> DeviceStatus:
        mask = self.client.single(MOTION_MASK, timeout_s).strip()
        return DeviceStatus("idle" if mask in ("0", "") else "run", self._position(), f"#5={mask}")

    def pause(self) -> None:
        self._paused.set()

    def resume_motion(self) -> None:
        self._paused.clear()

    def abort(self, kind: str = "abort") -> None:
        self._abort = kind

    def hurry(self) -> None:
        self._hurry = True

    # ---- used by the streamer ----
    def classify_halt(self, code: int) -> str:
        """Why a row was refused: a stop nobody sent is a reset; a motion error an alarm; a
        refused move on axes that lost their reference a power cycle."""
        if code == STOPPED:
            return "reset"
        if code == MOTION_ERROR:
            return "alarm"
        if code == 5:
            try:
                refs = self.client.query_axes("FRF? " + " ".join(self.position_axes))
                servo = self.client.query_axes("SVO? " + " ".join(self.position_axes))
            except DeviceError:
                return "error"
            if not all(v == "1" for v in refs.values()):
                return "reset"
            if not all(v == "1" for v in servo.values()):
                return "alarm"
        return "error"

    def macro_defined(self) -> bool:
        """True when the controller already holds lasergen's dot macro as the job defines it."""
        names = [n.strip().upper() for n in self.client.query("MAC?").split()]
        if DOT_MACRO not in names:
            return False
        text = self.client.query(f"MAC? {DOT_MACRO}")
        return [line.strip() for line in text.splitlines() if line.strip()] == list(DOT_MACRO_LINES)


__all__ = ["PiGcsSession", "attenuator_url", "Garbled", "LinkLost", "MACRO_RUNNING", "error_text", "split_command"]
