"""Text source: glyphs rendered with Pillow (FreeType) into a mask of a given cap height.

The font is any TrueType/OpenType file; without one, DejaVu Sans if the system has it, else
Pillow's bundled scalable default font. The mask is cropped to the ink plus a margin, and
never mirrored: row 0 is the top of the letters.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import numpy as np
from PIL import Image, ImageDraw, ImageFont

from lasergen import LasergenError
from lasergen.sources import Artwork, take

SYSTEM_FONTS = ("DejaVuSans-Bold.ttf", "DejaVuSans.ttf")
MAX_TEXT_PIXELS = 50_000_000  # the rendered line of text; Pillow refuses ~179 Mpx as a bomb


@lru_cache(maxsize=16)
def _font(font: str | None, size_px: int) -> ImageFont.FreeTypeFont:
    candidates = [font] if font else list(SYSTEM_FONTS)
    for name in candidates:
        try:
            return ImageFont.truetype(name, size_px)
        except OSError:
            continue
    if font:
        raise LasergenError(f"text: cannot open font {font!r}")
    return ImageFont.load_default(size=size_px)


def render_text(text: str, height_px: int, font: str | None = None, margin_px: int = 0) -> np.ndarray:
    """Mask of `text` whose capital letters are `height_px` tall."""
    if not text:
        raise LasergenError("text: empty string")
    if height_px < 5:
        raise LasergenError(f"text: letters {height_px} px tall are unreadable; use a finer pitch or a larger height")
    probe = _font(font, 200)
    left, top, right, bottom = probe.getbbox("H")
    size_px = max(1, round(200 * height_px / max(1, bottom - top)))
    face = _font(font, size_px)
    left, top, right, bottom = face.getbbox(text)
    width, height = right - left + 2, bottom - top + 2
    if width * height > MAX_TEXT_PIXELS:
        raise LasergenError(f"text: {text[:20]!r} at {height_px} px letters is {width} x {height} px, more than "
                            f"{MAX_TEXT_PIXELS // 1_000_000} Mpx; use a coarser pitch or smaller letters")
    img = Image.new("L", (width, height), 0)
    ImageDraw.Draw(img).text((1 - left, 1 - top), text, fill=255, font=face)
    mask = np.asarray(img) >= 128
    rows, cols = np.nonzero(mask)
    if rows.size == 0:
        raise LasergenError(f"text: {text!r} renders no ink in this font")
    mask = mask[rows.min():rows.max() + 1, cols.min():cols.max() + 1]
    return np.pad(mask, margin_px)


def from_spec(spec: dict, base_dir: Path) -> Artwork:
    s = take(spec, {"text": None, "height_um": 1000.0, "pitch_um": 20.0, "font": None, "margin_um": 0.0},
             "text source", numbers={"height_um": "height_um", "pitch_um": "pitch_um", "margin_um": "margin_um"},
             texts=("text", "font"))
    if s["text"] is None:
        raise LasergenError("text source: 'text' is required")
    if s["height_um"] / s["pitch_um"] > 20_000:
        raise LasergenError(f"text source: letters {s['height_um']:g} um tall at {s['pitch_um']:g} um pitch are "
                            f"{s['height_um'] / s['pitch_um']:.0f} px tall; at most 20000 (use a coarser pitch)")
    font = s["font"]
    if font and not Path(font).is_absolute() and (base_dir / font).is_file():
        font = str(base_dir / font)
    mask = render_text(str(s["text"]), round(s["height_um"] / s["pitch_um"]), font,
                       round(s["margin_um"] / s["pitch_um"]))
    return Artwork(mask, float(s["pitch_um"]), {"source": "text", "text": str(s["text"])})
