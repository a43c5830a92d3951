"""pyserial URL handlers of the simulated device: `sim://` (see protocol_sim)."""

import serial

PACKAGE = __name__


def register():
    """Let `serial.serial_for_url("sim://...")` reach the emulator (idempotent)."""
    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)


def prepare_url(url: str, machine) -> str:
    """The `lasergen.ports` hook for `sim://` (pyproject.toml): register the scheme and, when the
    URL names no machine, emulate the rig's own built-in profile."""
    import urllib.parse

    register()
    parts = urllib.parse.urlsplit(url)
    query = urllib.parse.parse_qs(parts.query)
    name = getattr(machine, "name", None)
    if "machine" in query or not name:
        return url
    from lasergen.machine import builtin_names

    if name not in builtin_names():
        return url
    sep = "&" if parts.query else ""
    return f"sim://?{parts.query}{sep}machine={urllib.parse.quote(name)}"
