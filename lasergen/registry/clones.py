"""Clone flags: scans of one serial that a single genuine tag cannot explain.

A copied tag (a filtered close-up photographed and rewritten) passes every optical check, so
what gives it away is where and how often its serial turns up. The rules, each with its
threshold in RULES:
  travel     two consecutive scans with coordinates, more than `same_place_km` apart, closer
             in time than `max_travel_km_h` allows (great-circle distance, haversine);
  place      two consecutive scans at differently named places without coordinates, less
             than `min_place_change_s` apart;
  rate       more than `max_scans_per_day` scans in any 24 h window (sliding, numpy);
  state      a serial this registry never issued, one never written, or one voided;
  signature  a scan whose signature check failed: a forgery bearing a real serial.
`assess` is a pure function of the tag's state and its scans, so `registry show` recomputes
the reasons with the rules in force.
"""

from __future__ import annotations

import math
import re

import numpy as np

from lasergen import LasergenError

RULES = {"max_travel_km_h": 1000.0, "same_place_km": 25.0, "min_place_change_s": 3600.0, "max_scans_per_day": 24}
EARTH_RADIUS_KM = 6371.0
_COORDS = re.compile(r"^\s*(-?\d+(?:\.\d+)?)\s*,\s*(-?\d+(?:\.\d+)?)\s*$")

STATE_REASONS = {
    None: "serial not issued by this registry: a genuine tag carries an issued serial",
    "planned": "scanned although the registry says it was never written",
    "void": "scanned after it was voided",
}


def parse_place(text: str | None) -> tuple[str | None, float | None, float | None]:
    """'Lyon', '45.76,4.84' or 'Lyon@45.76,4.84' -> (name, lat, lon)."""
    if text is None or not text.strip():
        return None, None, None
    name, _, coords = text.rpartition("@") if "@" in text else ("", "", text)
    match = _COORDS.match(coords)
    if match is None:
        if "@" in text:
            raise LasergenError(f"--place {text!r}: expected NAME@LAT,LON with numbers in degrees")
        return text.strip(), None, None
    lat, lon = float(match.group(1)), float(match.group(2))
    if not (-90 <= lat <= 90 and -180 <= lon <= 180):
        raise LasergenError(f"--place {text!r}: latitude must be in -90..90 and longitude in -180..180")
    return (name.strip() or None), lat, lon


def distance_km(a: dict, b: dict) -> float:
    lat1, lon1, lat2, lon2 = map(math.radians, (a["lat"], a["lon"], b["lat"], b["lon"]))
    h = math.sin((lat2 - lat1) / 2) ** 2 + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    return 2 * EARTH_RADIUS_KM * math.asin(min(1.0, math.sqrt(h)))


def _where(scan: dict) -> str:
    if scan.get("lat") is None:
        return scan["place"]
    coords = f"{scan['lat']:.4g},{scan['lon']:.4g}"
    return f"{scan['place']} ({coords})" if scan.get("place") else coords


def _minutes(dt_s: float) -> str:
    if dt_s < 120:
        return f"{dt_s:.0f} s"
    return f"{dt_s / 60:.0f} min" if dt_s < 7200 else f"{dt_s / 3600:.1f} h"


def travel_reasons(scans: list[dict], rules: dict) -> list[str]:
    out = []
    located = [s for s in scans if s.get("lat") is not None]
    for a, b in zip(located, located[1:]):
        km, dt_s = distance_km(a, b), max(b["at"] - a["at"], 1.0)
        if km > rules["same_place_km"] and km / (dt_s / 3600) > rules["max_travel_km_h"]:
            out.append(f"travel: scanned at {_where(a)} and {_where(b)}, {km:.0f} km apart within {_minutes(dt_s)}: "
                       f"{km / (dt_s / 3600):.0f} km/h needed, a tag travels at most {rules['max_travel_km_h']:.0f} km/h")
    named = [s for s in scans if s.get("place") and s.get("lat") is None]
    for a, b in zip(named, named[1:]):
        dt_s = b["at"] - a["at"]
        if a["place"].casefold() != b["place"].casefold() and dt_s < rules["min_place_change_s"]:
            out.append(f"place: scanned at {a['place']} and at {b['place']} {_minutes(dt_s)} apart (at least "
                       f"{_minutes(rules['min_place_change_s'])} between two places without coordinates)")
    return out


def rate_reason(scans: list[dict], rules: dict) -> list[str]:
    times = np.sort(np.array([s["at"] for s in scans], dtype=float))
    if times.size <= rules["max_scans_per_day"]:
        return []
    in_window = np.searchsorted(times, times + 86400.0, side="left") - np.arange(times.size)
    peak = int(in_window.max())
    if peak <= rules["max_scans_per_day"]:
        return []
    return [f"rate: {peak} scans within 24 h (a genuine tag is checked at most {rules['max_scans_per_day']} times a day)"]


def assess(state: str | None, scans: list[dict], rules: dict | None = None) -> list[str]:
    """Why these scans look like more than one tag (empty: nothing suspicious)."""
    rules = {**RULES, **(rules or {})}
    scans = sorted(scans, key=lambda s: s["at"])
    reasons = [f"state: {STATE_REASONS[state]}"] if state in STATE_REASONS and scans else []
    bad = [s for s in scans if s.get("signature_ok") is False]
    if bad:
        reasons.append(f"signature: {len(bad)} scan(s) carried this serial with a signature that does not verify")
    return reasons + travel_reasons(scans, rules) + rate_reason(scans, rules)

