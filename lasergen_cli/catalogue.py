"""What ships with lasergen: `lasergen materials` lists the built-in glasses, `lasergen
examples` copies the example specs and images into a folder to start from.

Both read package data, so they work the same from an installed wheel as from a checkout.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import click

from lasergen import LasergenError
from lasergen_cli.common import emit, json_option, main


@main.command()
@json_option
def materials(as_json):
    """List the built-in glasses (names for --material and for sim://?material=)."""
    from hardware_sim.glass.material import Material
    from hardware_sim.glass.phase_model import red_peak_range_nm

    rows = []
    for name in Material.builtin():
        m = Material.load(name)
        rows.append({"name": m.name, "description": m.description,
                     "green_peak_nm": m.chemistry["green_peak_nm"], "red_peak_nm": red_peak_range_nm(m)})
    width = max(len(r["name"]) for r in rows)
    text = "\n".join(f"{r['name']:<{width}}  {r['description']}" for r in rows)
    emit({"materials": rows}, as_json, text)


def example_files() -> list:
    folder = resources.files("lasergen").joinpath("patterns")
    return sorted((f for f in folder.iterdir() if f.is_file()), key=lambda f: f.name)


@main.command()
@click.option("--out", default="examples", show_default=True, help="Folder to copy the examples into (created).")
@json_option
def examples(out, as_json):
    """Copy the example pattern specs and images (logo, secret_uv/secret_645 for encrypt) into a folder."""
    folder = Path(out)
    files = example_files()
    clashing = [f.name for f in files if (folder / f.name).exists()]
    if clashing:
        more = f" and {len(clashing) - 2} more" if len(clashing) > 2 else ""
        raise LasergenError(f"examples: {folder} already holds {', '.join(clashing[:2])}{more}; choose another --out")
    folder.mkdir(parents=True, exist_ok=True)
    for f in files:
        (folder / f.name).write_bytes(f.read_bytes())
    names = [f.name for f in files]
    emit({"out": str(folder), "files": names}, as_json, f"copied {len(names)} examples to {folder}: {', '.join(names)}")
