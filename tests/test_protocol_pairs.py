"""Exact command/reply byte pairs of the three clients: GRBL, PI GCS and the Elliptec mount."""

import pytest
import serial

from drivers.beam.elliptec import ElliptecMount
from drivers.grbl.client import DeviceError as GrblError
from drivers.grbl.client import GrblClient
from drivers.pi_gcs.client import GcsClient, GcsRefused, Garbled
from drivers.pi_gcs.session import PiGcsSession
from lasergen import LasergenError
from lasergen import MachineProfile
from tests.protocol import ScriptedPort

BANNER = b"\r\nGrbl 1.1h ['$' for help]\r\n"


def grbl(monkeypatch, pairs):
    port = ScriptedPort(pairs)
    monkeypatch.setattr(serial, "serial_for_url", lambda *a, **k: port)
    client = GrblClient("scripted://", MachineProfile.load()).open()
    return client, port


def test_grbl_reset_version_command_and_error(monkeypatch):
    client, port = grbl(monkeypatch, [
        (b"\x18", BANNER),
        (b"$I\n", b"[VER:1.1h.20190825:]\r\n[OPT:V,15,128]\r\nok\r\n"),
        (b"G0X1\n", b"ok\r\n"),
        (b"G5\n", b"error:20\r\n"),
        (b"?", b"<Idle|MPos:1.000,0.000,0.000|FS:0,0>\r\n"),
    ])
    try:
        client.reset()
        assert client.version == "1.1h"
        assert client.check_version().startswith("1.1h")
        client.command("G0X1")
        with pytest.raises(GrblError, match="refused"):
            client.command("G5")
        assert client.status().mpos == (1.0, 0.0, 0.0)
        assert port.done()
    finally:
        client.close()


def pi_client(pairs):
    port = ScriptedPort(pairs)
    return GcsClient("scripted://", port=port).open(), port


def test_pi_identify_query_check_and_single_bytes():
    client, port = pi_client([
        (b"*IDN?\n", b"(c)2024 Physik Instrumente (PI) GmbH & Co. KG, C-884.4DC, 0123456789, 01.02.03.04\n"),
        (b"MOV 1 5 2 3\nERR?\n", b"0\n"),
        (b"POS? 1 2\n", b"1=5.000000 \n2=3.000000\n"),
        (b"\x05", b"3\n"),
        (b"\x07", b"\xb1"),
        (b"VEL 1 99\nERR?\n", b"8\n"),
    ])
    assert "C-884" in client.query("*IDN?")
    client.check("MOV 1 5 2 3")
    assert client.query_axes("POS? 1 2") == {"1": "5.000000", "2": "3.000000"}
    assert client.single(b"\x05").strip() == "3"
    assert client.single(b"\x07") == "\xb1"
    with pytest.raises(GcsRefused, match="error 8: velocity") as err:
        client.check("VEL 1 99")
    assert err.value.code == 8 and port.done()


def test_pi_garbled_answer_is_refused():
    client, _ = pi_client([(b"ERR?\n", b"\x00\xff0\n")])
    with pytest.raises(Garbled):
        client.error()


def test_pi_stop_sends_stop_all_then_closes_the_gate_and_reads_back():
    machine = MachineProfile.load("pi-c884")
    port = ScriptedPort([
        (b"\x18", b""),
        (b"TRO 1 0\nDIO 1 0\n", b""),
        (b"ERR?\n", b"10\n"),
        (b"DIO?\n", b"1=0 \n2=0 \n3=0 \n4=0\n"),
        (b"POS? 1 2\n", b"1=10.500000 \n2=7.250000\n"),
    ])
    session = PiGcsSession("scripted://", machine, port=port, attenuator_port=False)
    report = session.stop()
    assert report.beam_off and report.position_mm == (10.5, 7.25) and port.done()


def test_elliptec_identify_move_position_and_status():
    port = ScriptedPort([
        (b"0in", b"0IN0E1140060920231701016800023000\r\n"),
        (b"0ma00008C00", b"0PO00008C00\r\n"),
        (b"0gp", b"0PO00004600\r\n"),
        (b"0ma00000000", b"0GS02\r\n"),
    ])
    mount = ElliptecMount(port)
    assert mount.info()["pulses_per_rev"] == 143360
    assert mount.move_to_deg(90.0) == pytest.approx(90.0)
    assert mount.angle_deg() == pytest.approx(45.0)
    with pytest.raises(LasergenError, match="mechanical timeout"):
        mount.move_to_deg(0.0)
    assert port.done()
