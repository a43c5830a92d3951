"""`tag`: an anti-counterfeit security tag as a Pattern, the library form of `lasergen qr
--sign/--hidden-key`.

A tag is a QR code whose payload may be signed (Ed25519: anyone with the public key can tell a
genuine serial from a forged one, `lasergen check-photo --pubkey`) and which may carry a keyed
hidden layer: a rewrite of a key-chosen subset of its modules (HMAC-SHA256 of the payload),
red behind a 645 nm long-pass filter and invisible under plain UV, which only the key holder
can check. What the tag promises (payload, scheme, `key_id`) goes into the job's manifest, the
key itself never does; `Job.verify(key=..., public_key=...)` checks a predicted tag.
"""

from __future__ import annotations

from pathlib import Path

from lasergen.api.sources import DEFAULT_ORIGIN_MM


def _signing_key(key):
    from lasergen.security.signing import load_private_key

    return load_private_key(key) if isinstance(key, (str, Path)) else key


def _hidden_key(key):
    from lasergen import LasergenError
    from lasergen.security.hidden import KEY_BYTES, load_key

    if key is None or isinstance(key, (str, Path)):
        return None if key is None else load_key(key)
    key = bytes(key)
    if not KEY_BYTES[0] <= len(key) <= KEY_BYTES[1]:
        raise LasergenError(f"hidden key: expected {KEY_BYTES[0]}..{KEY_BYTES[1]} bytes, got {len(key)}")
    return key


def tag(message: str, module_um: float = 20.0, *, sign_key=None, hidden_key=None, error: str = "M",
        version: int | str | None = None, mask: int | None = None, quiet_zone: int = 4, fraction: float | None = None,
        recipe=None, material: str | None = "BrI", origin_mm=DEFAULT_ORIGIN_MM, depth_um: float | None = None):
    """A security tag of `message` (e.g. a serial): a QR code of modules of `module_um`, error
    correction L/M/Q/H, version 1..40 (None: the smallest that fits), quiet zone in modules.
    `sign_key`: an Ed25519 private key, or its PEM file, to sign the payload; `hidden_key`: a
    32..64-byte key (bytes, or a key file of raw bytes or hex) for the keyed hidden layer, which
    rewrites `fraction` of the data modules (default 0.375). `recipe` writes both layers
    (default: the paper's write and rewrite presets); `depth_um` places the tag below the surface."""
    from lasergen.build import at_depth
    from lasergen.security.hidden import DEFAULT_FRACTION
    from lasergen.security.tag import TagOptions, tag_pattern

    opts = TagOptions(module_um=float(module_um), error=str(error).upper(),
                      version=None if version == "auto" else version, mask=mask, quiet_zone=quiet_zone,
                      fraction=DEFAULT_FRACTION if fraction is None else float(fraction), origin_mm=tuple(origin_mm))
    recipes = None if recipe is None else {"write": recipe, "rewrite": recipe}
    pattern = tag_pattern(message, opts, _signing_key(sign_key), _hidden_key(hidden_key), recipes, material)
    return at_depth(pattern, depth_um)
