r"""The life cycle of one tag, as a table of legal transitions.

    planned --> written --> verified --> shipped
       |  \        |           |  ^        |
       |   failed -+           +--+        |
       +-----+-----+-----------+-----------+--> void
`planned` is where a serial starts when a batch claims it (the batch row records when and on
which station). A stream that stops before the end marks the tag `failed`; resuming it can
still complete it (`failed -> written`). Only a photo check that passed a cryptographic test
moves `written -> verified`; a repeated inspection of a verified tag stays `verified`. `void`
is final (a spoiled, recalled or stolen tag). Any other move is refused.
"""

from __future__ import annotations

from lasergen import LasergenError

STATES = ("planned", "written", "failed", "verified", "shipped", "void")

TRANSITIONS: dict[str, frozenset[str]] = {
    "planned": frozenset({"written", "failed", "void"}),
    "failed": frozenset({"written", "failed", "void"}),
    "written": frozenset({"verified", "void"}),
    "verified": frozenset({"verified", "shipped", "void"}),
    "shipped": frozenset({"void"}),
    "void": frozenset(),
}


class IllegalTransition(LasergenError):
    """A move the life cycle does not allow (the tag is left as it was)."""


def check_state(state: str) -> str:
    if state not in STATES:
        raise LasergenError(f"registry: unknown state {state!r} (known: {', '.join(STATES)})")
    return state


def check_transition(serial: str, current: str, target: str) -> None:
    check_state(target)
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current])) or "none: it is final"
        raise IllegalTransition(f"registry: {serial} is {current}, it cannot become {target} "
                                f"(from {current}: {allowed})")
