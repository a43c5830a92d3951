"""Multi-level patterns: name what each view must show, derive the exposure layers from that.

    [levels]
    daylight = "nothing"                 # written glass shows no pattern in daylight
    accept_leak = false                  # see below
    [levels.uv365]        source = {...}, offset_px = [r, c]   # glows under the 365 nm lamp
    [levels.uv365_lp645]  source = {...}, offset_px = [r, c]   # glows behind a 645 nm long-pass
    [levels.uv365_lp660]  same_as = "uv365_lp645"              # optional further filters

The glass has two luminescent states (PHYSICS.md B.5): written once (green + 613 nm red) and
rewritten (655 nm red). So the layers are: `write` = the UV view, `rewrite` = the filtered
view. A filtered pixel that is not written cannot glow (a first pass on fresh glass only makes
it single-pass), so a filtered view must be a subset of the UV view; with `accept_leak` its
extra pixels are written too and therefore also glow under plain UV (the leak, recorded in the
manifest). Every further filtered view must show one of the two states (`same_as` a view, or a
source equal to one of them); which edge passes which state is the simulator's business
(`hardware_sim.glass.process_advice.level_warnings`). The intended views travel in the manifest (`promises.levels`,
masks zlib-compressed bit-packed base64) so `verify` can compare each render with its target.

Depth is a further level: `[[levels.planes]]` tables, each a `depth_um` and its own views, say
what a reader focused at that depth sees (e.g. at 150 um the UV view shows a QR code, at 350 um
the word "VOID"); each plane is written at its depth and `verify` checks each plane's views in
the renders focused there (`hardware_sim.glass.level_views`).
"""

from __future__ import annotations

import base64
import re
import zlib
from pathlib import Path

import numpy as np

from lasergen import LasergenError
from lasergen.pattern import Layer, Pattern
from lasergen.sources import make_artwork

UV_VIEW = "uv365"
PRIMARY_FILTERED = "uv365_lp645"
VIEW_NAME = re.compile(r"^uv365(?:_lp(\d+(?:\.\d+)?))?$")
VIEW_KEYS = {"source", "offset_px", "same_as"}
LEVEL_KEYS = {"daylight", "accept_leak"}
NOTHING = ("nothing", "none", "")


def pack_mask(mask: np.ndarray) -> str:
    return base64.b64encode(zlib.compress(np.packbits(mask.astype(bool)).tobytes(), 9)).decode()


def unpack_mask(text: str, shape) -> np.ndarray:
    bits = np.unpackbits(np.frombuffer(zlib.decompress(base64.b64decode(text)), dtype=np.uint8))
    return bits[:int(np.prod(shape))].reshape(shape).astype(bool)


def filter_edge_nm(view: str) -> float | None:
    match = VIEW_NAME.match(view)
    return float(match.group(1)) if match and match.group(1) else None


def describe_region(mask: np.ndarray, pitch_um: float) -> str:
    """'N px (A um^2) in rows r0..r1, cols c0..c1' for error messages."""
    rows, cols = np.nonzero(mask)
    return (f"{rows.size} px ({rows.size * pitch_um ** 2:.0f} µm²) in rows {rows.min()}..{rows.max()}, "
            f"cols {cols.min()}..{cols.max()} (x {cols.min() * pitch_um:.0f}..{(cols.max() + 1) * pitch_um:.0f} µm, "
            f"from the top {rows.min() * pitch_um:.0f}..{(rows.max() + 1) * pitch_um:.0f} µm)")


def _read_views(levels: dict) -> dict[str, dict]:
    unknown = [k for k in levels if k not in LEVEL_KEYS and not VIEW_NAME.match(k)]
    if unknown:
        raise LasergenError(f"levels: unknown view(s) or key(s) {', '.join(sorted(unknown))}; known: accept_leak, daylight, "
                            f"uv365, uv365_lpNNN (a long-pass edge in nm)")
    day = levels.get("daylight", "nothing")
    if not isinstance(day, str) or day.lower() not in NOTHING:
        raise LasergenError("levels: daylight must show 'nothing': written glass shows no pattern in daylight")
    views = {k: v for k, v in levels.items() if VIEW_NAME.match(k)}
    if UV_VIEW not in views:
        raise LasergenError("levels: [levels.uv365] is required (what glows under the UV lamp)")
    for name, view in views.items():
        if not isinstance(view, dict):
            raise LasergenError(f"levels.{name}: must be a table with 'source' or 'same_as'")
        bad = set(view) - VIEW_KEYS
        if bad:
            raise LasergenError(f"levels.{name}: unknown key(s) {', '.join(sorted(bad))}; known: {', '.join(sorted(VIEW_KEYS))}")
        if ("source" in view) == ("same_as" in view):
            raise LasergenError(f"levels.{name}: give exactly one of 'source' or 'same_as'")
        if "same_as" in view and view["same_as"] not in views:
            raise LasergenError(f"levels.{name}: same_as {view['same_as']!r} is not a view of this spec")
    return views


