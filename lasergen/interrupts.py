"""Recognising a Ctrl-C that Python has wrapped in another exception.

A KeyboardInterrupt (or the SystemExit a signal handler raises) that lands inside a class
body's descriptor set-up reaches the caller as `RuntimeError: Error calling __set_name__ ...`
on Python 3.11 (dataclasses, functools.cached_property and enum all run `__set_name__`), with
the interrupt as its cause. The command line treats such an error as the Ctrl-C it is.
"""


def caused_by_ctrl_c(exc: BaseException) -> bool:
    """Whether `exc` is a KeyboardInterrupt or was raised because of one (its cause chain)."""
    seen = set()
    while exc is not None and id(exc) not in seen:
        if isinstance(exc, KeyboardInterrupt):
            return True
        seen.add(id(exc))
        exc = exc.__cause__ or exc.__context__
    return False
