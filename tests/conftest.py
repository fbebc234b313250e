import json
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
REAL_DATA = ROOT.parent / "shared" / "datasets" / "tom_and_jerry"


def pytest_addoption(parser):
    parser.addoption("--slow", action="store_true", help="also run the tests marked slow (CI does)")


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: takes more than a few seconds; runs only with --slow")


def pytest_collection_modifyitems(config, items):
    if config.getoption("--slow"):
        # The slow tests first (in their order), so that with pytest-xdist the long ones start
        # while the quick ones fill the gaps, instead of one worker finishing a long test alone.
        items.sort(key=lambda item: "slow" not in item.keywords)
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


def made_once(tmp_path_factory, name: str, make) -> Path:
    """A folder that make(folder) fills, made once per test session: with pytest-xdist the first
    worker to ask makes it in the folder all workers share while the others wait on a file lock
    (the pattern in pytest-xdist's docs), so the shared fit and the demo data are not made once per
    worker. Read what is in it; never change it."""
    if not os.environ.get("PYTEST_XDIST_WORKER"):
        folder = tmp_path_factory.mktemp(name)
        make(folder)
        return folder
    folder = tmp_path_factory.getbasetemp().parent / name
    done = folder.with_name(f"{name}.done")
    with FileLock(f"{folder}.lock"):
        if not done.exists():
            shutil.rmtree(folder, ignore_errors=True)  # what a worker that died half-way left
            folder.mkdir()
            make(folder)
            done.touch()
    return folder


@pytest.fixture(scope="session")
def demo_root(tmp_path_factory):
    from tomjerry.data.demo import generate_demo_dataset

    return (
        made_once(tmp_path_factory, "demo", lambda folder: generate_demo_dataset(folder / "tom_and_jerry"))
        / "tom_and_jerry"
    )


@pytest.fixture
def demo_copy(demo_root, tmp_path):
    """A private copy of the demo dataset for tests that break it."""
    return Path(shutil.copytree(demo_root, tmp_path / "data"))


@dataclass(frozen=True)
class TrainedRun:
    artifacts: Path  # the artifacts folder holding only this run
    path: Path  # its run folder
    result: dict  # what execute_run returned (metrics.json)


TINY_CONFIG = dict(model="efficientnet_lite0", image_size=48, epochs=1, batch_size=32, patience=0)


@pytest.fixture(scope="session")
def trained_run(demo_root, tmp_path_factory) -> TrainedRun:
    """The quick suite's one real fit, shared by every test that reads a finished run: EfficientNet-
    Lite0 at 48 px, one epoch on the demo data, written by the package's own run writers (config,
    split, history, model, metrics, predictions, provenance, recipe, novelty reference). Tests
    that change a run copy its folder first."""
    from tomjerry.config import RunConfig
    from tomjerry.lab.execute import execute_run
    from tomjerry.runs.lifecycle import create_run

    def fit(artifacts):
        execute_run(create_run(RunConfig(**TINY_CONFIG), artifacts, demo_root), demo_root)

    artifacts = made_once(tmp_path_factory, "trained", fit)
    (run_dir,) = (path for path in (artifacts / "runs").iterdir() if path.is_dir())
    # execute_run returns what it wrote to metrics.json; read it back so every worker sees the same.
    return TrainedRun(artifacts, run_dir, json.loads((run_dir / "metrics.json").read_text()))


@pytest.fixture(scope="session")
def finished_artifacts(trained_run) -> Path:
    """An artifacts folder with one finished run (the shared fit); read it, never change it."""
    return trained_run.artifacts
