from importlib import resources
from pathlib import Path

import pytest

from lasergen import MachineProfile

# the example specs as users get them: package data of the installed lasergen (`lasergen examples`)
PATTERNS = Path(str(resources.files("lasergen").joinpath("patterns")))


@pytest.fixture
def machine():
    return MachineProfile.load()
