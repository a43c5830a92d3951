"""lasergen: plan femtosecond-laser direct writing of luminescent patterns in glass.

Data flows one way: pattern source -> Pattern -> Toolpath -> Job (G-code + manifest).
The core package knows nothing of serial ports or device protocols.

The public API is `__all__` below (documented in docs/api.rst; tests/api_snapshot.txt holds
it, so adding or removing a name is a deliberate change)::

    import lasergen as lg
    job = lg.qr("https://example.org/p/1", module_um=20).plan(lg.machine("grbl-default"))
    pred = job.simulate(material="BrI", heat_treat_c=450)

Names load on first use (PEP 562 `__getattr__`): `import lasergen` imports neither numpy nor
the planner, so a script or the command line pays only for what it uses.
"""

__version__ = "0.1.0"


class LasergenError(Exception):
    """A user-facing error: its message is one line that says what is wrong and with which value."""


# public name -> module that defines it (loaded on first access)
_PUBLIC = {
    "qr": "lasergen.api.sources", "text": "lasergen.api.sources", "bitmap": "lasergen.api.sources",
    "svg": "lasergen.api.sources", "pattern_from_spec": "lasergen.api.sources",
    "pattern_from_file": "lasergen.api.sources", "machine": "lasergen.api.sources",
    "tag": "lasergen.api.security", "Toolpath": "lasergen.toolpath",
    "Pattern": "lasergen.pattern", "Layer": "lasergen.pattern", "Recipe": "lasergen.recipe",
    "MachineProfile": "lasergen.machine",
    "Job": "lasergen.api.job", "Estimate": "lasergen.api.job",
    "Prediction": "lasergen.api.prediction", "Verdict": "lasergen.api.prediction",
    "connect": "lasergen.api.rig", "Rig": "lasergen.api.rig", "Run": "lasergen.api.rig",
}

__all__ = sorted([*_PUBLIC, "LasergenError", "__version__"])


def __getattr__(name: str):
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'lasergen' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__():
    return sorted(set(globals()) | set(_PUBLIC))


class _Package(type(__import__("sys"))):
    """The package's module type: importing the submodule `lasergen.machine` (the profile
    module) must not rebind the public function `lasergen.machine` the import system would
    overwrite with it (the submodule stays reachable as `sys.modules["lasergen.machine"]`)."""

    def __setattr__(self, name, value):
        if name in _PUBLIC and isinstance(value, type(self).__mro__[1]) and value.__name__ == f"{__name__}.{name}":
            return
        super().__setattr__(name, value)


__import__("sys").modules[__name__].__class__ = _Package
