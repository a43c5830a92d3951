"""The job pack: records read back alone and checked, damage is caught, the walk finds every record."""

import hashlib
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from lasergen import LasergenError
from lasergen.batch import pack
from lasergen.batch.serials import SerialRange, serials

JOB = b";@lasergen lasergen-job v1\nG21\n" + b"".join(b"G1X%d.%03dY1.000S200\n" % (i, i % 997) for i in range(800))


def test_records_read_back_alone_and_compress(tmp_path):
    path = tmp_path / "jobs.lgpack"
    pack.create(path, pack.make_dictionary(JOB), private=True)
    assert os.stat(path).st_mode & 0o077 == 0
    dictionary, first = pack.read_dictionary(path)
    jobs = {f"SN-{i:03d}": JOB.replace(b"G21", b"G21 ; %d" % i) for i in range(5)}
    where = pack.append(path, [pack.encode_record(s, j, dictionary) for s, j in jobs.items()])
    assert where[0][0] == first and all(n < len(JOB) / 4 for _, n in where)
    for (serial, job), (offset, length) in zip(jobs.items(), where):
        assert pack.read(path, offset, length, serial) == job
    assert [r[0] for r in pack.records(path)] == list(jobs)
    with pytest.raises(LasergenError, match="holds SN-000, not SN-001"):
        pack.read(path, where[0][0], where[0][1], "SN-001")


def test_damage_and_truncation_are_caught(tmp_path):
    path = tmp_path / "jobs.lgpack"
    pack.create(path, b"", private=False)
    (offset, length), = pack.append(path, [pack.encode_record("A", JOB, b"")])
    data = bytearray(path.read_bytes())
    data[offset + length - 5] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(LasergenError, match="damaged"):
        pack.read(path, offset, length, "A")
    path.write_bytes(bytes(data[:offset + length - 10]))
    with pytest.raises(LasergenError, match="cut short"):
        pack.read(path, offset, length, "A")
    assert list(pack.records(path)) == []  # a torn last record is not a record
    path.write_bytes(bytes(data))
    with pytest.raises(LasergenError, match="no job record here"):
        pack.read(path, offset + 1, length - 1)
    (tmp_path / "x.lgpack").write_bytes(b"hello")
    with pytest.raises(LasergenError, match="not a lasergen job pack"):
        pack.read_dictionary(tmp_path / "x.lgpack")


@settings(max_examples=40, deadline=None)
@given(job=st.binary(max_size=3000), serial=st.text(min_size=1, max_size=30))
def test_any_job_round_trips(tmp_path_factory, job, serial):
    path = tmp_path_factory.mktemp("p") / "jobs.lgpack"
    pack.create(path, JOB[-500:], private=False)
    dictionary, _ = pack.read_dictionary(path)
    (offset, length), = pack.append(path, [pack.encode_record(serial, job, dictionary)])
    assert hashlib.sha256(pack.read(path, offset, length, serial)).digest() == hashlib.sha256(job).digest()


@pytest.mark.parametrize("template, start, count, message", [
    ("SN", 0, 3, "needs exactly one integer counter"),
    ("SN-%s", 0, 3, "needs exactly one integer counter"),
    ("SN-%.1e", 0, 3, "needs exactly one integer counter"),
    ("SN-%d-%d", 0, 3, "fields found: %d, %d"),
    ("SN-%5d", 0, 3, "pads with spaces"),
    ("SN-%03d", 0, 1001, "overflow 'SN-%03d': the last would be 1000, the template ends at SN-999 (1000 fit)"),
    ("SN-%02X", 250, 10, "the template ends at SN-FF (6 fit)"),
    ("SN-%06d", 0, 0, "count must be in 1.."),
    ("SN-%06d", -5, 10, "start must be >= 0"),
])
def test_bad_serial_ranges(template, start, count, message):
    with pytest.raises(LasergenError, match=message.replace("(", r"\(").replace(")", r"\)")):
        SerialRange(template, start, count)


def test_serial_ranges_are_lazy_and_unique():
    assert serials("A%%-%04d", 2, 9998) == ["A%-9998", "A%-9999"]
    big = SerialRange("SN-%09d", 0, 10 ** 9)
    first = next(big.chunks(3))
    assert len(big) == 10 ** 9 and first == ["SN-000000000", "SN-000000001", "SN-000000002"]


@settings(max_examples=60, deadline=None)
@given(prefix=st.text(alphabet="ABCXYZ-_/ %", max_size=6), width=st.integers(1, 9), kind=st.sampled_from("dxXo"))
def test_templates_either_refuse_or_give_distinct_serials(prefix, width, kind):
    template = f"{prefix}%0{width}{kind}"
    try:
        names = serials(template, 50)
    except LasergenError:
        return
    assert len(set(names)) == len(names) == 50
