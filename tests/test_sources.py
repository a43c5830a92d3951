"""Pattern sources: bitmap, QR and text produce the masks a user expects, and bad input is refused."""

import numpy as np
import pytest
import zxingcpp
from PIL import Image

from lasergen import LasergenError
from lasergen.sources import make_artwork
from lasergen.sources.bitmap import gray_to_mask


def _decode(mask: np.ndarray, scale: int = 8) -> str:
    img = np.where(mask, 0, 255).astype(np.uint8).repeat(scale, 0).repeat(scale, 1)
    results = zxingcpp.read_barcodes(Image.fromarray(img))
    return results[0].text if results else ""


def test_bitmap_threshold_and_invert(tmp_path):
    gray = np.array([[0, 100, 200, 255]], dtype=np.uint8)
    Image.fromarray(gray).save(tmp_path / "g.png")
    art = make_artwork({"kind": "bitmap", "path": str(tmp_path / "g.png"), "pixel_um": 10})
    assert art.mask.tolist() == [[True, True, False, False]]
    inv = make_artwork({"kind": "bitmap", "path": str(tmp_path / "g.png"), "pixel_um": 10, "invert": True})
    assert inv.mask.tolist() == [[False, False, True, True]]
    assert art.pitch_um == 10


def test_bitmap_alpha_is_never_exposed(tmp_path):
    rgba = np.zeros((2, 2, 4), dtype=np.uint8)  # black everywhere
    rgba[0, :, 3] = 255  # top row opaque, bottom row transparent
    Image.fromarray(rgba, "RGBA").save(tmp_path / "a.png")
    art = make_artwork({"kind": "bitmap", "path": str(tmp_path / "a.png")})
    assert art.mask.tolist() == [[True, True], [False, False]]


@pytest.mark.parametrize("dither", ["floyd-steinberg", "ordered"])
def test_dithering_keeps_mean_gray(dither):
    gray = Image.fromarray(np.full((64, 64), 191, dtype=np.uint8))  # 25 % dark
    mask = gray_to_mask(gray, dither=dither)
    assert abs(mask.mean() - 0.25) < 0.03
    assert 0 < mask.sum() < mask.size  # a real dither, not a threshold


def test_bitmap_width_sets_pitch_or_resamples(tmp_path):
    Image.fromarray(np.zeros((50, 100), dtype=np.uint8)).save(tmp_path / "b.png")
    art = make_artwork({"kind": "bitmap", "path": str(tmp_path / "b.png"), "width_um": 2000})
    assert art.pitch_um == pytest.approx(20.0) and art.mask.shape == (50, 100)
    art = make_artwork({"kind": "bitmap", "path": str(tmp_path / "b.png"), "width_um": 2000, "pixel_um": 40})
    assert art.mask.shape == (25, 50)


def test_corrupt_image_is_a_clear_error(tmp_path):
    (tmp_path / "bad.png").write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    with pytest.raises(LasergenError, match="cannot read image"):
        make_artwork({"kind": "bitmap", "path": str(tmp_path / "bad.png")})


def test_qr_decodes_and_records_its_choices():
    art = make_artwork({"kind": "qr", "data": "SN-000123", "error": "Q", "module_um": 25})
    assert _decode(art.mask) == "SN-000123"
    assert art.meta["error"] == "Q" and art.meta["payload"] == "SN-000123"
    again = make_artwork({"kind": "qr", "data": "SN-000123", "error": "Q", "mask": art.meta["mask"],
                          "version": art.meta["version"]})
    assert np.array_equal(again.mask, art.mask)  # pinned choices reproduce the symbol


def test_qr_fixed_version_mask_and_quiet_zone():
    art = make_artwork({"kind": "qr", "data": "hi", "version": 5, "mask": 3, "quiet_zone": 2})
    assert art.mask.shape == (37 + 4, 37 + 4) and art.meta["mask"] == 3
    assert not art.mask[:2].any() and not art.mask[:, -2:].any()


def test_micro_qr_where_it_fits():
    art = make_artwork({"kind": "qr", "data": "12345", "micro": "auto"})
    assert art.meta["micro"] and art.meta["version"].startswith("M")
    assert art.mask.shape[0] < 21


def test_qr_payload_too_long_names_the_size():
    with pytest.raises(LasergenError, match="payload of 300 bytes does not fit version 3"):
        make_artwork({"kind": "qr", "data": "x" * 300, "version": 3})


def test_text_is_upright_not_mirrored():
    f = make_artwork({"kind": "text", "text": "F", "height_um": 600, "pitch_um": 20}).mask
    rows, cols = f.shape
    assert f[0].mean() > 0.8  # the top bar spans the glyph
    assert f[-1].mean() < 0.5  # the foot is only the stem
    assert f[:, 0].mean() > 0.9  # the stem is on the left
    assert f[rows // 2:, -1].sum() == 0  # nothing on the lower right


def test_unknown_source_and_keys_are_refused():
    with pytest.raises(LasergenError, match="unknown"):
        make_artwork({"kind": "svgz"})
    with pytest.raises(LasergenError, match="unknown key"):
        make_artwork({"kind": "qr", "data": "x", "modul_um": 10})
