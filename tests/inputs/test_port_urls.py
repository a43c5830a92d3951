"""sim:// URLs as users mistype them: a clock factor or baud rate that is no positive number.

`speed=0` with `clock=real` ended in a `_queue.Empty` traceback, a negative speed hung the
stream for ever, `speed=nan` started a stream that stopped with "controller stopped
answering", and `baud=0` or `baud=-5` were taken silently. Each is one line and exit 2 before
anything is sent.
"""

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.inputs.cli import one_line_error, run


def refused_before_streaming(res, *words):
    one_line_error(res, *words, absent=("streamed",))


def job(tmp_path):
    path = tmp_path / "q.gcode"
    if not path.exists():
        assert run("qr", "M", "-o", path).exit_code == 0
    return path


def stream(tmp_path, url):
    return run("stream", job(tmp_path), "--port", url, "--no-progress", "--journal", tmp_path / "q.journal",
               "--ledger", tmp_path / "q.npz")


def test_zero_or_negative_clock_factor_is_one_line(tmp_path):
    for url in ("sim://?clock=real&speed=0", "sim://?clock=real&speed=-1", "sim://?speed=nan"):
        refused_before_streaming(stream(tmp_path, url), "speed must be", "> 0")


def test_baud_that_is_no_positive_whole_number_is_one_line(tmp_path):
    for url in ("sim://?baud=abc", "sim://?baud=0", "sim://?baud=-5", "sim://?baud=9600.5"):
        refused_before_streaming(stream(tmp_path, url), "baud must be", "> 0")


def test_a_real_clock_and_baud_still_stream(tmp_path):
    res = stream(tmp_path, "sim://?clock=real&speed=50&baud=115200")
    assert res.exit_code == 0, res.output


def _positive_number(text: str, kind) -> bool:
    try:
        value = kind(text)
    except ValueError:
        return False
    return math.isfinite(value) and value > 0


NOT_POSITIVE = st.one_of(st.text(alphabet="0123456789.-+eEnaifx ", max_size=8),
                         st.floats(max_value=0).map(repr), st.sampled_from(["nan", "inf", "-inf", "1e999"]))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(key=st.sampled_from(["speed", "baud"]), value=NOT_POSITIVE)
def test_any_clock_or_baud_that_is_no_positive_number_is_refused(tmp_path, key, value):
    kind = float if key == "speed" else int
    if not value.strip() or _positive_number(value, kind):
        return
    from urllib.parse import quote
    refused_before_streaming(stream(tmp_path, f"sim://?clock=real&{key}={quote(value)}"), f"{key} must be")


@pytest.mark.parametrize("option", ["stall_after=-3", "drop_after=-1", "reset_after=-2", "power_after=-9",
                                    "corrupt_after=-1&corrupt=0.1", "error_on=-4:20", "alarm_on=-1", "alarm_at=-2:5"])
def test_a_fault_on_a_negative_line_is_refused(tmp_path, option):
    """Lines are counted from 1 on each connection: a fault "after line -3" named no line and
    the stream ran as if no fault had been asked for."""
    refused_before_streaming(stream(tmp_path, f"sim://?{option}"), "fault option", option.split("=")[0])


@pytest.mark.parametrize("speed", [0.0, -1.0, math.nan, math.inf])
def test_a_device_opened_from_python_refuses_a_clock_it_cannot_run(speed):
    """The same rule where every emulated device is made, not only in the sim:// URL: speed=0
    never woke the clock and a negative one ran it backwards."""
    from hardware_sim.device import open_device
    from lasergen.machine import MachineProfile

    with pytest.raises(ValueError, match="speed must be a finite clock factor > 0"):
        open_device(MachineProfile.load(), clock="real", speed=speed)
