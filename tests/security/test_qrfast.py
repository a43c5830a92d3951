"""The vectorised mask search gives exactly segno's symbol (same mask, same modules)."""

import random

import numpy as np
import segno

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
