"""Security tags: a QR code, optionally signed (payload) and keyed (hidden rewrite layer).

    message --sign--> payload --segno--> symbol --write--> layer "qr"      (glows under UV)
                                            +--HMAC(key)--> layer "hidden" (rewrite: glows behind 645 nm)
What the tag promises (payload, symbol parameters, signature scheme, hidden-layer scheme and
`key_id`) goes into the pattern's meta, hence the job manifest; the key itself never does.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np

from lasergen import LasergenError
from lasergen.levels import pack_mask
from lasergen.pattern import Layer, Pattern
from lasergen.recipe import PRESETS, Recipe
from lasergen.security import hidden, signing
from lasergen.security.qrfast import fast_symbol
from lasergen.sources.qr import make_qr

LINE_PITCH_MAX_UM = 20.0  # at most this between scan lines, so a large module is written solid


def module_recipes(module_um: float, recipes: dict[str, Recipe] | None = None) -> dict[str, Recipe]:
    """Write/rewrite recipes for modules of `module_um`: at most LINE_PITCH_MAX_UM between scan lines."""
    out = {**PRESETS, **(recipes or {})}
    for name in ("write", "rewrite"):
        if out[name].line_pitch_um is None and module_um > LINE_PITCH_MAX_UM:
            lines = int(np.ceil(module_um / LINE_PITCH_MAX_UM))
            out[name] = replace(out[name], line_pitch_um=module_um / lines)
    return out


@dataclass
class TagOptions:
    module_um: float = 20.0
    error: str = "M"
    version: object = None
    mask: int | None = None
    quiet_zone: int = 4
    fraction: float = hidden.DEFAULT_FRACTION
    origin_mm: tuple[float, float] = (10.0, 10.0)


def qr_symbol(payload: str, opts: TagOptions) -> tuple[np.ndarray, dict]:
    """Best-mask symbol via the vectorised mask search; a pinned mask goes straight to segno."""
    if opts.mask is None:
        return fast_symbol(payload, opts.error, opts.version)
    code = make_qr(payload, opts.error, opts.version, opts.mask, micro=False)
    return hidden.symbol_matrix(code), {"version": str(code.version), "error": code.error, "mask": code.mask}


def make_payload(message: str, sign_key=None) -> str:
    return signing.sign_message(message, sign_key) if sign_key is not None else message


def tag_pattern(message: str, opts: TagOptions | None = None, sign_key=None, hidden_key: bytes | None = None,
                recipes: dict[str, Recipe] | None = None, material: str | None = "BrI",
                signed_payload: str | None = None) -> Pattern:
    """`signed_payload`: `message` already signed where the key lives (a batch signs in its own process)."""
    opts = opts or TagOptions()
    signed = sign_key is not None or signed_payload is not None
    payload = signed_payload or make_payload(message, sign_key)
    try:
        symbol, info = qr_symbol(payload, opts)
    except LasergenError as exc:
        if not signed:
            raise
        raise LasergenError(f"signed payload ({len(message)} message + {signing.SUFFIX_CHARS} signature characters)"
                            f" does not fit: {exc}") from None
    quiet = int(opts.quiet_zone)
    if quiet < 0:
        raise LasergenError(f"qr: quiet_zone must be >= 0, got {quiet}")
    full = np.pad(symbol, quiet)
    meta = {"source": "qr", "payload": payload, **info, "micro": False, "quiet_zone": quiet,
            "modules": symbol.shape[0], "material": material}
    layers = [Layer(full, "write", "qr")]
    views = {"daylight": {"shows": "nothing"}, "uv365": {"shows": "written", "pixels": int(full.sum()),
                                                         "mask": pack_mask(full)}}
    if signed:
        meta["signed"] = {"scheme": "ed25519-base45-v1", "message": message}
    if hidden_key is not None:
        chosen = hidden.hidden_modules(hidden_key, payload, symbol, opts.fraction)
        rewrite = np.pad(chosen, quiet)
        layers.append(Layer(rewrite, "rewrite", "hidden"))
        meta["hidden"] = {"scheme": hidden.SCHEME, "fraction": opts.fraction, "key_id": hidden.key_id(hidden_key),
                          "modules": int(chosen.sum())}
        views["uv365_lp645"] = {"shows": "keyed", "filter_nm": 645.0}
    meta["levels"] = {"shape": list(full.shape), "pitch_um": opts.module_um, "views": views}
    return Pattern(opts.module_um, layers, tuple(opts.origin_mm), module_recipes(opts.module_um, recipes), meta)
