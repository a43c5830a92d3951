"""Multi-level and security checks on simulator renders (part of `verify.check_job`).

For a job whose
manifest promises levels, every promised view is rendered (a further long-pass edge such as
uv365_lp660 is rendered by swapping the filter on the same prediction, no re-simulation) and
compared cell by cell with its target (`levelcheck`); levels in depth (`levels.planes`) are
checked plane by plane in the renders focused at each plane's depth. For a keyed or signed tag the UV and
filtered renders go through the very same photo check as a phone picture (`tagcheck`), with the
hidden key from $LASERGEN_KEY and the public key from $LASERGEN_PUBKEY (a PEM path) when set.
"""

from __future__ import annotations

import os
from dataclasses import replace

from lasergen import LasergenError
from lasergen.levelcheck import Frame, check_levels
from lasergen.levels import filter_edge_nm
from lasergen.security import hidden, signing
from lasergen.security.tagcheck import check_photos

PUBKEY_ENV = "LASERGEN_PUBKEY"


def frame_of(prediction, rendered) -> Frame:
    g = prediction.grid
    return Frame(g.x0_mm, g.y0_mm + rendered.rgb.shape[0] * rendered.um_per_px / 1000.0, rendered.um_per_px)


def with_filter(prediction, edge_nm: float | None):
    """The same prediction seen through a long-pass filter of another edge (no re-simulation)."""
    from hardware_sim.glass import optics

    return prediction if edge_nm is None else replace(prediction, views=optics.views(filter_edge_nm=edge_nm))


def render_views(prediction, names) -> tuple[dict, dict]:
    images, frames = {}, {}
    for name in names:
        source = prediction if name in prediction.views else with_filter(prediction, filter_edge_nm(name))
        if name not in source.views:
            continue
        rendered = source.render(name)
        images[name], frames[name] = rendered.rgb, frame_of(prediction, rendered)
    return images, frames


def check_planes(prediction, manifest: dict, planes: list[dict]) -> list[dict]:
    """Levels in depth: each plane's views in the renders focused at its depth (the prediction's
    reading optics), reported as `<view>@<depth>um`."""
    from hardware_sim.glass.depth_view import focused_at, render_name

    out = []
    for plane in planes:
        depth = float(plane["depth_um"])
        seen = focused_at(prediction, depth, prediction.reader)
        names = [n for n, v in plane["views"].items() if "mask" in v]
        images, frames = render_views(seen, names)
        at_depth = {**manifest, "promises": {"levels": {**manifest["promises"]["levels"], "views": plane["views"]}}}
        at_depth["promises"]["levels"].pop("written_mask", None)
        for result in (r for r in check_levels(images, frames, at_depth) if r["view"] != "daylight"):
            view = render_name(result["view"], depth)
            out.append({**result, "view": view, "message": result["message"].replace(result["view"], view, 1)})
    return out


def keys_from_env() -> tuple[bytes | None, object | None]:
    key = hidden.load_key() if os.environ.get(hidden.KEY_ENV) else None
    pub_path = os.environ.get(PUBKEY_ENV)
    return key, (signing.load_public_key(pub_path) if pub_path else None)


def tag_check(prediction, promises: dict, key: bytes | None, public_key) -> dict:
    filtered = next((n for n in prediction.views if n.startswith("uv365_")), None)
    images, _ = render_views(prediction, ["uv365"] + ([filtered] if filtered else []))
    use_key = key if "hidden" in promises else None
    fraction = promises.get("hidden", {}).get("fraction", hidden.DEFAULT_FRACTION)
    result = check_photos(images["uv365"], images.get(filtered), use_key, public_key if "signed" in promises else None,
                          fraction)
    status = {"genuine": "ok", "not_authenticated": "unchecked"}.get(result["status"], "fail")
    return {"view": f"uv365+{filtered}", "kind": "tag", "ok": status != "fail", "status": status,
            "confidence": result["confidence"], "checks": result["checks"], "message": result["verdict"]}


def unchecked_tag_promises(promises: dict, key, public_key) -> list[dict]:
    """One `unchecked` entry per tag promise that no key was given to check."""
    missing = {"hidden": (key, f"keyed hidden layer not checked: no key (--key or ${hidden.KEY_ENV})"),
               "signed": (public_key, f"signature not checked: no public key (--pubkey or ${PUBKEY_ENV})")}
    return [{"view": "uv365+filtered", "kind": f"tag-{what}", "ok": True, "status": "unchecked", "message": text}
            for what, (have, text) in missing.items() if what in promises and have is None]


def check_prediction(prediction, manifest: dict, key: bytes | None = None, public_key=None) -> list[dict]:
    """Level and tag results (dicts with view, kind, ok, message) for everything the job promises."""
    promises = manifest.get("promises", {}) or {}
    out = []
    levels = promises.get("levels")
    if levels:
        names = [n for n, v in levels["views"].items() if "mask" in v or n == "daylight"]
        images, frames = render_views(prediction, names)
        out += check_levels(images, frames, manifest)
        out += check_planes(prediction, manifest, levels.get("planes") or [])
    if "hidden" in promises or "signed" in promises:
        if key is None and public_key is None:
            key, public_key = keys_from_env()
        try:
            out.append(tag_check(prediction, promises, key, public_key))
        except LasergenError as exc:  # e.g. the render does not decode: a failed check, not a crash
            out.append({"view": "uv365+filtered", "kind": "tag", "ok": False, "status": "fail", "confidence": 0.0,
                        "checks": {}, "message": f"REJECTED: {exc}"})
        out += unchecked_tag_promises(promises, key, public_key)
    return out
