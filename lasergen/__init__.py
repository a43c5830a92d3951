"""lasergen: plan femtosecond-laser direct writing of luminescent patterns in glass.

Data flows one way: pattern source -> Pattern -> Toolpath -> Job (G-code + manifest).
The core package knows nothing of serial ports or device protocols.
"""

__version__ = "0.1.0"


class LasergenError(Exception):
    """A user-facing error: its message is one line that says what is wrong and with which value."""
