"""Tracker proofs, protocol parsing, Malus calibration, Elliptec client, CLI failure modes."""

import os
import threading

import numpy as np
import pytest
from click.testing import CliRunner

from drivers.beam.attenuator import MalusCalibration
from drivers.beam.elliptec import ElliptecMount, from_hex32, to_hex32
from drivers.grbl.protocol import Status, parse_line
from drivers.grbl.tracker import ExecutionTracker
from lasergen.backends.grbl.codes import alarm_text, error_text
from lasergen_cli import main


def test_ok_is_not_execution_but_sync_and_idle_are():
    t = ExecutionTracker()
    for seq in range(5):
        assert t.ack(seq, blocks=1, sync=False) == -1  # queued only
    assert t.ack(5, blocks=0, sync=True) == 5  # M5's ok: planner ran empty first
    t.ack(6, 1, False)
    assert t.status(Status("Run", planner_free=14)) == 5
    assert t.status(Status("Hold", substate=0)) == 5
    assert t.status(Status("Idle")) == 6


def test_planner_count_keeps_the_segment_lag():
    t = ExecutionTracker()
    for seq in range(20):
        t.ack(seq, 1, False)
    # 3 blocks still queued: 17 left the planner, but the last 5 of those may still be stepping;
    # a count proves lines only as far as the report before it did too
    assert t.status(Status("Run", planner_free=12)) == -1
    assert t.status(Status("Run", planner_free=12)) == 11
    assert t.status(Status("Run", planner_free=15)) == 11
    assert t.status(Status("Run", planner_free=15)) == 14


def test_one_corrupted_planner_count_proves_no_queued_line():
    """Bf:9 read where GRBL sent Bf:3 (one digit: the reports carry no checksum) would prove 6
    lines that are still in the planner; between two honest reports it proves nothing more."""
    t = ExecutionTracker()
    for seq in range(30):
        t.ack(seq, 1, False)
    t.status(Status("Run", planner_free=3))  # 12 queued + 5 stepping: through 12
    assert t.status(Status("Run", planner_free=3)) == 12
    assert t.status(Status("Run", planner_free=9)) == 12  # corrupted: alone, it proves nothing
    assert t.status(Status("Run", planner_free=3)) == 12
    assert t.status(Status("Run", planner_free=73)) == 12  # out of range: no count at all
    assert t.status(Status("Run", planner_free=-1)) == 12


def test_planner_count_is_read_against_the_controllers_own_planner():
    """grbl-Mega has 36 blocks (Bf:35 empty): its Bf:15 means 20 queued, where GRBL's 15-block
    planner would read it as empty and prove every acked line."""
    t = ExecutionTracker(planner_blocks=35)
    for seq in range(40):
        t.ack(seq, 1, False)
    t.status(Status("Run", planner_free=15))
    assert t.status(Status("Run", planner_free=15)) == 14  # 40 - 20 queued - 5 stepping, 0-based


@pytest.mark.parametrize("options,sizes", [("VL,15,128", (15, 128)), ("VL,35,256", (35, 256)), ("V,15,128", (15, 128)),
                                           (",15,128", (15, 128)), ("VNMSL,35,1024,3,0", (35, 1024)),
                                           ("VL", None), ("", None), ("VL,x,128", None), ("VL,0,128", None)])
def test_build_options_give_the_controllers_buffers(options, sizes):
    from drivers.grbl.client import GrblClient

    assert GrblClient.buffer_sizes(options) == sizes


def test_session_streams_with_the_controllers_buffers_and_says_so():
    from drivers.grbl.session import GrblSession
    from lasergen.machine import MachineProfile

    session = GrblSession("sim://", MachineProfile.load())
    assert session._use_buffer_sizes("VL,15,128") == []
    assert (session.streamer.window, session.streamer.planner_blocks) == (127, 15)
    warnings = session._use_buffer_sizes("VL,35,256")
    assert (session.streamer.window, session.streamer.planner_blocks) == (255, 35)
    assert len(warnings) == 1 and "35-block planner" in warnings[0] and "planner_blocks" in warnings[0]


