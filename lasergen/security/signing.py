"""Signed payloads: an Ed25519 signature packed into the QR payload itself.

Format (v1): `MESSAGE` + "*" + base45(signature), where the signature (64 bytes, 96 base45
characters) is Ed25519 over b"lasergen-tag-v1" || 0x00 || MESSAGE (UTF-8). The signature has
a fixed length, so the split is positional and MESSAGE may contain any character. When
MESSAGE uses only the QR alphanumeric set (upper-case serials such as SN-000123) the whole
payload encodes in alphanumeric mode, and segno picks the smallest version that fits.
Verification needs only the public key (PEM, SubjectPublicKeyInfo).
"""

from __future__ import annotations

from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from lasergen import LasergenError
from lasergen.security import shown_path
from lasergen.security.base45 import b45decode, b45encode, encoded_length

DOMAIN = b"lasergen-tag-v1\x00"
SEPARATOR = "*"
SIGNATURE_CHARS = encoded_length(64)  # 96
SUFFIX_CHARS = SIGNATURE_CHARS + len(SEPARATOR)


def _read(path: str | Path, what: str) -> bytes:
    try:
        return Path(path).read_bytes()
    except (FileNotFoundError, IsADirectoryError, OSError):
        raise LasergenError(f"{what} file not found: {shown_path(path)}") from None


def load_private_key(path: str | Path) -> Ed25519PrivateKey:
    data = _read(path, "signing key")
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise LasergenError(f"signing key {Path(path).name}: not an unencrypted PEM private key ({exc})") from None
    if not isinstance(key, Ed25519PrivateKey):
        raise LasergenError(f"signing key {Path(path).name}: expected Ed25519, got {type(key).__name__}")
    return key


def load_public_key(path: str | Path) -> Ed25519PublicKey:
    data = _read(path, "public key")
    try:
        key = serialization.load_pem_public_key(data)
    except (ValueError, TypeError) as exc:
        raise LasergenError(f"public key {Path(path).name}: not a PEM public key ({exc})") from None
    if not isinstance(key, Ed25519PublicKey):
        raise LasergenError(f"public key {Path(path).name}: expected Ed25519, got {type(key).__name__}")
    return key


def sign_message(message: str, key: Ed25519PrivateKey) -> str:
    """The QR payload: message, separator, base45 signature."""
    if not message:
        raise LasergenError("signing: empty message")
    signature = key.sign(DOMAIN + message.encode())
    return message + SEPARATOR + b45encode(signature)


def split_signed(payload: str) -> tuple[str, bytes] | None:
    """(message, signature) of a signed payload, or None when it carries no signature."""
    if len(payload) <= SUFFIX_CHARS or payload[-SUFFIX_CHARS] != SEPARATOR:
        return None
    try:
        return payload[:-SUFFIX_CHARS], b45decode(payload[-SIGNATURE_CHARS:])
    except LasergenError:
        return None


def verify_payload(payload: str, key: Ed25519PublicKey) -> tuple[bool, str, str]:
    """(valid, message, reason) for a decoded QR payload."""
    parts = split_signed(payload)
    if parts is None:
        return False, payload, "no signature in the payload"
    message, signature = parts
    try:
        key.verify(signature, DOMAIN + message.encode())
    except InvalidSignature:
        return False, message, "signature does not match the message (altered payload or wrong public key)"
    return True, message, "signature valid"


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def private_pem(key: Ed25519PrivateKey) -> bytes:
    return key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                             serialization.NoEncryption())
