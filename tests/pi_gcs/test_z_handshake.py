"""The PI session's connect, byte for byte, for a job in depth and a flat job on the same
profile (which has a Z axis): a depth job's handshake checks, switches on, references and sets
up axis 3 beside 1 and 2; a flat job's never names axis 3 (referencing Z would move the focus
the operator set). No emulator in between: a scripted port (tests/protocol.py)."""

import pytest

from drivers.pi_gcs.session import PiGcsSession
from drivers.session import DeviceError
from lasergen import Job
from tests.drivers.test_resume_depth import stacked_dots_pattern
from tests.pi_gcs.helpers import PI, qr_pattern
from tests.protocol import ScriptedPort

IDN = b"(c)2024 Physik Instrumente (PI) GmbH & Co. KG, C-884.4DC, 0123456789, 01.02.03.04\n"
OPENING = [(b"*IDN?\n", IDN), (b"ERR?\n", b"0\n"), (b"TRO 1 0\nDIO 1 0\n", b""), (b"\x05", b"0\n")]


def session_for(tmp_path, pattern, pairs):
    job = tmp_path / "job.pi"
    job.write_text(Job.plan(pattern, PI).text)
    port = ScriptedPort(pairs)
    session = PiGcsSession("scripted://", PI, port=port)
    session.prepare(str(job))
    return session, port


def test_a_depth_job_switches_on_references_and_sets_up_the_z_axis(tmp_path):
    session, port = session_for(tmp_path, stacked_dots_pattern(), OPENING + [
        (b"SAI?\n", b"1 \n2 \n3\n"),
        (b"TMN? 1 2 3\n", b"1=0.000000 \n2=0.000000 \n3=0.000000\n"),
        (b"TMX? 1 2 3\n", b"1=50.000000 \n2=50.000000 \n3=10.000000\n"),
        (b"SVO? 1 2 3\n", b"1=1 \n2=1 \n3=0\n"),
        (b"SVO 1 1 2 1 3 1\nERR?\n", b"0\n"),
        (b"FRF? 1 2 3\n", b"1=1 \n2=1 \n3=0\n"),
        (b"FRF 1 2 3\nERR?\n", b"0\n"),
        (b"\x05", b"4\n"), (b"\x05", b"0\n"),  # Z runs to its reference switch
        (b"VEL 1 20 2 20 3 2\nERR?\n", b"0\n"),
        (b"ACC 1 500 2 500 3 50\nDEC 1 500 2 500 3 50\nERR?\n", b"0\n"),
    ])
    warnings = session.connect()
    assert port.done()
    assert any("servo switched on for axes 1 2 3" in w for w in warnings)
    assert any("axes 1 2 3 referenced" in w for w in warnings)


def test_a_flat_job_on_a_profile_with_z_never_names_the_z_axis(tmp_path):
    session, port = session_for(tmp_path, qr_pattern(), OPENING + [
        (b"SAI?\n", b"1 \n2\n"),  # a two-axis controller serves a flat job
        (b"TMN? 1 2\n", b"1=0.000000 \n2=0.000000\n"),
        (b"TMX? 1 2\n", b"1=50.000000 \n2=50.000000\n"),
        (b"SVO? 1 2\n", b"1=1 \n2=1\n"),
        (b"FRF? 1 2\n", b"1=1 \n2=1\n"),
        (b"VEL 1 20 2 20\nERR?\n", b"0\n"),
        (b"ACC 1 500 2 500\nDEC 1 500 2 500\nERR?\n", b"0\n"),
    ])
    assert session.connect() == [] and port.done()


@pytest.mark.parametrize("sai, tmx, says", [
    (b"1 \n2\n", None, "controller has no axis 3"),
    (b"1 \n2 \n3\n", b"1=50.000000 \n2=50.000000 \n3=5.000000\n", "axis 3 travels 0..5 mm, less than the profile's 0..10"),
])
def test_a_depth_job_refuses_a_controller_without_the_profiles_z_travel(tmp_path, sai, tmx, says):
    pairs = OPENING + [(b"SAI?\n", sai)]
    if tmx is not None:
        pairs += [(b"TMN? 1 2 3\n", b"1=0.000000 \n2=0.000000 \n3=0.000000\n"), (b"TMX? 1 2 3\n", tmx)]
    session, port = session_for(tmp_path, stacked_dots_pattern(), pairs)
    with pytest.raises(DeviceError, match=says):
        session.connect()
    assert port.done()  # refused before any servo, reference or motion command


def test_the_stop_path_reads_z_back_in_a_depth_job(tmp_path):
    session, port = session_for(tmp_path, stacked_dots_pattern(), [
        (b"\x18", b""),
        (b"TRO 1 0\nDIO 1 0\n", b""),
        (b"ERR?\n", b"10\n"),
        (b"DIO?\n", b"1=0 \n2=0 \n3=0 \n4=0\n"),
        (b"POS? 1 2 3\n", b"1=10.020000 \n2=10.000000 \n3=0.160000\n"),
    ])
    report = session.stop()
    assert report.beam_off and report.position_mm == (10.02, 10.0, 0.16) and port.done()
