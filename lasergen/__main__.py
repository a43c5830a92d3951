"""`python -m lasergen` and the `lasergen` program: the command line. A Ctrl-C while the
command line is still being imported ends it with one line, like a Ctrl-C anywhere else, not
with a traceback, even when Python wraps it in another exception (`lasergen.interrupts`); a
handled Ctrl-C ends with the command's own exit code (2), never as killed by SIGINT."""

import signal
import sys

from lasergen.interrupts import caused_by_ctrl_c


def run():
    signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        from lasergen_cli import main
    except BaseException as exc:
        if not caused_by_ctrl_c(exc):
            raise
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        sys.stderr.write("lasergen: error: interrupted (Ctrl-C) while starting; nothing was done\n")
        raise SystemExit(2) from None
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


if __name__ == "__main__":
    run()
