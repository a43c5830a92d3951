"""The installed package is the tested package, and it carries every data file of the source.

`pytest` imports test modules in importlib mode (pyproject), so the suite never puts the
checkout on sys.path: what it imports is what `pip install .` installed. The first test
proves that for every top-level package; `.ci/run` additionally demands a regular (not
editable) install from a freshly built wheel (LASERGEN_TEST_INSTALLED=1).
"""

import importlib
import importlib.metadata
import json
import os
from pathlib import Path

import pytest

PACKAGES = ("lasergen", "lasergen_cli", "drivers", "hardware_sim")
SOURCE = Path(__file__).resolve().parents[1]  # the source tree the tests came with, if any


def distribution():
    return importlib.metadata.distribution("lasergen")


def editable_root() -> Path | None:
    """The project folder of an editable install (PEP 610 direct_url.json), else None."""
    text = distribution().read_text("direct_url.json")
    if not text:
        return None
    info = json.loads(text)
    if not info.get("dir_info", {}).get("editable"):
        return None
    return Path(info["url"].removeprefix("file://")).resolve()


def test_the_tested_packages_are_the_installed_distribution():
    dist, root = distribution(), editable_root()
    if os.environ.get("LASERGEN_TEST_INSTALLED"):
        assert root is None, "expected a regular install from a wheel, found an editable one"
    for name in PACKAGES:
        imported = Path(importlib.import_module(name).__file__).resolve()
        if root is None:
            expected = Path(dist.locate_file(f"{name}/__init__.py")).resolve()
        else:
            expected = root / name / "__init__.py"
        assert imported == expected, f"{name} imported from {imported}, installed at {expected}"


def source_data_files() -> list[str]:
    """Every non-Python file inside the source packages, as paths relative to the source tree."""
    found = []
    for name in PACKAGES:
        for folder, dirs, files in os.walk(SOURCE / name, followlinks=True):  # lasergen/patterns is a link
            dirs[:] = [d for d in dirs if d != "__pycache__"]
            found += [(Path(folder) / f).relative_to(SOURCE).as_posix() for f in files
                      if not f.endswith((".py", ".pyc", ".so", ".pyd"))]  # built extensions are products
    return sorted(found)


def test_every_data_file_of_the_source_is_installed():
    if not (SOURCE / "pyproject.toml").is_file():
        pytest.skip("the tests run without their source tree")
    if editable_root() is not None:
        pytest.skip("an editable install reads the data from the source tree itself")
    installed = {f.as_posix() for f in distribution().files}
    wanted = source_data_files()
    assert wanted and "lasergen/backends/grbl/data/codes.csv" in wanted
    assert [f for f in wanted if f not in installed] == []


def test_package_data_is_found_through_the_packages():
    from importlib import resources

    assert resources.files("lasergen.backends.grbl").joinpath("data", "codes.csv").is_file()
    assert resources.files("hardware_sim.glass").joinpath("materials", "BrI.toml").is_file()
    assert resources.files("lasergen").joinpath("patterns", "three_level_EF.toml").is_file()
