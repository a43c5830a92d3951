"""Verdicts say what was checked: GENUINE only after a cryptographic check, `ok` only for a check
that was performed, confidence within [0, 1], no numpy warning reaching the user."""

import warnings

import numpy as np
import pytest
import segno
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from PIL import Image

from hardware_sim.glass import verify
from lasergen.security.signing import public_pem
import lasergen
from lasergen.security.tagcheck import check_photos
from lasergen_cli import main

from .tagphotos import render_views

KEY = bytes(range(100, 132))


@pytest.fixture(scope="module")
def photos(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("photos")
    views = render_views(lasergen.tag("SN-000777", hidden_key=KEY))
    views["uv365"].save(tmp / "uv.png")
    views["uv365_lp645"].save(tmp / "lp.png")
    (tmp / "hidden.key").write_bytes(KEY)
    (tmp / "pub.pem").write_bytes(public_pem(Ed25519PrivateKey.generate()))
    return tmp


def run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_glowing_qr_without_key_is_decoded_not_authenticated(photos, no_key_env):
    res = run("check-photo", photos / "uv.png", photos / "lp.png")
    assert res.exit_code == 1
    assert res.stdout.startswith("DECODED, NOT AUTHENTICATED") and "GENUINE" not in res.stdout
    assert "confidence" not in res.stdout


def test_genuine_needs_the_key(photos, no_key_env):
    res = run("check-photo", photos / "uv.png", photos / "lp.png", "--key", photos / "hidden.key")
    assert res.exit_code == 0 and res.stdout.startswith("GENUINE (confidence"), res.output


def test_missing_signature_is_no_signature(photos, no_key_env):
    res = run("check-photo", photos / "uv.png", "--pubkey", photos / "pub.pem")
    assert res.exit_code == 1
    assert res.stdout.startswith("NO SIGNATURE (confidence 0.000)"), res.stdout


def test_printed_copy_confidence_in_range_without_numpy_warnings():
    code = segno.make("SN-000777", error="M", boost_error=False, micro=False)
    modules = np.array(list(code.matrix_iter(scale=8, border=4)), dtype=bool)
    printed = np.where(modules[..., None], 0, 255).astype(np.uint8).repeat(3, axis=2)  # black ink on white
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        result = check_photos(printed, printed, key=KEY)
    assert not result["ok"] and result["status"] == "rejected"
    assert 0.0 <= result["confidence"] <= 1.0
    assert 0.0 <= result["checks"]["hidden"]["confidence"] <= 1.0


def test_unchecked_promise_is_not_reported_ok(tmp_path):
    spec = tmp_path / "t.toml"
    spec.write_text('[[layers]]\nsource = { kind = "text", text = "E", height_um = 300 }\n')
    assert run("pattern", spec, "-o", tmp_path / "t.gcode").exit_code == 0
    res = run("verify", tmp_path / "t.gcode", "--no-margin")
    assert res.exit_code == 0, res.output
    lines = res.stdout.strip().splitlines()
    assert lines[0].startswith("unchecked") and not any(line.startswith("ok") for line in lines)
    assert lines[-1] == "verified: 1 unchecked"


def test_qr_with_zero_margin_is_a_warning(monkeypatch):
    monkeypatch.setattr(verify, "decode_margin", lambda image, expected, um: {
        "blur_sigma_px": 0.0, "blur_sigma_um": 0.0, "noise_sigma": 0.0})

    class Rendered:
        rgb = np.array(Image.fromarray(np.array(list(segno.make("ZERO", micro=False).matrix_iter(scale=6, border=4)),
                                                dtype=np.uint8) * 255).convert("RGB"))
        um_per_px = 2.0

    class Prediction:
        def render(self, view):
            return Rendered()

    check = verify.check_qr(Prediction(), {"payload": "ZERO"}).to_dict()
    assert check["ok"] and check["status"] == "warning" and "no margin" in check["message"]
    assert verify.describe(check).startswith("warning")
