"""Images from users: any bytes, any mode, any size, several pages, a decompression bomb.

The bitmap source and the photo check must either read an image or refuse it in one line
(LasergenError; exit 2 on the command line), never let Pillow's DecompressionBombWarning or a
traceback through, never silently take page 1 of a multi-page file, never plan an empty job.
"""

import io
import struct
import warnings
import zlib

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from lasergen import LasergenError
from lasergen.photo import load_glow
from lasergen.sources import make_artwork
from tests.inputs import cli
from tests.inputs.cli import run


def bomb_png(width=30000, height=30000) -> bytes:
    """A tiny PNG whose header claims a huge 1-bit image (Pillow reads the size lazily)."""
    chunk = lambda kind, data: struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
    ihdr = struct.pack(">IIBBBBB", width, height, 1, 0, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", ihdr) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")


def one_line_error(res, *words):
    cli.one_line_error(res, *words, absent=("Warning",))


def test_decompression_bomb_in_check_photo_says_what_and_how(tmp_path):
    (tmp_path / "bomb.png").write_bytes(bomb_png())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # Pillow's DecompressionBombWarning must not even be raised
        res = run("check-photo", tmp_path / "bomb.png")
    one_line_error(res, "30000 x 30000", "900 Mpx", "--max-megapixels")


def test_decompression_bomb_in_bitmap(tmp_path):
    (tmp_path / "bomb.png").write_bytes(bomb_png(12000, 9000))  # above Pillow's warning limit, below its error
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = run("bitmap", tmp_path / "bomb.png", "-o", tmp_path / "b.gcode")
    one_line_error(res, "12000 x 9000", "--max-megapixels")


def test_large_image_allowed_when_asked(tmp_path):
    Image.new("L", (400, 300), 0).save(tmp_path / "ok.png")
    res = run("bitmap", tmp_path / "ok.png", "-o", tmp_path / "b.gcode", "--max-megapixels", "0.1")
    one_line_error(res, "400 x 300", "0.1 Mpx")
    with pytest.raises(LasergenError):
        load_glow(tmp_path / "ok.png", max_megapixels=0.1)
    assert load_glow(tmp_path / "ok.png", max_megapixels=0.2).shape == (300, 400)


def two_page_tiff(path):
    first = Image.new("L", (40, 40), 255)  # page 0: blank
    second = Image.new("L", (40, 40), 255)
    second.paste(0, (10, 10, 30, 30))  # page 1: a dark square
    first.save(path, save_all=True, append_images=[second])


def test_multi_page_tiff_is_refused_unless_a_page_is_named(tmp_path):
    two_page_tiff(tmp_path / "two.tif")
    one_line_error(run("bitmap", tmp_path / "two.tif", "-o", tmp_path / "b.gcode"), "2 pages", "--page")
    res = run("bitmap", tmp_path / "two.tif", "-o", tmp_path / "b.gcode", "--page", "1", "--json")
    assert res.exit_code == 0, res.output
    art = make_artwork({"kind": "bitmap", "path": str(tmp_path / "two.tif"), "page": 1})
    assert art.mask.sum() == 400 and art.meta["page"] == 1
    one_line_error(run("bitmap", tmp_path / "two.tif", "-o", tmp_path / "b.gcode", "--page", "2"), "page 2")
    one_line_error(run("check-photo", tmp_path / "two.tif"), "2 pages")


def test_all_white_image_is_refused_not_an_empty_job(tmp_path):
    Image.new("L", (50, 50), 255).save(tmp_path / "white.png")
    one_line_error(run("bitmap", tmp_path / "white.png", "-o", tmp_path / "b.gcode"), "nothing to write")
    assert not (tmp_path / "b.gcode").exists()


IMAGE_FORMATS = ["PNG", "TIFF", "GIF", "BMP", "JPEG", "WEBP"]
MODES = ["1", "L", "LA", "P", "RGB", "RGBA", "I", "F", "I;16"]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(mode=st.sampled_from(MODES), fmt=st.sampled_from(IMAGE_FORMATS),
       width=st.integers(1, 48), height=st.integers(1, 48), seed=st.integers(0, 2**32 - 1),
       truncate=st.one_of(st.none(), st.integers(0, 400)))
