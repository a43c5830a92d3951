"""`python -m lasergen`: the command line. A Ctrl-C while the command line is still being
imported ends it with one line, like a Ctrl-C anywhere else, not with a traceback; a handled
Ctrl-C ends with the command's own exit code (2), never as killed by SIGINT."""

import signal
import sys


def _interrupted_while_starting(signum, frame):
    sys.stderr.write("lasergen: error: interrupted (Ctrl-C) while starting; nothing was done\n")
    raise SystemExit(2)


signal.signal(signal.SIGINT, _interrupted_while_starting)
from lasergen_cli import main  # noqa: E402

signal.signal(signal.SIGINT, signal.default_int_handler)
try:
    main()
finally:
    # The command has answered (its one line and exit code): a Ctrl-C during teardown changes
    # nothing. And CPython, run as `python -m`, kills itself with SIGINT at exit (returncode -2)
    # if a KeyboardInterrupt ever escaped an exec() or eval() of source text, even one caught
    # later: dataclasses and namedtuple build their methods that way, so a Ctrl-C landing while
    # a module is being imported (the runner imports its session lazily) leaves that mark after
    # the command handled the Ctrl-C. Each exec of source text first clears the mark.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    exec("pass")  # noqa: S102 - clears the stale mark (see above)
