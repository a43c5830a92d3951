"""QR payloads of any text: encoded so that a decoder reads the same text back, or refused in one
line (empty, too long for the version, a version or mask out of range); never another exception."""

import numpy as np
import zxingcpp
from hypothesis import given, settings
from hypothesis import strategies as st

from lasergen import LasergenError
from lasergen.sources import make_artwork

PAYLOADS = st.one_of(st.text(max_size=60), st.text(alphabet=st.characters(codec="latin-1"), max_size=30),
                     st.text(min_size=2900, max_size=3100, alphabet="0123456789ABC"), st.just(""))
VERSIONS = st.one_of(st.none(), st.sampled_from(["auto", "M2", "M5", "0", "41", "x", 1, 5, 40, -1, 2.5, True]))


@settings(max_examples=120, deadline=None)
@given(data=PAYLOADS, version=VERSIONS, error=st.sampled_from(["L", "M", "q", "H", "X", 1]),
       mask=st.one_of(st.none(), st.integers(-2, 9)), micro=st.sampled_from([False, True, "auto", "yes"]))
def test_payload_encodes_and_decodes_or_is_refused(data, version, error, mask, micro):
    spec = {"kind": "qr", "data": data, "error": error, "version": version, "mask": mask, "micro": micro,
            "module_um": 20.0}
    try:
        art = make_artwork(spec)
    except LasergenError as exc:
        assert "\n" not in str(exc)
        return
    assert art.mask.any() and art.meta["payload"] == data
    if art.meta["micro"] or len(data) > 200 or any(ord(c) < 32 or 0xD800 <= ord(c) for c in data):
        return  # zxing-cpp reads Micro QR and control characters inconsistently; the symbol itself was made
    picture = np.where(art.mask, 0, 255).astype(np.uint8).repeat(4, 0).repeat(4, 1)
    found = [r.text for r in zxingcpp.read_barcodes(picture, formats=zxingcpp.BarcodeFormat.QRCode)]
    assert found == [data]
