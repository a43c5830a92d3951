"""One back-end registry: a family registered in `lasergen.backends` (one line) is what the
runner's `open_session` opens and what `sim://`'s `make_emulator` builds; nothing else names it."""

from types import SimpleNamespace

import pytest

from drivers.grbl.session import GrblSession
from drivers.session import open_session
from hardware_sim.emulators import make_emulator
from hardware_sim.grbl.emulator import GrblEmulator
from lasergen import LasergenError
from lasergen.backends import BACKENDS, Backend, register


@pytest.fixture
def toy_family():
    register(Backend("toy", "a third family", "lasergen.backends.grbl.language",
                     "drivers.grbl.session:GrblSession", "hardware_sim.grbl.emulator:GrblEmulator"))
    yield "toy"
    BACKENDS.pop("toy")


def test_a_family_registered_once_is_opened_and_emulated(toy_family, machine):
    class Toy:  # the default profile, its controller renamed
        controller = toy_family

        def __getattr__(self, name):
            return getattr(machine, name)
    assert type(open_session("sim://", Toy())) is GrblSession
    assert type(make_emulator(machine)) is GrblEmulator


def test_an_unregistered_family_is_one_clear_error(machine):
    other = SimpleNamespace(controller="zaber_ascii", name="x")
    with pytest.raises(LasergenError, match="unknown controller 'zaber_ascii'"):
        open_session("sim://", other)
