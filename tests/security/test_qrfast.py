"""The vectorised mask search gives exactly segno's symbol (same mask, same modules)."""

import importlib.metadata
import random
import re

import numpy as np
import pytest
import segno
import segno.encoder

from lasergen.security.hidden import symbol_matrix
from lasergen.security.qrfast import fast_symbol


def test_bit_identical_to_segno(signing_key):
    from lasergen.security.signing import sign_message

    rng = random.Random(7)
    payloads = [f"SN-{i:06d}" for i in range(0, 4000, 97)]
    payloads += [sign_message(f"SN-{i:06d}", signing_key) for i in range(20)]
    payloads += ["".join(rng.choice("abcXYZ019/:-. ") for _ in range(rng.randint(1, 400))) for _ in range(40)]
    for i, payload in enumerate(payloads):
        error = "LMQH"[i % 4]
        symbol, info = fast_symbol(payload, error)
        ref = segno.make(payload, error=error, micro=False, boost_error=False)
        assert info["mask"] == ref.mask and info["version"] == str(ref.version), payload
        assert np.array_equal(symbol, symbol_matrix(ref)), payload


# every alignment-pattern layout (changes at 2, 7, 14, 21, 28, 35) and the version-info area (7+)
VERSIONS = [1, 2, 3, 4, 5, 6, 7, 8, 14, 21, 28, 35, 40]


@pytest.mark.parametrize("version", VERSIONS)
def test_bit_identical_to_segno_at_each_version_layout(version):
    rng = random.Random(version)
    for i, error in enumerate("LMQH"):
        if version > 20 and i % 2:
            continue  # the big symbols are slow to score in pure Python: two error levels each
        payload = ["0123456789", "SN-00042", "ex.Ä/1", "".join(rng.choice("abcXYZ019") for _ in range(5))][i]
        symbol, info = fast_symbol(payload, error, version)
        ref = segno.make(payload, error=error, version=version, micro=False, boost_error=False,
                         encoding=None if payload.isascii() else "utf-8")  # lasergen writes non-ASCII as UTF-8
        assert info == {"version": str(ref.version), "error": ref.error, "mask": ref.mask}, (payload, error)
        assert np.array_equal(symbol, symbol_matrix(ref)), (payload, error)


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in re.findall(r"\d+", text)[:3])


def test_segno_is_pinned_to_the_range_whose_internals_qrfast_uses():
    """qrfast and hidden call segno.encoder's private layout functions: a new segno minor may move
    them, so the dependency names the tested range, and the installed segno lies inside it."""
    (requirement,) = [r for r in importlib.metadata.requires("lasergen") if r.startswith("segno")]
    low = re.search(r">=\s*([\d.]+)", requirement)
    high = re.search(r"<\s*([\d.]+)", requirement)
    assert low and high, f"segno must be pinned to a range, got {requirement!r}"
    installed = _version(importlib.metadata.version("segno"))
    assert _version(low[1]) <= installed < _version(high[1])
    for name in ("make_matrix", "add_finder_patterns", "add_alignment_patterns", "add_format_info",
                 "normalize_errorlevel"):
        assert callable(getattr(segno.encoder, name)), name
