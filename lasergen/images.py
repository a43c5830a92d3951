"""Opening user images safely: one page, a size limit of our own, one-line errors.

Used by the bitmap source and the photo check. Pillow guards against decompression bombs with
a global pixel limit (`Image.MAX_IMAGE_PIXELS`, ~89 Mpx: a warning above it, an error above
twice it); that warning would leak raw to the user and its text names no way out. Here the
size is read from the header (Pillow opens lazily), compared with our own limit
(`max_megapixels`, default Pillow's), and refused with a line that says how large the image
is and how to allow it; Pillow's own guard is suspended only while the header is read, since
ours has replaced it; Pillow's other warnings (corrupt EXIF, truncated tags) refuse the file.
A multi-page file (TIFF, animated GIF) is refused unless a page is named:
taking page 0 silently could write the wrong image (or every page is mapped to a depth:
`page_count` tells how many there are).
"""

from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
from PIL import Image, UnidentifiedImageError

from lasergen import LasergenError

DEFAULT_MAX_MEGAPIXELS = (Image.MAX_IMAGE_PIXELS or 89_478_485) / 1e6


@contextmanager
def _own_size_check():
    saved = Image.MAX_IMAGE_PIXELS
    Image.MAX_IMAGE_PIXELS = None
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error")  # Pillow's warnings (corrupt EXIF, ...) refuse the file, never leak
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)  # our limit replaces it
            yield
    finally:
        Image.MAX_IMAGE_PIXELS = saved


def check_pixels(width: int, height: int, max_megapixels: float | None, what: str, allow: str) -> None:
    limit = DEFAULT_MAX_MEGAPIXELS if max_megapixels is None else max_megapixels
    if width * height > limit * 1e6:
        raise LasergenError(f"{what} is {width} x {height} = {width * height / 1e6:.0f} Mpx, above the "
                            f"{limit:.4g} Mpx limit (a guard against decompression bombs); {allow}")


def open_image(path: str | Path, what: str = "image", page: int | None = None,
               max_megapixels: float | None = None, allow: str = "pass --max-megapixels N to allow it",
               page_hint: str = "pass --page N to choose one") -> Image.Image:
    """The image at `path`, fully loaded, one page (`page`, or the only one)."""
    label = f"{what} {path}"
    try:
        return _open(path, label, page, max_megapixels, allow, page_hint)
    except FileNotFoundError:
        raise LasergenError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise LasergenError(f"{what} {path} is a folder, not an image file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Warning) as exc:
        raise LasergenError(f"cannot read {label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def page_count(path: str | Path, what: str = "image") -> int:
    """How many pages (frames) the image file holds, read from its header."""
    label = f"{what} {path}"
    try:
        with _own_size_check():
            with Image.open(path) as img:
                return int(getattr(img, "n_frames", 1))
    except FileNotFoundError:
        raise LasergenError(f"{what} not found: {path}") from None
    except IsADirectoryError:
        raise LasergenError(f"{what} {path} is a folder, not an image file") from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, EOFError, Warning) as exc:
        raise LasergenError(f"cannot read {label}: {str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None


def _open(path, label, page, max_megapixels, allow, page_hint) -> Image.Image:
    img = None
    try:
        with _own_size_check():
            img = Image.open(path)
        check_pixels(img.width, img.height, max_megapixels, label, allow)
        with _own_size_check():
            pages = getattr(img, "n_frames", 1)
        if page is None and pages > 1:
            raise LasergenError(f"{label} has {pages} pages; {page_hint} (0..{pages - 1})")
        if page is not None:
            if not 0 <= page < pages:
                raise LasergenError(f"{label}: page {page} does not exist (it has {pages}: 0..{pages - 1})")
            with _own_size_check():
                img.seek(page)
            check_pixels(img.width, img.height, max_megapixels, f"{label} page {page}", allow)
        with _own_size_check():
            img.load()
        return img
    except BaseException:
        if img is not None:
            img.close()
        raise


def wide_to_gray(img: Image.Image) -> Image.Image:
    """A 16/32-bit integer or float page -> 8-bit gray on its own full scale.

    Pillow's own conversion clips every value above 255 to white, so a 16-bit scan came out
    almost blank. Integer pages are taken on the 16-bit scale (PNG and TIFF 16-bit; a 32-bit
    page whose values pass 65535 on the 32-bit scale); float pages on 0..1 (0..255 if any
    value passes 1).
    """
    values = np.asarray(img, dtype=np.float64)
    top = float(values.max()) if values.size else 0.0
    if img.mode == "F":
        full = 1.0 if top <= 1.0 else 255.0
    else:
        full = 65535.0 if top <= 65535 else 4294967295.0
    return Image.fromarray(np.clip(np.rint(values / full * 255.0), 0, 255).astype(np.uint8), "L")
