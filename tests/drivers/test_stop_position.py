"""A stop's position is evidence of which lines ran (drivers.resume), and GRBL's status reports
carry no checksum: a corrupted digit can still read as a valid position. The GRBL session takes
a position only when two consecutive reports of the machine at rest agree (found by the fault
campaign: a stop read at X10.273 where the machine stood at X10.203 booked a cut mark done and
an unwritten one cut)."""

import itertools

from drivers.grbl.protocol import Status
from drivers.grbl.session import GrblSession


class Reports:
    def __init__(self, positions, state="Hold", substate=0):
        self.reports = [Status(state=state, substate=substate, mpos=p) for p in positions]

    def status(self, timeout_s=1.0):  # the last report repeats
        return self.reports.pop(0) if len(self.reports) > 1 else self.reports[0]


def _session(positions, **kw):
    session = GrblSession.__new__(GrblSession)
    session.client, session._hurry = Reports(positions, **kw), True
    return session


def test_a_corrupted_first_report_is_not_taken_as_the_stop_position():
    good = (10.203, 10.25, 0.0)
    assert _session([(10.273, 10.25, 0.0), good, good])._held_position() == good
    assert _session([(10.273, 10.25, 0.0), good, good], state="Idle", substate=None)._status_position() == good


def test_reports_that_never_agree_leave_the_position_unknown():
    positions = itertools.cycle([(10.0 + k / 1000, 10.25, 0.0) for k in range(40)])  # no two alike in a row
    held = _session([])
    held.client.status = lambda timeout_s=1.0: Status("Hold", 0, mpos=next(positions))
    assert held._held_position() is None
    idle = _session([])
    idle.client.status = lambda timeout_s=1.0: Status("Idle", None, mpos=next(positions))
    assert idle._status_position() is None