@pytest.mark.parametrize("line,kind", [("ok", "ok"), ("error:9", "error"), ("ALARM:3", "alarm"),
                                       ("<Run|MPos:1.000,2.000,0.000|Bf:3,100|FS:600,200>", "status"),
                                       ("[MSG:Reset to continue]", "msg"), ("$30=1000", "setting"),
                                       ("Grbl 1.1h ['$' for help]", "banner"), ("okk", "unknown"),
                                       ("<Rnu|MPos:1>", "unknown")])
def test_parse_line(line, kind):
    assert parse_line(line).kind == kind


def test_status_fields_and_code_texts():
    st = parse_line("<Hold:1|MPos:1.000,2.000,0.000|Bf:3,100|FS:600,200>").status
    assert (st.state, st.substate, st.mpos, st.planner_free, st.rx_free, st.speed) == ("Hold", 1, (1, 2, 0), 3, 100, 200)
    assert "soft limit" in alarm_text(2) and "unsupported command" in error_text(20)


def test_malus_fit_recovers_parameters_and_inverts():
    truth = MalusCalibration(2.0, 380.0, 17.0)
    theta = np.linspace(0, 90, 19)
    noisy = truth.power(theta) + np.random.default_rng(1).normal(0, 0.5, theta.size)
    cal = MalusCalibration.fit(theta, noisy)
    assert cal.p_min == pytest.approx(2.0, abs=1.0) and cal.p_max == pytest.approx(380.0, abs=1.0)
    assert cal.theta0_deg == pytest.approx(17.0, abs=0.2)
    for p in (5.0, 100.0, 250.0, 379.0):
        assert float(cal.power(cal.angle_for(p))) == pytest.approx(p, rel=1e-9)


class FakeEll14:
    """In-process ELL14: pulses per revolution 143360, replies with CR LF."""

    def __init__(self):
        self.pulses, self.reply = 0, b""

    def write(self, data):
        cmd = data.decode()
        if cmd == "0in":
            self.reply = b"0IN0E1140051720231701016800023000\r\n"
        elif cmd.startswith("0ma"):
            self.pulses = from_hex32(cmd[3:])
            self.reply = f"0PO{to_hex32(self.pulses)}\r\n".encode()
        elif cmd == "0gp":
            self.reply = f"0PO{to_hex32(self.pulses)}\r\n".encode()
        else:
            self.reply = b"0GS03\r\n"

    def read_until(self, _):
        out, self.reply = self.reply, b""
        return out


def test_elliptec_client_moves_and_reports():
    mount = ElliptecMount(FakeEll14())
    assert mount.info()["pulses_per_rev"] == 143360
    assert mount.move_to_deg(22.5) == pytest.approx(22.5, abs=360 / 143360)
    assert mount.angle_deg() == pytest.approx(22.5, abs=360 / 143360)
    with pytest.raises(Exception, match="command error"):
        mount._ask("xx")


def _garbage_pty():
    master, slave = os.openpty()
    import tty
    tty.setraw(slave)

    def answer():
        while True:
            try:
                if os.read(master, 1024):
                    os.write(master, b"\x07garbage ##\r\n")
            except OSError:
                return

    threading.Thread(target=answer, daemon=True).start()
    return master, slave, os.ttyname(slave)


def test_stream_to_a_device_answering_garbage_is_one_line_and_exit_2(qr_job):
    master, slave, name = _garbage_pty()
    try:
        result = CliRunner().invoke(main, ["stream", str(qr_job), "--port", name])
    finally:
        os.close(master)
        os.close(slave)
    assert result.exit_code == 2
    assert result.stderr.count("\n") == 1 and "does not answer like GRBL" in result.stderr


def test_stream_cli_json_through_sim_saves_a_ledger(qr_job):
    import json

    result = CliRunner().invoke(main, ["stream", str(qr_job), "--port", "sim://", "--json"])
    assert result.exit_code == 0, result.stderr
    out = json.loads(result.stdout)
    assert out["status"] == "complete" and os.path.isfile(out["ledger"])


def test_tcp_server_is_loopback_only(qr_job, machine):
    from drivers.runner import JobRunner
    from hardware_sim.device import Device
    from hardware_sim.transport import TcpServer

    device = Device(machine)
    server = TcpServer(device)
    try:
        assert server.sock.getsockname()[0] == "127.0.0.1"
        JobRunner(qr_job, f"socket://127.0.0.1:{server.port}", machine).run()
        assert device.executed_toolpath().stats()["marks"] > 0
    finally:
        server.close()
        device.stop()
