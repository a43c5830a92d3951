"""The GRBL link: what a read of any shape parses to, the feed hold at a refusal as it is
parsed, and control requests from other threads reaching a stream whose own thread reads a
descriptor (TCP) port."""

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from drivers.grbl.link import HOLD, GrblLink
from drivers.grbl.protocol import parse_line
from drivers.runner import JobRunner, StreamStopped
from hardware_sim.device import Device
from hardware_sim.transport import TcpServer
from lasergen.job import read_job

from .conftest import exposure_counts

ANSWERS = ["ok", "error:20", "ALARM:1", "<Run|MPos:1.000,2.000,0.000|Bf:3,80|FS:120,0>", "[MSG:Pgm End]",
           "Grbl 1.1h ['$' for help]", "garbage!", "<Idle|MPos:0.000,0.000,0.000|FS:0,0>"]


class Recorder(GrblLink):
    """A link whose port is only a list of what was written."""

    def __init__(self, machine):
        super().__init__("none://", machine)
        self.sent = []

    def write(self, data: bytes):
        self.sent.append(data)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.sampled_from(ANSWERS), min_size=1, max_size=12), st.data())
def test_any_split_of_the_answers_parses_as_the_lines_do(lines, data):
    stream = b"".join(line.encode() + b"\r\n" for line in lines)
    cuts = sorted(data.draw(st.lists(st.integers(0, len(stream)), max_size=6)))
    link = Recorder(None)
    link.hold_on_refusal = True
    got = []
    for a, b in zip([0, *cuts], [*cuts, len(stream)]):
        got += link._messages(stream[a:b]) if b > a else []
    expected = [parse_line(line) for line in lines]
    assert [(m.kind, m.text) for m in got] == [(m.kind, m.text) for m in expected]
    refusals = sum(m.kind in ("error", "unknown") for m in expected)
    assert link.sent == [HOLD] * refusals  # a hold per refusal, sent as it is parsed


def test_a_read_of_answers_only_is_the_same_oks():
    link = Recorder(None)
    assert [m.kind for m in link._messages(b"ok\r\n" * 5)] == ["ok"] * 5
    assert link._messages(b"ok\r\nok") != [] and link._partial == bytearray(b"ok")


def stream_over_tcp(job, machine, control):
    """Stream `job` over TCP (the link reads the socket's descriptor in the streaming thread),
    calling control(runner) from another thread once the first line is proven executed; the
result and the toolpath the controller executed."""
    device = Device(machine, clock="real", speed=20.0)
    server = TcpServer(device, baud=115200)
    started = []

    def progress(info):
        if not started:
            started.append(threading.Thread(target=control, args=(runner,), daemon=True))
            started[0].start()

    runner = JobRunner(job, f"socket://127.0.0.1:{server.port}", machine, journal_path=job.with_suffix(".journal"),
                       progress=progress)
    runner.device = device
    try:
        result = runner.run()
        return result, device.executed_toolpath()
    finally:
        if started:
            started[0].join()
        server.close()
        device.stop()


def test_pause_and_resume_from_another_thread_reach_a_tcp_stream(qr_job, machine):
    held = []

    def pause_then_resume(runner):
        runner.pause()
        for _ in range(500):  # sequencing only: watch the controller take the hold, then resume
            if runner.device.emulator.motion.holding:
                held.append(True)
                break
            threading.Event().wait(0.01)
        runner.resume_motion()

    result, executed = stream_over_tcp(qr_job, machine, pause_then_resume)
    counts, _ = exposure_counts(read_job(qr_job, machine).toolpath, executed)
    assert held and result.status == "complete" and counts == [1] * len(counts)


def test_an_abort_from_another_thread_stops_a_tcp_stream_with_the_beam_off(qr_job, machine):
    with pytest.raises(StreamStopped, match=r"aborted by the operator.*beam off"):
        stream_over_tcp(qr_job, machine, lambda runner: runner.abort())


def test_a_stream_reads_the_port_itself_and_hands_it_back(machine):
    """While a stream holds the port, what the controller sends and what other threads post
    come from `read_now` (the reader thread takes nothing); after it, the reader thread again."""
    import socket

    server = socket.create_server(("127.0.0.1", 0))
    link = GrblLink(f"socket://127.0.0.1:{server.getsockname()[1]}", machine).open()
    controller, _ = server.accept()
    try:
        link.take_port()
        controller.sendall(b"ok\r\nerror:2")
        got = []
        while len(got) < 1:
            got += link.read_now(1.0)
        threading.Thread(target=link.post, args=("abort",)).start()
        controller.sendall(b"0\r\n")
        while len(got) < 3:
            got += link.read_now(1.0)
        assert sorted(m.kind for m in got) == ["abort", "error", "ok"] and link.events.empty()
        link.release_port()
        controller.sendall(b"ok\r\n")
        assert link.next_event(10.0).kind == "ok"
    finally:
        link.close()
        controller.close()
        server.close()
