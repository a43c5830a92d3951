"""Streaming a GCS send plan: groups of commands, each proven before the next is sent.

A group is written in one write and closed by `ERR?`:
  - set commands (VEL, ACC, CTO, TRO <gate> 0, ...) accumulate and are proven by the ERR? of
    the next group boundary;
  - an arming `TRO <gate> 1` closes the group before it (so a refused setting stops the stream
    before any beam-on command is sent) and opens the group of its motion;
  - a disarming `TRO <gate> 0` / `DIO <gate> 0` is a group of its own, proven before anything
    after it is sent: GCS runs every command as it arrives, refused or not its neighbours, so
    a refused disarm sent with the gap's MOV would leave the trigger armed over the gap (the
    beam writes where no mark was planned);
  - a motion command (MOV, MAC START) closes its group; the stream then waits for the motion
    to end (`#5` or `#8`), checks `ONT?` and `POS?` against the target (a macro: `FRF?`, the
    axes still referenced, i.e. no restart swallowed it), and `ERR?` again: only then is the
    command reported executed;
  - `;@energy` turns the attenuator (gate closed: every group before it was proven);
  - a `MAC BEG .. MAC END` block goes as one group (inside it the controller records, so no
    `ERR?` may be sent), and is skipped when the controller already holds that macro (no
    flash write per job). Until its ERR? answers, the controller may still be recording (its
    MAC END refused or lost): the stop path and the next connect end the recording first.
Liveness: a C-884 answers ERR?, POS?, ONT? and the single-byte #5 (motion status) and #8
(macro running) within a few ms, whatever it runs; a hang (the firmware freezes, the trigger
line stays as it was, only #24 gets through) is seen only as silence. The stream never leaves
the controller unasked while its beam may be on: a group's ERR? follows its commands at once,
and a long motion or dot dwell is probed with #5 / #8 every POLL_S until it ends. So an
answer is given `answer_timeout_s(stall_budget_s)`, the session's stall budget (the status
interval, as on GRBL) less the probe spacing: a hang is called within the budget of its
start, and the stop path's #24 follows at once. Silence is counted in time this process was
running (`GcsClient.read_answer`). A macro's recording, which the controller may store in
flash, keeps the client's longer default (no beam then). Every wait is also bounded by the
row's modelled duration (twice) plus `stall_s`: a motion that never ends although the
controller answers. Silence is a stall, a failed port the link, bytes that are not GCS a protocol fault, a refusal an error (or a
reset / alarm, see `PiGcsSession.classify_halt`). Abort and pause are checked between
groups and while waiting for motion.
"""

from __future__ import annotations

import time

from drivers.pi_gcs.client import DEFAULT_TIMEOUT_S, Garbled, LinkLost, Silent
from drivers.session import DeviceError, DeviceStatus, StreamHalt
from lasergen import LasergenError
from lasergen.backends.pi_gcs.codes import error_text
from lasergen.backends.pi_gcs.commands import MACRO_RUNNING, MOTION_MASK, pairs, split_command

STALL_S = 3.0
POLL_S = 0.002
TOLERANCE_MM = 0.001


def answer_timeout_s(stall_budget_s: float) -> float:
    """How long an answer may take while streaming: the stall budget less the probe spacing."""
    return stall_budget_s - POLL_S


