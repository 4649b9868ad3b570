import os

import pytest

from . import lab


@pytest.fixture(scope="session")
def real_lab():
    """dockerd, the base image and the test LAN: set up for real, or the run fails (never skips)."""
    if os.geteuid() != 0:
        pytest.fail("end-to-end tests need root (they create interfaces and run dockerd); run them as root")
    lab.script("dockerd-up.sh")
    lab.script("base-image.sh")
    lab.script("test-lan.sh", "up")
    yield
    lab.script("test-lan.sh", "down")


@pytest.fixture
def cli(real_lab, tmp_path):
    return lab.Cli(tmp_path / "state")
