"""Signed payloads: base45, Ed25519 round trip, tamper detection, smallest version."""

import pytest
import segno

from lasergen import LasergenError
from lasergen.security import signing
from lasergen.security.base45 import b45decode, b45encode
import lasergen


def test_base45_rfc9285_vectors():
    assert b45encode(b"AB") == "BB8"
    assert b45encode(b"Hello!!") == "%69 VD92EX0"
    assert b45encode(b"base-45") == "UJCLQE7W581"
    assert b45decode("QED8WEX0") == b"ietf!"
    with pytest.raises(LasergenError):
        b45decode("GGW")  # 65536 + ... out of range


def test_round_trip_and_any_changed_byte_fails(signing_key):
    payload = signing.sign_message("SN-000123", signing_key)
    public = signing_key.public_key()
    assert signing.verify_payload(payload, public) == (True, "SN-000123", "signature valid")
    message_len = len("SN-000123")
    for i in range(len(payload)):
        if i == message_len:
            continue  # the separator: changing it makes the payload unsigned, also a failure (below)
        char = payload[i]
        swapped = "8" if char != "8" else "9"
        ok, _, _ = signing.verify_payload(payload[:i] + swapped + payload[i + 1:], public)
        assert not ok, i
    assert not signing.verify_payload(payload.replace("*", "-", 1), public)[0]


def test_wrong_public_key_fails(signing_key):
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    payload = signing.sign_message("SN-000123", signing_key)
    assert not signing.verify_payload(payload, Ed25519PrivateKey.generate().public_key())[0]


def test_signed_tag_uses_the_smallest_version(signing_key):
    pattern = lasergen.tag("SN-000123", error="M", sign_key=signing_key)
    payload = pattern.meta["payload"]
    version = int(pattern.meta["version"])
    assert segno.make(payload, error="M", micro=False, boost_error=False).version == version
    with pytest.raises(segno.DataOverflowError):
        segno.make(payload, error="M", version=version - 1, boost_error=False)
    assert pattern.meta["signed"]["message"] == "SN-000123"


def test_payload_too_long_once_signed_is_a_clear_error(signing_key):
    with pytest.raises(LasergenError, match="signed payload .* does not fit"):
        lasergen.tag("A" * 4250, sign_key=signing_key)


def test_key_files(tmp_path, signing_key):
    priv, pub = tmp_path / "k.pem", tmp_path / "k.pub.pem"
    priv.write_bytes(signing.private_pem(signing_key))
    pub.write_bytes(signing.public_pem(signing_key))
    assert signing.load_public_key(pub).public_bytes_raw() == signing_key.public_key().public_bytes_raw()
    signing.load_private_key(priv)
    with pytest.raises(LasergenError, match="private key"):
        signing.load_private_key(pub)
    with pytest.raises(LasergenError, match="not found"):
        signing.load_public_key(tmp_path / "missing.pem")
