import os
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT.parent / "shared" / "datasets" / "tom_and_jerry"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow (CI does)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds; runs only with --slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        return
    skip = pytest.mark.skip(reason="slow: run with --slow")
    for item in items:
        if "slow" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session", autouse=True)
def private_cache(tmp_path_factory):
    """Every test run gets its own cache folder, so no test sees another run's arrays."""
    os.environ["TOMJERRY_CACHE"] = str(tmp_path_factory.mktemp("cache"))
    # Never let discovery wander to the real data or a user's folder by accident.
    os.environ.pop("TOMJERRY_DATA", None)
    yield


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    from tomjerry.demo import generate_demo_dataset

    return generate_demo_dataset(tmp_path_factory.mktemp("demo") / "tom_and_jerry")


@pytest.fixture
def demo_copy(demo_root, tmp_path):
    """A private copy of the demo dataset for tests that break it."""
    return Path(shutil.copytree(demo_root, tmp_path / "data"))
