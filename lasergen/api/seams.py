"""The registration seam through which the core reaches the simulator and the device sessions.

Why a seam and not an import: the dependency rule (ARCHITECTURE.md) keeps `lasergen` below
`drivers` and `hardware_sim`, yet `Job.simulate` and `connect` must reach them. The core owns
the small protocols below; the rooms above fill them through Python entry points declared in
pyproject.toml, the ecosystem's standard plug-in mechanism (importlib.metadata):

    [project.entry-points."lasergen.simulators"]   glass = "hardware_sim.glass.plugin:SIMULATOR"
    [project.entry-points."lasergen.sessions"]     runner = "drivers.rig:open_rig"
    [project.entry-points."lasergen.ports"]        sim = "hardware_sim.urlhandler:open_port"

The core never names those modules (tests/test_architecture.py checks that no module of the
core imports them, by statement or by string): a third-party simulator or driver plugs in the
same way. Lookups happen on first use only, so `import lasergen` stays fast.
"""

from __future__ import annotations

from functools import cache
from typing import Any, Protocol

from lasergen import LasergenError

SIMULATORS = "lasergen.simulators"
SESSIONS = "lasergen.sessions"
PORTS = "lasergen.ports"


class Simulator(Protocol):
    """What the core asks of a glass model (a raw prediction is the simulator's own object)."""

    def simulate(self, toolpath, machine, material: str, manifest: dict | None = None, reader: str = "microscope",
                 **options) -> Any: ...
    def view_names(self, raw) -> list[str]: ...
    def view_label(self, raw, name: str) -> str: ...
    def render(self, raw, name: str, um_per_px: float | None = None, whole_mark: bool = False): ...
    def report(self, raw) -> dict: ...
    def spectra(self, raw) -> dict: ...
    def write(self, raw, out_dir, um_per_px: float | None = None, whole_mark: bool = False) -> dict: ...
    def verify(self, raw, manifest: dict, key=None, public_key=None, margin: bool = True) -> list[dict]: ...
    def describe(self, check: dict) -> str: ...
    def summarize(self, checks: list[dict]) -> str: ...


class Port(Protocol):
    """What the handler of a port's scheme (e.g. `sim://`) gives the core for one rig: the URL
    the session opens and, for a simulated device, what its beam did (the exposure ledger).
    `transient`: the device was made for this rig and is gone once the port closes."""

    url: str
    transient: bool

    def save_exposures(self, path: str, append: bool = False) -> str | None: ...
    def close(self) -> None: ...


class RigSession(Protocol):
    """What the core asks of a device session opened on a port URL. `journal_path` is the
    journal of the latest stream (None before one connected)."""

    journal_path: str | None

    def stream(self, job_path: str, on_progress=None, journal_path: str | None = None, resume: bool = False,
               progress_bar: bool = False, resume_on: str | None = None) -> dict: ...
    def pause(self) -> None: ...
    def resume_motion(self) -> None: ...
    def abort(self) -> None: ...
    def close(self) -> None: ...


@cache
def _entries(group: str) -> dict:
    from importlib.metadata import entry_points

    return {ep.name: ep for ep in entry_points(group=group)}


def _load(group: str, name: str | None, what: str):
    entries = _entries(group)
    if not entries:
        raise LasergenError(f"no {what} is installed (nothing registers the {group!r} entry points; "
                            f"reinstall lasergen)")
    ep = entries.get(name) if name else next(iter(sorted(entries.items())))[1]
    if ep is None:
        raise LasergenError(f"no {what} named {name!r} (installed: {', '.join(sorted(entries))})")
    return ep.load()


def simulator(name: str | None = None) -> Simulator:
    """The installed glass model (the first by name when several are)."""
    return _load(SIMULATORS, name, "simulator")


def session_opener(name: str | None = None):
    """`open(url, machine) -> RigSession` of the installed device driver."""
    return _load(SESSIONS, name, "device driver")


class PlainPort:
    """A port no handler claims (a serial device, `socket://`): the URL as given, no ledger."""

    transient = False

    def __init__(self, url: str):
        self.url = url

    def save_exposures(self, path: str, append: bool = False) -> None:
        return None

    def close(self) -> None:
        pass


def open_port(url: str, machine) -> Port:
    """The port for `url` from the handler of its scheme (e.g. `sim://`), else a plain one."""
    scheme = url.split("://", 1)[0] if "://" in url else ""
    entry = _entries(PORTS).get(scheme)
    return entry.load()(url, machine) if entry is not None else PlainPort(url)
