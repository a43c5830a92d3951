"""The public surface as text: every name of `lasergen.__all__`, with the signature of each
callable and of each public method or property of each public class. `python tests/api/snapshot.py`
rewrites tests/api/api_snapshot.txt (a deliberate change of the public API)."""

import inspect
from pathlib import Path

SNAPSHOT = Path(__file__).with_name("api_snapshot.txt")


def surface() -> str:
    import lasergen

    lines = []
    for name in sorted(lasergen.__all__):
        obj = getattr(lasergen, name)
        if inspect.isclass(obj):
            lines.append(f"class {name}{_sig(obj)}")
            for attr, value in sorted(vars(obj).items()):
                if attr.startswith("_"):
                    continue
                if isinstance(value, property):
                    lines.append(f"    {name}.{attr} (property)")
                elif isinstance(value, (classmethod, staticmethod)):
                    lines.append(f"    {name}.{attr}{_sig(value.__func__)}")
                elif inspect.isfunction(value):
                    lines.append(f"    {name}.{attr}{_sig(value)}")
        elif callable(obj):
            lines.append(f"def {name}{_sig(obj)}")
        else:
            lines.append(f"{name}: {type(obj).__name__}")
    return "\n".join(lines) + "\n"


def _sig(obj) -> str:
    try:
        return str(inspect.signature(obj))
    except (TypeError, ValueError):
        return "(...)"


if __name__ == "__main__":
    SNAPSHOT.write_text(surface())
    print(f"wrote {SNAPSHOT}")
