"""Clone flags: travel a genuine tag cannot make, place changes, scan rates, impossible states."""

import pytest

from lasergen import LasergenError
from lasergen.registry.clones import RULES, assess, parse_place

LYON = {"place": "Lyon", "lat": 45.76, "lon": 4.84}
PARIS = {"place": "Paris", "lat": 48.86, "lon": 2.35}  # 392 km from Lyon
HOUR = 3600.0


def scan(at, place=None, **extra):
    return {"at": at, "place": None, "lat": None, "lon": None, **(place or {}), **extra}


def test_a_tag_travelling_by_train_is_fine_a_tag_in_two_cities_at_once_is_not():
    assert assess("shipped", [scan(0, LYON), scan(2 * HOUR, PARIS)]) == []
    reasons = assess("shipped", [scan(0, LYON), scan(600, PARIS)])
    assert len(reasons) == 1 and reasons[0].startswith("travel: scanned at Lyon (45.76,4.84) and Paris")
    assert "392 km apart within 10 min" in reasons[0] and "2355 km/h needed" in reasons[0]
    # nearby scans (same city, GPS noise) are never travel
    assert assess("shipped", [scan(0, LYON), scan(1, {"lat": 45.80, "lon": 4.80})]) == []


def test_named_places_without_coordinates():
    assert assess("shipped", [scan(0, {"place": "Shop 1"}), scan(5 * 60, {"place": "shop 1"})]) == []
    reasons = assess("shipped", [scan(0, {"place": "Shop 1"}), scan(5 * 60, {"place": "Warehouse"})])
    assert reasons == ["place: scanned at Shop 1 and at Warehouse 5 min apart (at least 60 min between two places "
                       "without coordinates)"]
    assert assess("shipped", [scan(0, {"place": "Shop 1"}), scan(2 * HOUR, {"place": "Warehouse"})]) == []


def test_scan_rate_over_any_24_hours():
    limit = RULES["max_scans_per_day"]
    steady = [scan(i * HOUR) for i in range(3 * limit)]  # one an hour for three days: 24 a day
    assert assess("shipped", steady) == []
    burst = steady + [scan(30 * HOUR + i) for i in range(5)]
    assert assess("shipped", burst) == [f"rate: {limit + 5} scans within 24 h (a genuine tag is checked at most "
                                        f"{limit} times a day)"]


def test_states_no_genuine_tag_can_be_in():
    assert assess(None, [scan(0)])[0].startswith("state: serial not issued by this registry")
    assert assess("planned", [scan(0)]) == ["state: scanned although the registry says it was never written"]
    assert assess("void", [scan(0)]) == ["state: scanned after it was voided"]
    assert assess("void", []) == []
    assert assess("verified", [scan(0, signature_ok=False)]) == [
        "signature: 1 scan(s) carried this serial with a signature that does not verify"]


@pytest.mark.parametrize("text, expected", [
    ("Lyon", ("Lyon", None, None)), ("45.76,4.84", (None, 45.76, 4.84)), ("Lyon@45.76, 4.84", ("Lyon", 45.76, 4.84)),
    ("Gate 3, Hall B", ("Gate 3, Hall B", None, None)), (None, (None, None, None)), ("", (None, None, None))])
def test_parse_place(text, expected):
    assert parse_place(text) == expected


@pytest.mark.parametrize("text", ["Lyon@north", "x@91,0", "95.0,10", "0,181"])
def test_bad_places_are_refused(text):
    with pytest.raises(LasergenError, match="--place"):
        parse_place(text)
