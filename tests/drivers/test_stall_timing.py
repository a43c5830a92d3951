"""The stall budget's split into a poll period and a reply timeout (`drivers.grbl.streaming`)."""

import pytest

from drivers.grbl.streaming import stall_timing


def test_the_default_budget_is_one_status_interval_split_in_two():
    period_s, reply_s = stall_timing(0.2, 0.2)
    assert period_s == pytest.approx(0.1) and reply_s == pytest.approx(0.1)


@pytest.mark.parametrize("baud", [115200, 250000])
def test_on_a_fast_link_poll_and_timeout_add_up_to_the_budget(baud):
    period_s, reply_s = stall_timing(0.2, 0.5, baud)
    assert period_s + reply_s == pytest.approx(0.5)


@pytest.mark.parametrize("baud, report_s", [(9600, 100 * 10 / 9600), (2400, 100 * 10 / 2400)])
def test_on_a_slow_link_a_report_on_its_way_is_not_silence(baud, report_s):
    _, reply_s = stall_timing(0.2, 0.2, baud)
    assert reply_s >= 3 * report_s  # three full reports' time on the wire before calling a stall
