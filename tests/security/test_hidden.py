"""Keyed hidden layer: data-module layout, the keyed subset, key handling, no key in the job."""

import base64

import numpy as np
import pytest

from lasergen import LasergenError
from lasergen.build import plan_to_file
from lasergen import MachineProfile
from lasergen.security import hidden
import lasergen


@pytest.mark.parametrize("version, data_modules", [(1, 208), (2, 359), (5, 1079), (7, 1568), (40, 29648)])
def test_data_module_counts_match_iso_18004(version, data_modules):
    assert hidden.data_module_mask(17 + 4 * version).sum() == data_modules


def test_function_patterns_are_excluded():
    region = hidden.data_module_mask(37)  # version 5
    assert not region[:9, :9].any() and not region[:9, -8:].any() and not region[-8:, :9].any()
    assert not region[6, :].any() and not region[:, 6].any()
    assert not region[28:33, 28:33].any()  # the alignment pattern around (30, 30)


def test_hidden_set_is_a_keyed_subset_of_dark_data_modules(hidden_key):
    pattern = lasergen.tag("SN-000123", hidden_key=hidden_key)
    qr_layer, hidden_layer = pattern.layers
    assert hidden_layer.recipe == "rewrite"
    assert not (hidden_layer.mask & ~qr_layer.mask).any()
    q = pattern.meta["quiet_zone"]
    symbol = qr_layer.mask[q:-q, q:-q]
    chosen = hidden_layer.mask[q:-q, q:-q]
    candidates = symbol & hidden.data_module_mask(symbol.shape[0])
    assert not (chosen & ~candidates).any()
    assert chosen.sum() == int(np.ceil(hidden.DEFAULT_FRACTION * candidates.sum()))
    again = lasergen.tag("SN-000123", hidden_key=hidden_key).layers[1].mask
    other_key = lasergen.tag("SN-000123", hidden_key=bytes(32)).layers[1].mask
    other_serial = lasergen.tag("SN-000124", hidden_key=hidden_key)
    assert np.array_equal(again, hidden_layer.mask)
    assert (other_key != hidden_layer.mask).sum() > 0.3 * chosen.sum()
    assert other_serial.meta["hidden"]["key_id"] == pattern.meta["hidden"]["key_id"]


def test_fraction_is_bounded():
    with pytest.raises(LasergenError, match="fraction"):
        lasergen.tag("SN-1", fraction=0.9, hidden_key=bytes(32))


def test_key_formats(tmp_path, hidden_key, monkeypatch):
    raw, hexa = tmp_path / "raw.key", tmp_path / "hex.key"
    raw.write_bytes(hidden_key)
    hexa.write_text(hidden_key.hex() + "\n")
    assert hidden.load_key(raw) == hidden.load_key(hexa) == hidden_key
    monkeypatch.setenv("LASERGEN_KEY", hidden_key.hex())
    assert hidden.load_key() == hidden_key
    for bad in (b"short", b"z" * 200, b"ab" * 31 + b"a"):
        path = tmp_path / "bad.key"
        path.write_bytes(bad)
        with pytest.raises(LasergenError, match="hidden key"):
            hidden.load_key(path)
    monkeypatch.delenv("LASERGEN_KEY")
    with pytest.raises(LasergenError, match="no hidden key"):
        hidden.load_key()


def test_key_never_reaches_the_job_file(tmp_path, hidden_key):
    out = tmp_path / "tag.gcode"
    plan_to_file(lasergen.tag("SN-000123", hidden_key=hidden_key), out, MachineProfile.load())
    data = out.read_bytes()
    text = data.decode()
    for form in (hidden_key.hex(), hidden_key.hex().upper(), base64.b64encode(hidden_key).decode(),
                 base64.urlsafe_b64encode(hidden_key).decode().rstrip("=")):
        assert form not in text
    assert hidden_key not in data
    assert hidden.key_id(hidden_key) in text  # only the public key id is recorded
