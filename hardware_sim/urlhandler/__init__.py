"""pyserial URL handlers of the simulated device: `sim://` (see protocol_sim)."""

import serial

PACKAGE = __name__


def register():
    """Let `serial.serial_for_url("sim://...")` reach the emulator (idempotent)."""
    if PACKAGE not in serial.protocol_handler_packages:
        serial.protocol_handler_packages.append(PACKAGE)
