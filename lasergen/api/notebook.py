"""Pictures for notebooks: PNG bytes, an HTML figure with a caption, views side by side, and
the toolpath preview (`lasergen.preview`) as an image rather than a file."""

from __future__ import annotations

import base64
import html
import io

PAD_PX = 8
MAX_SIDE_BY_SIDE_PX = 640  # each panel of a side-by-side figure, at most (notebooks stay light)


def png_bytes(image) -> bytes:
    buf = io.BytesIO()
    image.save(buf, format="PNG", compress_level=1)
    return buf.getvalue()


def figure_html(image, caption: str) -> str:
    data = base64.b64encode(png_bytes(image)).decode()
    return (f'<figure style="margin:0"><img src="data:image/png;base64,{data}"/>'
            f"<figcaption><code>{html.escape(caption)}</code></figcaption></figure>")


def side_by_side(panels: list[tuple]):
    """Images in one row, each titled (its view name) above, scaled to a common height."""
    from PIL import Image, ImageDraw

    images = []
    for image, title in panels:
        scale = min(1.0, MAX_SIDE_BY_SIDE_PX / max(image.size))
        if scale < 1.0:
            image = image.resize((max(1, round(image.width * scale)), max(1, round(image.height * scale))))
        images.append((image.convert("RGB"), title))
    height = max(im.height for im, _ in images)
    title_px = 18
    out = Image.new("RGB", (sum(im.width for im, _ in images) + PAD_PX * (len(images) + 1), height + title_px + PAD_PX),
                    (255, 255, 255))
    draw = ImageDraw.Draw(out)
    x = PAD_PX
    for image, title in images:
        draw.text((x, 3), title, fill=(20, 20, 20))
        out.paste(image, (x, title_px))
        x += image.width + PAD_PX
    return out


def toolpath_preview(toolpath, colour_by: str = "energy", size_px: int = 768, travel: bool = True):
    """`lasergen.preview.draw_preview` into memory: the PIL image."""
    from PIL import Image

    from lasergen.preview import draw_preview

    buf = io.BytesIO()
    buf.name = "preview.png"  # PIL picks the format from the name
    draw_preview(toolpath, buf, colour_by, size_px, travel)
    buf.seek(0)
    return Image.open(buf)


def mask_image(masks: list, pitch_um: float):
    """A pattern's raster layers as one image: black ink, each later layer a colour of its own."""
    import numpy as np
    from PIL import Image

    colours = np.array([(0, 0, 0), (200, 30, 30), (30, 90, 200), (20, 150, 60), (160, 60, 160)], dtype=np.uint8)
    rgb = np.full(masks[0].shape + (3,), 255, dtype=np.uint8)
    for i, mask in enumerate(masks):
        rgb[mask] = colours[min(i, len(colours) - 1)]
    image = Image.fromarray(rgb)
    scale = max(1, min(8, 512 // max(rgb.shape[:2])))
    return image.resize((image.width * scale, image.height * scale), Image.NEAREST) if scale > 1 else image