def test_any_image_reads_or_is_refused_in_one_line(tmp_path, mode, fmt, width, height, seed, truncate):
    rng = np.random.default_rng(seed)
    img = Image.fromarray(rng.integers(0, 256, (height, width, 3), dtype=np.uint8)).convert(mode)
    buf = io.BytesIO()
    try:
        img.save(buf, fmt)
    except (OSError, ValueError, KeyError):
        return  # this format cannot hold this mode
    data = buf.getvalue() if truncate is None else buf.getvalue()[:truncate]
    path = tmp_path / f"img.{fmt.lower()}"
    path.write_bytes(data)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for read in (lambda: make_artwork({"kind": "bitmap", "path": str(path)}), lambda: load_glow(path)):
            try:
                out = read()
            except LasergenError as exc:
                assert "\n" not in str(exc)
                continue
            mask = getattr(out, "mask", out)
            assert mask.shape[:2] == (height, width)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=300))
def test_random_bytes_are_not_an_image(tmp_path, data):
    path = tmp_path / "junk.png"
    path.write_bytes(data)
    with pytest.raises(LasergenError):
        make_artwork({"kind": "bitmap", "path": str(path)})


@pytest.mark.parametrize("wide_mode", ["I;16", "I", "F"])
def test_a_16_bit_or_float_image_plans_the_same_job_as_its_8_bit_copy(tmp_path, wide_mode):
    """Pillow's own conversion clips 16-bit values above 255 to white: a black-to-white
    16-bit ramp planned as a single dark column (the rest of the picture silently lost)."""
    ramp8 = np.tile(np.linspace(0, 255, 48).round().astype(np.uint8), (24, 1))
    Image.fromarray(ramp8, "L").save(tmp_path / "ramp8.png")
    scale = {"I;16": (np.uint16, 257), "I": (np.int32, 257), "F": (np.float32, 1 / 255)}[wide_mode]
    wide = Image.fromarray((ramp8.astype(np.float64) * scale[1]).astype(scale[0]))
    wide.save(tmp_path / "ramp16.tif")
    assert Image.open(tmp_path / "ramp16.tif").mode == wide_mode
    import json
    jobs = [json.loads(run("bitmap", tmp_path / name, "--pixel-um", 20, "-o", tmp_path / f"{name}.gcode",
                           "--json").stdout) for name in ("ramp8.png", "ramp16.tif")]
    assert jobs[0]["bounds_mm"] == jobs[1]["bounds_mm"] and jobs[0]["marks"] == jobs[1]["marks"]
    assert (tmp_path / "ramp8.png.gcode").read_text().splitlines()[-40:] == \
        (tmp_path / "ramp16.tif.gcode").read_text().splitlines()[-40:]


def test_a_16_bit_photo_of_a_genuine_tag_checks_as_its_8_bit_copy(tmp_path):
    """Saved by a lab camera at 16 bits, the photo pair of a genuine tag was clipped to white by
    Pillow's conversion and checked as 'no QR code found in the UV photo'."""
    assert run("qr", "SN-7", "-o", tmp_path / "t.gcode").exit_code == 0
    assert run("simulate", tmp_path / "t.gcode", "--out", tmp_path / "ph").exit_code == 0
    glow = np.asarray(Image.open(tmp_path / "ph" / "uv365.png").convert("RGB")).max(axis=2)
    Image.fromarray(glow.astype(np.uint8)).save(tmp_path / "uv8.png")
    Image.fromarray(glow.astype(np.uint16) * 257).save(tmp_path / "uv16.png")
    assert Image.open(tmp_path / "uv16.png").mode == "I;16"
    checks = [run("check-photo", tmp_path / name) for name in ("uv8.png", "uv16.png")]
    assert "decoded 'SN-7'" in checks[0].stdout, checks[0].output  # unsigned: decoded, not authenticated
    assert (checks[1].exit_code, checks[1].stdout) == (checks[0].exit_code, checks[0].stdout), checks[1].output
