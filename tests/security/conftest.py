"""Shared fixtures for the security tests: keys, and the folder of test helpers on sys.path."""

import os
from importlib import resources
import sys
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).parent))

PATTERNS = Path(str(resources.files("lasergen").joinpath("patterns")))  # shipped example specs


@pytest.fixture
def hidden_key() -> bytes:
    return bytes.fromhex("5c" * 8 + "a1b2c3d4" * 6)


@pytest.fixture(scope="session")
def signing_key() -> Ed25519PrivateKey:
    return Ed25519PrivateKey.generate()


@pytest.fixture
def no_key_env(monkeypatch):
    monkeypatch.delenv("LASERGEN_KEY", raising=False)
    monkeypatch.delenv("LASERGEN_PUBKEY", raising=False)
    return os.environ