def _primary_filtered(views: dict) -> str | None:
    filtered = sorted((filter_edge_nm(v), v) for v in views if filter_edge_nm(v) is not None)
    if PRIMARY_FILTERED in views:
        return PRIMARY_FILTERED
    return filtered[0][1] if filtered else None


def view_masks(views: dict, base_dir: Path, pitch_um: float | None):
    """Each view's mask on one common canvas, plus artwork metas and the pitch."""
    from lasergen.composition import offset_of, place_on_canvas

    sourced = [name for name, v in views.items() if "source" in v]
    arts = {name: make_artwork(views[name]["source"], base_dir) for name in sourced}
    pitch = float(pitch_um if pitch_um is not None else arts[UV_VIEW].pitch_um if UV_VIEW in arts
                  else next(iter(arts.values())).pitch_um)
    for name, art in arts.items():
        if abs(art.pitch_um - pitch) > 1e-9:
            raise LasergenError(f"levels.{name}: pitch {art.pitch_um} um differs from the pattern's {pitch} um")
    offsets = [offset_of(views[name], f"levels.{name}") for name in sourced]
    placed = dict(zip(sourced, place_on_canvas([(arts[n].mask, o) for n, o in zip(sourced, offsets)])))
    masks = dict(placed)
    for _ in views:  # resolve same_as chains
        for name, v in views.items():
            if name not in masks and v.get("same_as") in masks:
                masks[name] = masks[v["same_as"]]
    if len(masks) != len(views):
        raise LasergenError(f"levels: circular same_as among {', '.join(sorted(set(views) - set(masks)))}")
    return masks, {n: a.meta for n, a in arts.items()}, pitch


def _plane_states(views: dict, masks: dict, pitch: float, accept: bool, where: str = "levels"):
    """(written, rewrite, leak, records) of one set of views: the layers they need and what each view
    promises (`records`, one per view: the state it shows and its mask)."""
    uv = masks[UV_VIEW]
    primary = _primary_filtered(views)
    rewrite = masks[primary] if primary else np.zeros_like(uv)
    leak = rewrite & ~uv
    if leak.any() and not accept:
        raise LasergenError(f"{where}: {primary} shows {describe_region(leak, pitch)} that uv365 does not; a filtered "
                            f"view must be a subset of the UV view (or set accept_leak = true: they will glow under UV too)")
    written = uv | rewrite
    states = {"written": written, "rewritten": rewrite}
    records = {}
    for name in views:
        edge = filter_edge_nm(name)
        if name == UV_VIEW:
            state = "written"
        elif name == primary:
            state = "rewritten"
        else:
            state = next((s for s, m in states.items() if np.array_equal(masks[name], m)), None)
            if state is None:
                diff = masks[name] ^ rewrite
                raise LasergenError(f"{where}: {name} matches neither the written nor the rewritten pixels (differs from "
                                    f"{primary} by {describe_region(diff, pitch)}); the glass has only these two states")
        records[name] = {"shows": state, "filter_nm": edge, "pixels": int(states[state].sum()),
                         "area_um2": round(float(states[state].sum()) * pitch ** 2, 1), "mask": pack_mask(states[state])}
    return written, rewrite, leak, records


def _accept_leak(levels: dict) -> bool:
    accept = levels.get("accept_leak", False)
    if not isinstance(accept, bool):
        raise LasergenError(f"levels: accept_leak must be true or false, got {accept!r}")
    return accept


