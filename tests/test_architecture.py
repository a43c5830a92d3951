"""The house rules that keep data flowing one way (ARCHITECTURE.md): the lasergen core imports
neither drivers nor hardware_sim; drivers never reach into the simulator; only the command line
(lasergen_cli/) sits above all three. Modules stay under ~400 lines."""

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
CLI = REPO / "lasergen_cli"
FORBIDDEN = {"lasergen": {"drivers", "hardware_sim"}, "drivers": {"hardware_sim"}}


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_dependency_rule(package):
    offenders = []
    for path in (REPO / package).rglob("*.py"):
        if CLI in path.parents:
            continue
        bad = imported_packages(path) & FORBIDDEN[package]
        if bad:
            offenders.append(f"{path.relative_to(REPO)} imports {', '.join(sorted(bad))}")
    assert not offenders


def test_modules_stay_small():
    big = [f"{p.relative_to(REPO)}: {n}" for pkg in ("lasergen", "drivers", "hardware_sim")
           for p in (REPO / pkg).rglob("*.py") if (n := len(p.read_text().splitlines())) > 420]
    assert not big