class Streamer:
    def __init__(self, session, plan, handler, stall_s: float = STALL_S):
        self.s, self.plan, self.handler = session, plan, handler
        self.client = session.client
        self.items = plan.payload
        self.stall_s = stall_s
        self.pending: list[int] = []
        self.arm = f"TRO {session.gate} 1"
        self.disarm = (f"TRO {session.gate} 0", f"DIO {session.gate} 0")

    def run(self):
        default_timeout_s = self.client.answer_timeout_s
        self.client.answer_timeout_s = answer_timeout_s(self.s.stall_budget_s)
        try:
            self._run()
        except LinkLost as exc:
            raise StreamHalt("link", str(exc)) from None
        except Silent as exc:
            if exc.heard:  # bytes that never became an answer (a mangled end): unreadable, not a hang
                raise StreamHalt("protocol", f"unreadable answer from the controller ({exc})") from None
            raise StreamHalt("stall", f"controller stopped responding ({exc})") from None
        except (Garbled, ValueError, KeyError) as exc:
            raise StreamHalt("protocol", f"unreadable answer from the controller ({exc})") from None
        except DeviceError as exc:
            raise StreamHalt("error", str(exc)) from None
        finally:
            self.client.answer_timeout_s = default_timeout_s

    def _run(self):
        k, n = 0, len(self.items)
        while k < n:
            self._control()
            text = self.items[k][0]
            mnemonic, _ = split_command(text)
            if mnemonic == "MAC BEG":
                k = self._macro_block(k)
                continue
            if text.startswith(";@energy "):
                self._flush()
                self._energy(k, float(text.split()[1]))
            elif text == self.arm:
                self._flush()
                self.pending.append(k)
            elif text in self.disarm:
                self._flush()
                self.pending.append(k)
                self._flush()
            elif mnemonic in ("MOV", "MAC START"):
                self.pending.append(k)
                self._flush(motion=True)
            else:
                self.pending.append(k)
            k += 1
        self._flush()

    # ---- groups ----
    def _flush(self, motion: bool = False):
        if not self.pending:
            return
        seqs, self.pending = self.pending, []
        last = seqs[-1]
        self.handler.written(last)
        self.client.send(*(self.items[q][0] for q in seqs))
        self._check(seqs[0], "ERR? after " + self.items[last][0])
        self.handler.acked(last)
        if motion:
            self._wait_motion(last)
            self._check(last, "ERR? after the motion of " + self.items[last][0])
        self.handler.executed(last)

    def _check(self, seq: int, what: str):
        code = self.client.error()
        if code:
            kind = self.s.classify_halt(code)
            refused = seq if kind == "error" and self._refusal_proven(seq) else None
            raise StreamHalt(kind, f"{self.items[seq][0]!r}: {error_text(code)}", seq=refused, code=code)

    def _refusal_proven(self, seq: int) -> bool:
        """Whether a code in ERR?'s answer proves the beam-on command at `seq` was refused.
        ERR? names no command, and GCS has no checksum: the code after `TRO <gate> 1` + its MOV
        may be the MOV's, or a corrupted "0". A refused beam-on books its mark as never
        started, to be written again, so only proof may do that: an arming is refused when
        the trigger reads disarmed (an armed one, or no readable answer, leaves the mark to
        the position: done, cut or uncertain); a dot's macro leaves nothing to ask once its
        dwell is over, so its refusal is never proven (the dot is listed, never written twice).
        Any other command's refusal is its own (nothing of the beam hangs on it)."""
        text = self.items[seq][0]
        if text == self.arm:
            try:
                return self.client.query_axes(f"TRO? {self.s.gate}").get(str(self.s.gate)) == "0"
            except DeviceError:
                return False
        return split_command(text)[0] != "MAC START"

    def _wait_motion(self, seq: int):
        text, duration = self.items[seq]
        mnemonic, args = split_command(text)
        deadline = time.monotonic() + 2.0 * duration + self.stall_s
        probe, busy = (MOTION_MASK, lambda a: a not in ("0", "")) if mnemonic == "MOV" else \
            (MACRO_RUNNING, lambda a: a == "1")
        while busy(self.client.single(probe).strip()):
            self._control(moving=True)
            if time.monotonic() > deadline:
                raise StreamHalt("stall", f"{text!r} still running after {deadline - time.monotonic() + 2 * duration + self.stall_s:.1f} s")
            time.sleep(POLL_S)
        if mnemonic != "MOV":
            # a macro proves nothing by position: a power cycle that swallowed MAC START leaves
            # #8 = 0 and ERR? = 0 too, but the axes' references lost
            refs = self.client.query_axes("FRF? " + " ".join(self.s.position_axes))
            if not all(v == "1" for v in refs.values()):
                raise StreamHalt("reset", f"{text!r}: the axes lost their reference (the controller restarted)")
            return
        axes = " ".join(self.s.position_axes)  # X, Y, and Z in a job in depth
        while not all(v == "1" for v in self.client.query_axes(f"ONT? {axes}").values()):
            if time.monotonic() > deadline:
                raise StreamHalt("stall", f"{text!r}: axes not on target within the expected time")
            time.sleep(POLL_S)
        position = self.s._position()
        target = {a: float(v) for a, v in pairs(args)}
        if any(abs(position[i] - target[a]) > TOLERANCE_MM for i, a in enumerate(self.s.position_axes) if a in target):
            kind = self.s.classify_halt(5)
            raise StreamHalt("reset" if kind == "reset" else "alarm",
                             f"{text!r}: the stage stands at {position}, not at the target")
        self.handler.status(DeviceStatus("idle", position))

    def _macro_block(self, k: int) -> int:
        end = k
        while end < len(self.items) and split_command(self.items[end][0])[0] != "MAC END":
            end += 1
        self._flush()
        seqs = list(range(k, min(end, len(self.items) - 1) + 1))
        if self.s.macro_defined():
            self.handler.written(seqs[-1])
            self.handler.acked(seqs[-1])
            self.handler.executed(seqs[-1])
        else:
            self.pending = seqs
            self.s.recording_macro = True
            short_s, self.client.answer_timeout_s = self.client.answer_timeout_s, DEFAULT_TIMEOUT_S
            try:
                self._flush()
            finally:
                self.client.answer_timeout_s = short_s
            self.s.recording_macro = False
        return seqs[-1] + 1

    def _energy(self, seq: int, energy_uJ: float):
        if self.s.attenuator is None:
            raise StreamHalt("error", f"the job sets {energy_uJ:g} uJ but no attenuator is connected", seq=seq)
        self.handler.written(seq)
        try:
            self.s.attenuator.set_energy_uJ(energy_uJ)
        except LasergenError as exc:
            raise StreamHalt("error", f"attenuator: {exc}", seq=seq) from None
        self.handler.acked(seq)
        self.handler.executed(seq)

    # ---- control from other threads ----
    def _control(self, moving: bool = False):
        if self.s._abort:
            raise StreamHalt(self.s._abort, "aborted by the operator" if self.s._abort == "abort" else "interrupted")
        while self.s._paused.is_set() and not moving:
            time.sleep(0.02)
            if self.s._abort:
                raise StreamHalt(self.s._abort, "aborted by the operator")
