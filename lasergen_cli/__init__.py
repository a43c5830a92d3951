"""The `lasergen` command line (click), one thin module per family of commands.

Commands parse options and call the library; bad input is one line on stderr and exit code 2.
This package is the only place above all three rooms (lasergen core, drivers, hardware_sim). A new family of commands is one new
module here plus its line below.
"""

from lasergen_cli.common import main
# each module registers its commands: one line per family of commands
from lasergen_cli import calibrate  # noqa: E402,F401,I001
from lasergen_cli import calibrate_fit  # noqa: E402,F401,I001
from lasergen_cli import catalogue  # noqa: E402,F401,I001
from lasergen_cli import demo  # noqa: E402,F401,I001
from lasergen_cli import frame  # noqa: E402,F401,I001
from lasergen_cli import device  # noqa: E402,F401,I001
from lasergen_cli import plan  # noqa: E402,F401,I001
from lasergen_cli import registry  # noqa: E402,F401,I001
from lasergen_cli import security  # noqa: E402,F401,I001
from lasergen_cli import simulate  # noqa: E402,F401,I001
from lasergen_cli import vector  # noqa: E402,F401,I001

__all__ = ["main"]
