"""Security marks: keyed hidden layers, signed payloads, tag checks and process warnings.

`shown_path`: how an error may name a key file. Users paste keys where a path goes; such a
value is described (its length), never echoed into a terminal, a log or a CI transcript.
"""

import re

_KEY_LIKE = re.compile(r"[A-Za-z0-9+/=_-]{16,}")


def shown_path(path) -> str:
    """A key file's path as an error may show it: never a key pasted where the path goes."""
    text = str(path)
    bare = text.strip()
    if "PRIVATE KEY" in text or "\n" in text or (_KEY_LIKE.fullmatch(bare) and "/" not in bare and "." not in bare):
        return f"(a value of {len(text)} characters that looks like a key itself, not shown; give the key's file)"
    return repr(text)
