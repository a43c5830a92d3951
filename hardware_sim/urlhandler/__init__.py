"""pyserial URL handlers of the simulated device: `sim://` (see protocol_sim), and the
`lasergen.ports` hook (pyproject.toml) through which `lasergen.connect` opens a `sim://` rig.

A rig on `sim://` without `device=` gets a device named for it (`rig-PID-N`): the emulated
controller then lives as long as the rig, across the rig's streams (so a stopped stream can be
resumed on it, as on a real controller that stays powered), and is forgotten when the rig
closes. A URL naming its device reaches that device, which outlives the rig.
"""

from __future__ import annotations

import itertools
import os
import urllib.parse
from pathlib import Path

import serial

PACKAGE = __name__
_RIGS = itertools.count(1)


def register():
    """Let `serial.serial_for_url("sim://...")` reach the emulator (idempotent)."""
    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)


def _with(url: str, key: str, value: str) -> str:
    parts = urllib.parse.urlsplit(url)
    sep = "&" if parts.query else ""
    return f"sim://?{parts.query}{sep}{key}={urllib.parse.quote(value)}"


def prepare_url(url: str, machine) -> str:
    """Register the scheme and, when the URL names no machine, emulate the rig's own built-in profile."""
    register()
    query = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query)
    name = getattr(machine, "name", None)
    if "machine" in query or not name:
        return url
    from lasergen.machine import builtin_names

    return _with(url, "machine", name) if name in builtin_names() else url


class SimPort:
    """One rig's `sim://` port: the URL with a device name, and that device's exposure ledger."""

    def __init__(self, url: str, machine):
        url = prepare_url(url, machine)
        names = urllib.parse.parse_qs(urllib.parse.urlsplit(url).query).get("device")
        self.transient = not names
        self.device = names[-1] if names else f"rig-{os.getpid()}-{next(_RIGS)}"
        self.url = _with(url, "device", self.device) if self.transient else url

    def save_exposures(self, path: str, append: bool = False) -> str | None:
        """Save what the emulated beam did (the exposure ledger, .npz) to `path`, after what the
        file already holds when `append`; None when the device never ran."""
        from hardware_sim.device import get_device
        from hardware_sim.ledger import ExposureLedger

        try:
            ledger = get_device(self.device).ledger()
        except KeyError:
            return None
        if append and Path(path).is_file():
            ledger = ExposureLedger.concat([ExposureLedger.load(path), ledger])
        ledger.save(path)
        return str(path)

    def close(self) -> None:
        if self.transient:
            from hardware_sim.device import forget_device

            forget_device(self.device)
            forget_device(f"{self.device}:attenuator")


def open_port(url: str, machine) -> SimPort:
    return SimPort(url, machine)
