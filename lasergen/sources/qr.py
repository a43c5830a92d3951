"""QR source: payload -> module matrix (segno), one grid cell per module.

Everything that changes the symbol (error level, version, mask, Micro QR) can be pinned so a
job is reproducible; what segno chose is recorded in `meta` so a re-run can pin it too.
Dark modules are exposed: under UV they glow, so the code reads as an inverted (light on dark)
QR, which decoders accept. Non-ASCII text is encoded as UTF-8 (readers misread ISO 8859-1).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import segno

from lasergen import LasergenError
from lasergen.sources import Artwork, take

ERROR_LEVELS = ("L", "M", "Q", "H")


def _version_arg(version, micro):
    if version in (None, "auto", 0):
        return None
    if isinstance(version, str) and version.upper().startswith("M"):
        return version.upper()
    try:
        return int(version)
    except (TypeError, ValueError):
        raise LasergenError(f"qr: version must be 1..40, M1..M4 or auto, got {version!r}") from None


def make_qr(data: str | bytes, error: str = "M", version=None, mask=None, micro=False) -> segno.QRCode:
    error = str(error).upper()
    if error not in ERROR_LEVELS:
        raise LasergenError(f"qr: error level must be one of {ERROR_LEVELS}, got {error!r}")
    if not data:
        raise LasergenError("qr: empty payload")
    micro_arg = None if micro == "auto" else bool(micro)
    # Non-ASCII text as UTF-8 bytes: segno's default for text that fits ISO 8859-1 is that
    # charset without an ECI marker, which readers guess wrong ('¡' reads back as '｡').
    encoding = "utf-8" if isinstance(data, str) and not data.isascii() else None
    try:
        return segno.make(data, error=error, version=_version_arg(version, micro), mask=mask,
                          micro=micro_arg, boost_error=False, encoding=encoding)
    except segno.DataOverflowError:
        size = len(data.encode() if isinstance(data, str) else data)
        where = f"version {version}" if version not in (None, "auto", 0) else "any version"
        raise LasergenError(f"qr: payload of {size} bytes does not fit {where} at error level {error}") from None
    except (ValueError, TypeError) as exc:
        raise LasergenError(f"qr: {exc}") from None


def qr_mask(code: segno.QRCode, quiet_modules: int) -> np.ndarray:
    """Module matrix with its quiet zone, True = dark module."""
    rows = list(code.matrix_iter(scale=1, border=quiet_modules))
    return np.array(rows, dtype=bool)


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"data": None, "error": "M", "version": None, "mask": None, "micro": False,
                    "module_um": 20.0, "quiet_zone": None}, "qr source",
             numbers={"module_um": "module_um", "mask": "qr_mask", "quiet_zone": "quiet_zone"}, texts=("error",))
    if s["data"] is None:
        raise LasergenError("qr source: 'data' is required")
    if not isinstance(s["data"], (str, bytes)):
        raise LasergenError(f"qr source data: must be a string, got {s['data']!r}")
    if s["micro"] not in (True, False, "auto"):
        raise LasergenError(f"qr source micro: must be true, false or \"auto\", got {s['micro']!r}")
    code = make_qr(str(s["data"]), s["error"], s["version"], s["mask"], s["micro"])
    quiet = s["quiet_zone"] if s["quiet_zone"] is not None else (2 if code.is_micro else 4)
    if quiet < 0:
        raise LasergenError(f"qr: quiet_zone must be >= 0, got {quiet}")
    meta = {"source": "qr", "payload": str(s["data"]), "error": code.error, "version": str(code.version),
            "mask": code.mask, "micro": bool(code.is_micro), "quiet_zone": int(quiet),
            "modules": code.symbol_size(scale=1, border=0)[0]}
    return Artwork(qr_mask(code, int(quiet)), float(s["module_um"]), meta)
