"""Verify: check what a job promises against the predicted renders, like a user with a lamp.

QR promises are read from the UV render with a real decoder (zxing-cpp), never from the
toolpath. The decode margin says how much degradation the image survives: the largest
Gaussian blur (sigma, in um on the sample) and the largest additive Gaussian noise (sigma, as a
fraction of full scale, fixed seed) at which it still decodes, each searched over a ladder.
`check_views(prediction, promises)` returns one ViewCheck per promise; `level_views` adds the
multi-level views (what each view must and must not show) and keyed/signed tags.

Every check has a `status` that says what was done: `ok` (checked and passed), `fail`,
`warning` (passed without a margin: a QR that decodes but not after the first step of blur or
noise) or `unchecked` (promised, but nothing here could check it, e.g. a keyed layer without
its key). `ok` only ever follows a check that was performed; `ok` (the boolean) is false only
for a failure, so an unchecked promise never fails a job, nor passes for checked.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import zxingcpp
from PIL import Image
from scipy import ndimage

BLUR_LADDER_PX = (0.5, 1.0, 1.5, 2.0, 3.0, 4.0, 6.0, 8.0, 12.0)
NOISE_LADDER = (0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5)
QR_VIEW = "uv365"


@dataclass
class ViewCheck:
    view: str
    kind: str                    # what was checked, e.g. "qr"
    expected: str | None
    found: list[str]
    ok: bool
    margin: dict = field(default_factory=dict)
    message: str = ""
    status: str = ""             # ok, fail, warning, unchecked (default: from `ok`)

    def to_dict(self) -> dict:
        out = asdict(self)
        out["status"] = self.status or ("ok" if self.ok else "fail")
        return out


def gray(image) -> np.ndarray:
    """8-bit luminance of an image path, PIL image or RGB/gray array."""
    if isinstance(image, (str, Path)):
        image = Image.open(image)
    if isinstance(image, Image.Image):
        return np.asarray(image.convert("L"))
    a = np.asarray(image)
    if a.ndim == 3:
        a = (a[..., :3].astype(np.float32) @ np.array([0.299, 0.587, 0.114], np.float32)).round().astype(np.uint8)
    return np.ascontiguousarray(a.astype(np.uint8))


def brightest_channel(image) -> np.ndarray | None:
    """Max over R, G, B: how a reader working on one colour channel sees glow of any colour
    (a rewritten module glows red, which luminance renders darker than the green-red ones)."""
    a = np.asarray(Image.open(image).convert("RGB") if isinstance(image, (str, Path)) else image)
    return np.ascontiguousarray(a[..., :3].max(axis=2).astype(np.uint8)) if a.ndim == 3 else None


def decode_qr(image, channels: bool = True) -> list[str]:
    """Texts of the QR codes zxing-cpp finds (light-on-dark accepted): from luminance, as most
    readers do, else from the brightest colour channel."""
    formats = (zxingcpp.BarcodeFormat.QRCode, zxingcpp.BarcodeFormat.MicroQRCode)
    found = [r.text for r in zxingcpp.read_barcodes(gray(image), formats=formats, try_invert=True)]
    if not found and channels and (bright := brightest_channel(image)) is not None:
        found = [r.text for r in zxingcpp.read_barcodes(bright, formats=formats, try_invert=True)]
    return found


def _largest_passing(ladder, degrade, expected: str) -> float:
    best = 0.0
    for level in ladder:
        if expected not in decode_qr(degrade(level)):
            break
        best = level
    return best


def decode_margin(image, expected: str, um_per_px: float) -> dict:
    g = gray(image).astype(np.float32)
    rng = np.random.default_rng(0)
    noise = rng.standard_normal(g.shape).astype(np.float32)
    blur_px = _largest_passing(BLUR_LADDER_PX, lambda s: ndimage.gaussian_filter(g, s).round().astype(np.uint8), expected)
    noise_sigma = _largest_passing(NOISE_LADDER, lambda s: np.clip(g + 255 * s * noise, 0, 255).astype(np.uint8), expected)
    return {"blur_sigma_px": blur_px, "blur_sigma_um": blur_px * um_per_px, "noise_sigma": noise_sigma,
            "blur_ladder_px": list(BLUR_LADDER_PX), "noise_ladder": list(NOISE_LADDER)}


def promised_items(promises: dict | list | None) -> list[dict]:
    """Flatten a manifest's promises (top level and per layer) into unique items with a source."""
    if not promises:
        return []
    items = promises if isinstance(promises, list) else [promises, *promises.get("layers", [])]
    seen, out = set(), []
    for item in items:
        if not isinstance(item, dict) or "source" not in item:
            continue
        key = (item["source"], str(item.get("payload", item.get("text", ""))))
        if key not in seen:
            seen.add(key)
            out.append(item)
    return out


