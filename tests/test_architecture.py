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


# The one seam through which the core reaches the rooms above it (lasergen/api/seams.py):
# entry points those rooms declare in pyproject.toml. Nothing else: no import statement (above),
# and no import by string (importlib.import_module / __import__ / entry-point names) in the core.
# Known exception: the back-end registry names each family's session and emulator as
# "module:Class" strings that only drivers and hardware_sim resolve (lasergen/backends/__init__.py).
NAMED_ONLY = {"lasergen/backends/__init__.py"}
SEAM_GROUPS = {"lasergen.simulators": "hardware_sim", "lasergen.sessions": "drivers", "lasergen.ports": "hardware_sim"}


def test_core_names_no_upper_room_in_a_string():
    offenders = []
    for path in (REPO / "lasergen").rglob("*.py"):
        if str(path.relative_to(REPO)) in NAMED_ONLY:
            continue
        tree = ast.parse(path.read_text())
        docstrings = {id(n.body[0].value) for n in ast.walk(tree)
                      if isinstance(n, (ast.Module, ast.FunctionDef, ast.ClassDef, ast.AsyncFunctionDef))
                      and n.body and isinstance(n.body[0], ast.Expr)}
        for node in ast.walk(tree):
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
                if any(node.value == room or node.value.startswith(room + ".") for room in ("drivers", "hardware_sim")):
                    offenders.append(f"{path.relative_to(REPO)}: {node.value!r}")
    assert not offenders


def test_the_seam_is_exactly_the_declared_entry_points():
    import tomllib
    from importlib.metadata import entry_points

    declared = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["entry-points"]
    assert set(declared) == set(SEAM_GROUPS)
    for group, room in SEAM_GROUPS.items():
        assert declared[group], group
        for name, target in declared[group].items():
            assert target.split(".")[0] == room, f"{group} {name} = {target} must live in {room}"
        installed = {ep.name: ep.value for ep in entry_points(group=group)}
        assert installed == declared[group]  # the installed distribution registers the same
        for ep in entry_points(group=group):
            assert ep.load() is not None
