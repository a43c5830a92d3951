import pytest

from lasergen.machine import MachineProfile


@pytest.fixture
def machine():
    return MachineProfile.load()