def check_qr(prediction, promise: dict, margin: bool = True) -> ViewCheck:
    """The promised payload decoded from the UV render; a promise at a depth (a job in depth)
    from the render focused at that depth with the prediction's reading optics."""
    depth = promise.get("depth_um")
    view, seen = QR_VIEW, prediction
    if depth is not None:
        from hardware_sim.glass.depth_view import focused_at, render_name

        view, seen = render_name(QR_VIEW, depth), focused_at(prediction, float(depth), prediction.reader)
    rendered = seen.render(QR_VIEW)
    expected = str(promise.get("payload"))
    found = decode_qr(rendered.rgb)
    by_luminance = expected in decode_qr(rendered.rgb, channels=False)
    ok = expected in found
    result = ViewCheck(view, "qr", expected, found, ok)
    if ok and margin:
        result.margin = decode_margin(rendered.rgb, expected, rendered.um_per_px)
    result.message = (f"QR decodes to the promised payload under {view}"
                      + ("" if by_luminance else " (from the brightest colour channel; not from luminance)") if ok else
                      f"QR under {view} " + (f"decodes to {found!r}, not the promised payload" if found
                                               else "does not decode"))
    m = result.margin
    if ok and m and (m["blur_sigma_px"] == 0 or m["noise_sigma"] == 0):
        fails = [f"blur {BLUR_LADDER_PX[0]:g} px" if m["blur_sigma_px"] == 0 else "",
                 f"noise {NOISE_LADDER[0]:g}" if m["noise_sigma"] == 0 else ""]
        result.status = "warning"
        result.message += f", but with no margin: it stops decoding at {' and '.join(f for f in fails if f)}"
    return result


def check_shape(prediction, promise: dict, margin: bool = True) -> ViewCheck:
    from hardware_sim.glass.shape_check import check_shape as check  # vector jobs' region (IoU)
    return check(prediction, promise, margin)


CHECKS = {"qr": check_qr, "shape": check_shape}


def check_views(prediction, promises, margin: bool = True) -> list[ViewCheck]:
    """One ViewCheck per checkable promise; promises no check knows are reported as unchecked."""
    out = []
    for item in promised_items(promises):
        check = CHECKS.get(item["source"])
        if check is None:
            out.append(ViewCheck("-", str(item["source"]), None, [], True, status="unchecked",
                                 message=f"no automatic check for a {item['source']!r} promise"))
        else:
            out.append(check(prediction, item, margin))
    return out


def check_job(prediction, manifest: dict, key: bytes | None = None, public_key=None,
              margin: bool = True) -> list[dict]:
    """Everything a job promises, checked on its prediction: QR payloads (with decode margin),
    multi-level views and keyed/signed tags. One dict per check: view, kind, ok, message."""
    from hardware_sim.glass.level_views import check_prediction

    checks = [c.to_dict() for c in check_views(prediction, manifest.get("promises"), margin=margin)]
    checks += check_prediction(prediction, manifest, key, public_key)
    if getattr(prediction, "in_depth", False):  # planes the reading optics cannot tell apart
        from hardware_sim.glass.depth_view import plane_depths_um, reader, too_close

        for message in too_close(plane_depths_um(prediction), reader(prediction.reader), prediction.material):
            checks.append(ViewCheck("depth", "planes", None, [], True, status="warning", message=message).to_dict())
    # promises no check knows (e.g. the letters of a levels spec) matter only if nothing else was checked
    checked = [c for c in checks if c["view"] != "-"]
    return checked or checks


LABELS = {"ok": "ok       ", "fail": "FAIL     ", "warning": "warning  ", "unchecked": "unchecked"}


def status_of(check: dict) -> str:
    return check.get("status") or ("ok" if check["ok"] else "fail")


def describe(check: dict) -> str:
    """One line for a check: its status (ok only for a check performed), message and, for a QR,
    the decode margin."""
    margin = check.get("margin") or {}
    extra = f" (survives blur {margin['blur_sigma_um']:g} um, noise {margin['noise_sigma']:g})" if margin else ""
    return f"{LABELS[status_of(check)]} {check['message']}{extra}"


def summary(checks: list[dict]) -> str:
    counts = {s: sum(status_of(c) == s for c in checks) for s in LABELS}
    return "verified: " + ", ".join(f"{n} {s}" for s, n in counts.items() if n)
