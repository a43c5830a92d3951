"""A C-884 whose travel-limit answer arrives corrupted (a fault campaign finding: PI run 91,
seed 13, `TMN?` answered '0.000%00'): the connect refuses the controller with one line, as
any unreadable answer, never a ValueError traceback, and nothing is sent."""

import pytest

import drivers.pi_gcs.client as client
from drivers.pi_gcs.session import PiGcsSession
from drivers.session import DeviceError
from tests.pi_gcs.helpers import PI


@pytest.mark.parametrize("answer", ["1=0.000%00\n2=0.000\n", "1=0.000\n", "garbage\n"])
def test_a_corrupted_travel_limit_is_an_unreadable_answer(rig, monkeypatch, answer):
    real_query = client.GcsClient.query

    def query(self, command, timeout_s=None):
        text = real_query(self, command, timeout_s)
        return answer if command.startswith("TMN?") else text

    monkeypatch.setattr(client.GcsClient, "query", query)
    session = PiGcsSession(f"sim://?machine=pi-c884&device={rig}", PI)
    session.open()
    try:
        with pytest.raises(DeviceError, match="answered TMN\\? with"):
            session.connect()
    finally:
        session.close()
