"""`python -m lasergen`: the command line. A Ctrl-C while the command line is still being
imported ends it with one line, like a Ctrl-C anywhere else, not with a traceback."""

import signal
import sys


def _interrupted_while_starting(signum, frame):
    sys.stderr.write("lasergen: error: interrupted (Ctrl-C) while starting; nothing was done\n")
    raise SystemExit(2)


signal.signal(signal.SIGINT, _interrupted_while_starting)
from lasergen_cli import main  # noqa: E402

signal.signal(signal.SIGINT, signal.default_int_handler)
main()
