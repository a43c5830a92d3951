"""The paced link: a line arrives, and is answered, when its own last byte does, whatever
chunk the host's socket or write put it in (a UART has no chunks)."""

import time

import serial
from hypothesis import given
from hypothesis import strategies as st

import hardware_sim.urlhandler
from hardware_sim.transport import Pacer

BAUD = 300  # 33 ms a byte: the stamps of one call chain, whatever else the machine does


@given(st.binary(max_size=300).map(lambda b: b.replace(b"\r", b"\n")) | st.lists(
    st.sampled_from([b"G1X1\n", b"?", b"\n", b"M4S0\n", b"G0"]), max_size=12).map(b"".join))
def test_pieces_are_the_lines_of_a_chunk_each_stamped_at_its_own_end(data):
    pacer = Pacer(BAUD)
    pieces = pacer.pieces(data)
    assert b"".join(piece for _, piece in pieces) == data
    assert all(piece.endswith(b"\n") for _, piece in pieces[:-1])
    assert all(b"\n" not in piece[:-1] for _, piece in pieces)  # a line end only ever ends a piece
    first_arrival, first = pieces[0]
    start = first_arrival - len(first) * pacer.s_per_byte
    sent = 0
    for arrival, piece in pieces:
        sent += len(piece)
        assert abs(arrival - (start + sent * pacer.s_per_byte)) < 1e-9
    assert abs(pacer.busy_until - (start + len(data) * pacer.s_per_byte)) < 1e-9


def test_unpaced_link_passes_chunks_whole():
    assert Pacer(None).pieces(b"G1X1\nG1X2\n") == [(None, b"G1X1\nG1X2\n")]


def test_first_line_of_one_write_is_answered_before_the_last_has_arrived():
    """Three 40-byte lines written at once at 2400 baud (167 ms a line): GRBL answers the first
    when its newline lands (~0.17 s), not when the write's last byte does (0.5 s)."""
    hardware_sim.urlhandler.register()
    port = serial.serial_for_url("sim://?baud=2400", timeout=2.0)
    try:
        port.write(b"$X\n")  # unlock (the emulator starts alarmed, as GRBL with homing does)
        while not port.readline().startswith(b"ok"):
            pass
        line = b"G1X0.1F100" + b" " * 29 + b"\n"  # 40 bytes, the spaces GRBL skips
        assert len(line) == 40
        t0 = time.monotonic()
        port.write(line * 3)
        answers = [(port.readline(), time.monotonic() - t0) for _ in range(3)]
    finally:
        port.close()
    assert [a for a, _ in answers] == [b"ok\r\n"] * 3
    per_line_s = 40 * 10 / 2400
    first_s, last_s = answers[0][1], answers[-1][1]
    assert per_line_s * 0.9 < first_s < 2.4 * per_line_s
    assert last_s > 2.9 * per_line_s
