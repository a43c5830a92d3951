"""The PI tests' emulated rig: a fresh device name per test, its stage and attenuator forgotten after."""

import pytest

from hardware_sim.device import forget_device
from tests.pi_gcs.helpers import device_name


@pytest.fixture
def rig():
    name = device_name()
    yield name
    forget_device(name)
    forget_device(f"{name}:attenuator")
