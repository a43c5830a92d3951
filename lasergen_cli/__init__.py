"""The `lasergen` command line (click), one thin module per family of commands.

Commands parse options and call the library; bad input is one line on stderr and exit code 2.
This package is the only place above all three rooms (lasergen core, drivers, hardware_sim). A new family of commands is one new
module here plus its line below.
"""

from lasergen_cli.common import main
from lasergen_cli import demo, device, plan, security, simulate, vector  # noqa: E402,F401,I001  (each registers its commands)

__all__ = ["main"]
