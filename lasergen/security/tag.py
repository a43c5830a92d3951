"""Security tags: a QR code, optionally signed (payload) and keyed (hidden rewrite layer).

    message --sign--> payload --segno--> symbol --write--> layer "qr"      (glows under UV)
                                            \--HMAC(key)--> layer "hidden" (rewrite: glows behind 645 nm)
What the tag promises (payload, symbol parameters, signature scheme, hidden-layer scheme and
`key_id`) goes into the pattern's meta, hence the job manifest; the key itself never does.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import LasergenError
from ..pattern import Layer, Pattern
from ..recipe import PRESETS, Recipe
from ..sources.qr import make_qr, qr_mask
from . import hidden, signing


@dataclass
class TagOptions:
    module_um: float = 20.0
    error: str = "M"
    version: object = None
    mask: int | None = None
    quiet_zone: int = 4
    fraction: float = hidden.DEFAULT_FRACTION
    origin_mm: tuple[float, float] = (10.0, 10.0)


def make_payload(message: str, sign_key=None) -> str:
    return signing.sign_message(message, sign_key) if sign_key is not None else message


def tag_pattern(message: str, opts: TagOptions = TagOptions(), sign_key=None, hidden_key: bytes | None = None,
                recipes: dict[str, Recipe] | None = None, material: str | None = "BrI") -> Pattern:
    payload = make_payload(message, sign_key)
    try:
        code = make_qr(payload, opts.error, opts.version, opts.mask, micro=False)
    except LasergenError as exc:
        if sign_key is None:
            raise
        raise LasergenError(f"signed payload ({len(message)} message + {signing.SUFFIX_CHARS} signature characters)"
                            f" does not fit: {exc}") from None
    symbol = hidden.symbol_matrix(code)
    quiet = int(opts.quiet_zone)
    full = qr_mask(code, quiet) if quiet else symbol
    meta = {"source": "qr", "payload": payload, "error": code.error, "version": str(code.version),
            "mask": code.mask, "micro": False, "quiet_zone": quiet, "modules": symbol.shape[0],
            "material": material}
    layers = [Layer(full, "write", "qr")]
    views = {"daylight": {"shows": "nothing"}, "uv365": {"shows": "qr", "pixels": int(full.sum())}}
    if sign_key is not None:
        meta["signed"] = {"scheme": "ed25519-base45-v1", "message": message}
    if hidden_key is not None:
        chosen = hidden.hidden_modules(hidden_key, payload, symbol, opts.fraction)
        rewrite = np.pad(chosen, quiet) if quiet else chosen
        layers.append(Layer(rewrite, "rewrite", "hidden"))
        meta["hidden"] = {"scheme": hidden.SCHEME, "fraction": opts.fraction, "key_id": hidden.key_id(hidden_key),
                          "modules": int(chosen.sum())}
        views["uv365_lp645"] = {"shows": "keyed", "filter_nm": 645.0}
    meta["levels"] = {"views": views}
    all_recipes = {**PRESETS, **(recipes or {})}
    return Pattern(opts.module_um, layers, tuple(opts.origin_mm), all_recipes, meta)
