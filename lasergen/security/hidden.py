"""Keyed hidden layer: which dark QR modules get the rewrite, decided by a secret key.

Protocol (v1). A PRF stream is HMAC-SHA256 in counter mode,
    block_i = HMAC(key, "lasergen-hidden-v1" || 0x00 || payload || 0x00 || i as 4-byte big-endian),
and each candidate module (the dark *data* modules of the symbol, row-major; finder, separator,
timing, alignment, format and version areas excluded) takes 4 bytes of it as a score. The
ceil(fraction * n) lowest scores form the hidden set: a keyed uniformly random subset of exact
size. Under UV the whole code still glows (so it decodes); behind the 645 nm filter only the
hidden set glows, and only a key holder can say which modules that must be.

The key comes from a file (32..64 raw bytes, or 64..128 hex characters) or from the
`LASERGEN_KEY` environment variable (hex). It is never written into a job, a manifest or a log;
jobs record only `key_id`, a separate hash that names the key without revealing it.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import string
from functools import lru_cache
from pathlib import Path

import numpy as np
import segno
import segno.encoder as _encoder

from lasergen import LasergenError
from lasergen.security import shown_path

SCHEME = "hmac-sha256-v1"
LABEL = b"lasergen-hidden-v1"
KEY_ENV = "LASERGEN_KEY"
KEY_BYTES = (32, 64)  # accepted raw key length range
DEFAULT_FRACTION = 0.375
FRACTION_RANGE = (0.1, 0.6)


def parse_key(raw: bytes, where: str) -> bytes:
    """Hex text (whitespace ignored) when the content is all hex digits, else raw bytes."""
    text = raw.strip()
    lo, hi = KEY_BYTES
    if len(text) >= lo and all(chr(b) in string.hexdigits for b in text):
        if len(text) % 2 or not 2 * lo <= len(text) <= 2 * hi:
            raise LasergenError(f"hidden key {where}: hex key must have an even {2 * lo}..{2 * hi} digits, "
                                f"got {len(text)}")
        return bytes.fromhex(text.decode())
    if lo <= len(raw) <= hi:
        return bytes(raw)
    raise LasergenError(f"hidden key {where}: expected {lo}..{hi} raw bytes or {2 * lo}..{2 * hi} hex digits, "
                        f"got {len(raw)} bytes")


def load_key(path: str | Path | None = None) -> bytes:
    """The hidden-layer key from `path`, else from $LASERGEN_KEY; error if neither is usable."""
    if path:
        try:
            return parse_key(Path(path).read_bytes(), f"file {shown_path(Path(path).name)}")
        except (FileNotFoundError, IsADirectoryError, OSError):
            raise LasergenError(f"hidden key file not found: {shown_path(path)}") from None
    env = os.environ.get(KEY_ENV)
    if env:
        return parse_key(env.encode(), f"${KEY_ENV}")
    raise LasergenError(f"no hidden key: pass a key file or set ${KEY_ENV} (hex)")


def new_key() -> bytes:
    return os.urandom(KEY_BYTES[0])


def key_id(key: bytes) -> str:
    """A short public name for a key (a domain-separated hash; reveals nothing usable)."""
    return hashlib.sha256(b"lasergen-key-id\x00" + key).hexdigest()[:12]


@lru_cache(maxsize=64)
def data_module_mask(size: int) -> np.ndarray:
    """True where a regular QR symbol of `size` modules carries data (function patterns excluded).

    Uses segno's own layout code (finder, separator, timing, alignment, format and version
    areas), so the exclusion matches the encoder exactly; tests pin the counts to ISO 18004.
    """
    if size < 21 or (size - 17) % 4:
        raise LasergenError(f"hidden layer: needs a regular QR symbol (21..177 modules), got {size}")
    matrix = _encoder.make_matrix(size, size)
    _encoder.add_finder_patterns(matrix, size, size)
    _encoder.add_alignment_patterns(matrix, size, size)
    out = np.frombuffer(b"".join(bytes(r) for r in matrix), dtype=np.uint8).reshape(size, size) == 0x2
    out.flags.writeable = False
    return out


def prf_scores(key: bytes, payload: str, n: int) -> np.ndarray:
    """n keyed pseudo-random uint32 scores for `payload`."""
    message = LABEL + b"\x00" + payload.encode() + b"\x00"
    blocks = (n * 4 + 31) // 32
    stream = b"".join(hmac.new(key, message + i.to_bytes(4, "big"), hashlib.sha256).digest() for i in range(blocks))
    return np.frombuffer(stream, dtype=">u4")[:n]


def hidden_modules(key: bytes, payload: str, symbol: np.ndarray, fraction: float = DEFAULT_FRACTION) -> np.ndarray:
    """Boolean module matrix (no quiet zone) of the dark data modules chosen for the rewrite."""
    lo, hi = FRACTION_RANGE
    if not lo <= fraction <= hi:
        raise LasergenError(f"hidden layer: fraction must be in {lo}..{hi}, got {fraction}")
    candidates = symbol & data_module_mask(symbol.shape[0])
    index = np.flatnonzero(candidates)
    k = int(np.ceil(fraction * index.size))
    scores = prf_scores(key, payload, index.size)
    chosen = index[np.argsort(scores, kind="stable")[:k]]
    out = np.zeros(symbol.size, dtype=bool)
    out[chosen] = True
    return out.reshape(symbol.shape)


def symbol_matrix(code: segno.QRCode) -> np.ndarray:
    """The module matrix without quiet zone, True = dark."""
    return np.array(list(code.matrix_iter(scale=1, border=0)), dtype=bool)