def pattern_from_levels(spec: dict, base_dir: Path = Path(".")) -> Pattern:
    from lasergen.composition import recipes_from_spec, spec_head

    if spec.get("layers"):
        raise LasergenError("spec: give either [levels] or [[layers]], not both")
    head = spec_head(spec)
    levels = spec["levels"]
    if not isinstance(levels, dict):
        raise LasergenError("spec: [levels] must be a table of views")
    if "planes" in levels:
        return _pattern_in_depth(spec, levels, head, base_dir)
    views = _read_views(levels)
    masks, metas, pitch = view_masks(views, base_dir, head["pitch_um"])
    accept = _accept_leak(levels)
    written, rewrite, leak, records = _plane_states(views, masks, pitch, accept)
    records = {"daylight": {"shows": "nothing"}, **records}
    layers = [Layer(written, "write", "write")]
    if rewrite.any():
        layers.append(Layer(rewrite, "rewrite", "rewrite"))
    meta = {"layers": [metas[n] for n in metas]}
    qr_meta = metas.get(UV_VIEW) if metas.get(UV_VIEW, {}).get("source") == "qr" else None
    if qr_meta:
        meta.update(qr_meta)
    meta["levels"] = {"shape": list(written.shape), "pitch_um": pitch, "accept_leak": accept,
                      "leak_px": int(leak.sum()), "views": records}
    meta["material"] = head["material"]
    return Pattern(pitch, layers, head["origin_mm"], recipes_from_spec(spec), meta)


PLANE_KEYS = {"depth_um"}


def _pattern_in_depth(spec: dict, levels: dict, head: dict, base_dir: Path) -> Pattern:
    """Levels in depth: `[[levels.planes]]`, each a depth_um and the views seen when the reader
    focuses there. All planes share one canvas; each plane's layers (write, rewrite) are written
    at its depth, and the manifest promises each plane's views at its depth
    (`levels.planes[i] = {depth_um, views}`), daylight nothing over all of them."""
    from lasergen.composition import recipes_from_spec
    from lasergen.quantities import checked

    planes = levels["planes"]
    extra = set(levels) - LEVEL_KEYS - {"planes"}
    if extra:
        raise LasergenError(f"levels: with [[levels.planes]] the views go inside each plane, not beside them "
                            f"({', '.join(sorted(extra))})")
    if not isinstance(planes, list) or not planes or not all(isinstance(p, dict) for p in planes):
        raise LasergenError("levels.planes: must be an array of tables ([[levels.planes]]), each a depth_um and views")
    day = {"daylight": levels["daylight"]} if "daylight" in levels else {}
    depths, plane_views, merged = [], [], {}
    for i, plane in enumerate(planes):
        where = f"levels.planes[{i}]"
        if "depth_um" not in plane:
            raise LasergenError(f"{where}: depth_um is required (below the glass surface, um)")
        depths.append(checked("depth_um", plane["depth_um"], f"{where} depth_um"))
        views = _read_views({**day, **{k: v for k, v in plane.items() if k not in PLANE_KEYS}})
        plane_views.append(views)
        for name, view in views.items():  # one canvas for every plane's sources
            merged[f"{i}:{name}"] = {**view, "same_as": f"{i}:{view['same_as']}"} if "same_as" in view else view
    if len(set(depths)) != len(depths):
        raise LasergenError(f"levels.planes: two planes at the same depth ({', '.join(f'{d:g}' for d in depths)} um)")
    masks, metas, pitch = view_masks(merged, base_dir, head["pitch_um"])
    accept = _accept_leak(levels)
    layers, records, union = [], [], None
    meta_layers = []
    for i, (depth, views) in enumerate(zip(depths, plane_views)):
        own = {name: masks[f"{i}:{name}"] for name in views}
        written, rewrite, leak, views_record = _plane_states(views, own, pitch, accept, f"levels.planes[{i}]")
        layers.append(Layer(written, "write", f"write@{depth:g}um", depth_um=depth))
        if rewrite.any():
            layers.append(Layer(rewrite, "rewrite", f"rewrite@{depth:g}um", depth_um=depth))
        records.append({"depth_um": depth, "leak_px": int(leak.sum()), "views": views_record})
        union = written if union is None else union | written
        meta_layers += [{**metas[k], "depth_um": depth} for k in metas if k.startswith(f"{i}:")]
    meta = {"layers": meta_layers, "material": head["material"],
            "levels": {"shape": list(union.shape), "pitch_um": pitch, "accept_leak": accept,
                       "views": {"daylight": {"shows": "nothing"}}, "written_mask": pack_mask(union),
                       "planes": records}}
    return Pattern(pitch, layers, head["origin_mm"], recipes_from_spec(spec), meta)


def expected_views(levels_meta: dict) -> dict[str, np.ndarray]:
    """View name -> target mask from a manifest's levels; daylight's target is all False.

    Views without a stored mask (a keyed hidden layer: only the key holder knows it) are left out.
    """
    shape = tuple(levels_meta["shape"])
    out = {name: unpack_mask(v["mask"], shape) for name, v in levels_meta["views"].items() if "mask" in v}
    out["daylight"] = np.zeros(shape, dtype=bool)
    return out
