import os
import shutil
from dataclasses import dataclass
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


@dataclass(frozen=True)
class TrainedRun:
    artifacts: Path  # the artifacts folder holding only this run
    path: Path       # its run folder
    result: dict     # what execute_run returned (metrics.json)


TINY_CONFIG = dict(model="efficientnet_lite0", image_size=48, epochs=1, batch_size=32, patience=0)


@pytest.fixture(scope="session")
def trained_run(demo_root, tmp_path_factory) -> TrainedRun:
    """The quick suite's one real fit, shared by every test that reads a finished run: EfficientNet-
    Lite0 at 48 px, one epoch on the demo data, written by the package's own run writers (config,
    split, history, model, metrics, predictions, provenance, recipe, novelty reference). Tests
    that change a run copy its folder first."""
    from tomjerry.config import RunConfig
    from tomjerry.runs.execute import execute_run
    from tomjerry.runs.lifecycle import create_run

    artifacts = tmp_path_factory.mktemp("trained")
    run_dir = create_run(RunConfig(**TINY_CONFIG), artifacts, demo_root)
    return TrainedRun(artifacts, run_dir, execute_run(run_dir, demo_root))


@pytest.fixture(scope="session")
def finished_artifacts(trained_run) -> Path:
    """An artifacts folder with one finished run (the shared fit); read it, never change it."""
    return trained_run.artifacts
