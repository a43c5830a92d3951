"""Writing a fitted material profile: the prior profile's TOML text with the fitted values put in
place, each with a comment "fitted: value +- uncertainty (date, source CSV; prior ...)", so the
file keeps the built-in schema and keys (the strict loader reads it, a diff against the prior shows
exactly what the fit changed). Line-based: a `key = value  # comment` line inside its [section]
is replaced; everything else (provenance comments of unfitted values) is kept as it was."""

from __future__ import annotations

import re
from datetime import date as _date
from pathlib import Path

from hardware_sim.glass.material import MATERIAL_DIR, Material
from lasergen import LasergenError

SECTION = re.compile(r"^\s*\[([^\]]+)\]")
ASSIGN = re.compile(r"^(\s*)([A-Za-z0-9_]+)(\s*=\s*)([^#\n]*?)(\s*)(#.*)?$")


def prior_path(name_or_path: str) -> Path:
    path = Path(name_or_path)
    return path if path.suffix else MATERIAL_DIR / f"{name_or_path}.toml"


def fitted_text(prior_text: str, values: dict[str, float], sigma: dict[str, float], name: str, sources: list[str],
                undetermined: list[str], day: str | None = None) -> str:
    day = day or _date.today().isoformat()
    src = ", ".join(sources)
    section, out, done = None, [], set()
    for line in prior_text.splitlines():
        head = SECTION.match(line)
        if head:
            section = head.group(1).strip()
        m = ASSIGN.match(line)
        if m and section is None and m.group(2) == "name":
            line = f'name = "{name}"'
        elif m and section and f"{section}.{m.group(2)}" in values:
            key = f"{section}.{m.group(2)}"
            old = m.group(4).strip()
            line = (f"{m.group(1)}{m.group(2)}{m.group(3)}{values[key]:.6g}  # fitted {day} from {src}: "
                    f"{values[key]:.4g} +- {sigma[key]:.2g} (prior {old})")
            done.add(key)
        out.append(line)
    missing = sorted(set(values) - done)
    if missing:
        raise LasergenError(f"cannot place fitted value(s) {', '.join(missing)} in the prior profile's text")
    header = [f"# Fitted by `lasergen calibrate fit` on {day} from {src}.",
              f"# Determined by the data: {', '.join(sorted(values)) or 'nothing'}; every other value is the prior's",
              f"# (not determined: {', '.join(undetermined) or '-'})."]
    return "\n".join(header + out) + "\n"


def write_fitted(out: str | Path, prior: str, values, sigma, sources, undetermined, day=None) -> Material:
    """Write the fitted profile to `out` and load it back with the strict loader."""
    path = prior_path(prior)
    try:
        text = fitted_text(path.read_text(encoding="utf-8"), values, sigma, Path(out).stem, sources,
                           undetermined, day)
        Path(out).write_text(text, encoding="utf-8")
    except OSError as exc:
        raise LasergenError(f"cannot write {out}: {exc}") from None
    return Material.load(Path(out))
