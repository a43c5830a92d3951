"""check-photo on synthetic photo pairs: right key passes, wrong key and bad copies fail,
a changed payload breaks the signature, and distorted phone-like photos still verify."""

import numpy as np
import pytest
from PIL import Image

from lasergen import LasergenError
from lasergen import Layer
import lasergen
from lasergen.security.tagcheck import check_photos, otsu_threshold

from .tagphotos import distort, render_views

DISTORTIONS = {
    "rotated_17": dict(angle_deg=17),
    "perspective": dict(perspective=0.1),
    "blurred": dict(blur_px=2.5),
    "uneven_light": dict(light_gradient=0.7),
    "all_at_once": dict(angle_deg=17, perspective=0.08, blur_px=2.0, light_gradient=0.6, noise=0.03),
}


@pytest.fixture(scope="module")
def key():
    return bytes(range(100, 132))


@pytest.fixture(scope="module")
def tag_views(key):
    return render_views(lasergen.tag("SN-000123", hidden_key=key))


def test_right_key_passes(tag_views, key):
    result = check_photos(tag_views["uv365"], tag_views["uv365_lp645"], key=key)
    assert result["ok"] and result["confidence"] >= 0.95, result["verdict"]
    assert result["verdict"].startswith("GENUINE")


def test_wrong_key_fails(tag_views, key):
    result = check_photos(tag_views["uv365"], tag_views["uv365_lp645"], key=bytes(32))
    assert not result["ok"] and result["confidence"] < 0.5, result["verdict"]
    assert result["verdict"].startswith("REJECTED")


def test_copy_with_the_wrong_modules_rewritten_fails(key):
    fake = lasergen.tag("SN-000123", hidden_key=bytes(range(32)))  # same code, other modules rewritten
    views = render_views(fake)
    result = check_photos(views["uv365"], views["uv365_lp645"], key=key)
    assert not result["ok"], result["verdict"]


def test_copy_without_rewrite_fails(key):
    plain = lasergen.tag("SN-000123")
    views = render_views(plain)
    result = check_photos(views["uv365"], views["uv365_lp645"], key=key)
    assert not result["ok"], result["verdict"]


def test_copy_rewriting_every_dark_module_fails(key):
    genuine = lasergen.tag("SN-000123", hidden_key=key)
    genuine.layers[1] = Layer(genuine.layers[0].mask.copy(), "rewrite", "hidden")
    views = render_views(genuine)
    result = check_photos(views["uv365"], views["uv365_lp645"], key=key)
    assert not result["ok"], result["verdict"]


@pytest.mark.parametrize("name", sorted(DISTORTIONS))
def test_distorted_photos_still_verify(tag_views, key, name):
    kw = DISTORTIONS[name]
    uv = distort(tag_views["uv365"], seed=1, **kw)
    filtered = distort(tag_views["uv365_lp645"], seed=2, **kw)
    result = check_photos(uv, filtered, key=key)
    assert result["ok"] and result["confidence"] >= 0.9, (name, result["verdict"])
    wrong = check_photos(uv, filtered, key=bytes(32))
    assert not wrong["ok"], (name, wrong["verdict"])


def test_small_shift_between_the_two_photos_is_removed(tag_views, key):
    filtered = np.roll(np.asarray(tag_views["uv365_lp645"]), (5, -4), axis=(0, 1))
    result = check_photos(tag_views["uv365"], Image.fromarray(filtered), key=key)
    assert result["ok"], result["verdict"]
    assert result["filtered_shift_px"] == [5.0, -4.0]


def test_signed_tag_photo_fails_when_one_payload_byte_changes(signing_key):
    genuine = lasergen.tag("SN-000123", sign_key=signing_key)
    views = render_views(genuine)
    public = signing_key.public_key()
    assert check_photos(views["uv365"], public_key=public)["ok"]
    payload = genuine.meta["payload"]
    forged_payload = payload.replace("SN-000123", "SN-000124", 1)  # one byte of the serial, same signature
    forged = lasergen.tag(forged_payload)  # unsigned encode of the altered payload
    views = render_views(forged)
    result = check_photos(views["uv365"], public_key=public)
    assert result["payload"] == forged_payload
    assert not result["ok"] and not result["checks"]["signature"]["ok"], result["verdict"]


def test_no_code_in_the_photo_is_a_clear_error():
    with pytest.raises(LasergenError, match="no QR code"):
        check_photos(Image.new("RGB", (200, 200)))


def test_otsu_splits_two_groups():
    values = np.r_[np.full(30, 0.1), np.full(10, 0.9)]
    assert 0.1 < otsu_threshold(values) < 0.9
