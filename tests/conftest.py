import json
import os
import shutil
import statistics
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from filelock import FileLock

ROOT = Path(__file__).resolve().parent.parent
# Every page of the app, the entry point first: read from the folder, so a new page is tested at once.
PAGES = ["app.py", *sorted(f"pages/{page.name}" for page in (ROOT / "pages").glob("*.py"))]
REAL_DATA = ROOT.parent / "shared" / "datasets" / "tom_and_jerry"

# Every wait in the tests (a command, a background run, AppTest, the browser) is given in seconds
# as an idle 2-core machine needs them, through scaled(): a busy or slower machine waits longer
# instead of failing, and a hung test still fails. TOMJERRY_TEST_TIMEOUT_SCALE sets the factor
# (e.g. 3); unset, it is measured once per session: the larger of a short CPU probe against its
# time on the development machine and the load average per core, between 1 (2 under CI=true, whose
# machine may be busy) and MAX_MEASURED_SCALE. The test header line says which factor and why.
TIMEOUT_SCALE_VARIABLE = "TOMJERRY_TEST_TIMEOUT_SCALE"
MEASURED_VARIABLE = "_TOMJERRY_TEST_TIMEOUT_SCALE_MEASURED"  # the first process's measure, for xdist workers
PROBE_REFERENCE_S = 0.020  # the probe's fastest run on the development machine (Intel Xeon, 2 cores, 2026-12-06)
MAX_MEASURED_SCALE = 4.0


def probe_seconds() -> float:
    """The median of 5 runs of a fixed pure-Python loop (20 ms each on the development machine)."""
    times = []
    for _ in range(5):
        started = time.perf_counter()
        sum(i * i for i in range(200_000))
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def timeout_scale() -> tuple[float, str]:
    """(factor, how it was chosen). ValueError for a TOMJERRY_TEST_TIMEOUT_SCALE that is not a
    positive number."""
    given = os.environ.get(TIMEOUT_SCALE_VARIABLE, "").strip()
    if given:
        try:
            factor = float(given)
        except ValueError:
            factor = 0.0
        if not factor > 0:
            raise ValueError(f"{TIMEOUT_SCALE_VARIABLE} must be a positive number, not {given!r}")
        return factor, f"from {TIMEOUT_SCALE_VARIABLE}"
    if os.environ.get(MEASURED_VARIABLE):  # an xdist worker: the factor its controller measured
        factor, how = os.environ[MEASURED_VARIABLE].split(" ", 1)
        return float(factor), how
    probe = probe_seconds() / PROBE_REFERENCE_S
    load = os.getloadavg()[0] / (os.cpu_count() or 1)
    floor = 2.0 if os.environ.get("CI", "").lower() == "true" else 1.0
    factor = round(max(floor, min(MAX_MEASURED_SCALE, max(probe, load))), 1)
    how = f"measured: CPU probe {probe:.1f}x, load {load:.1f} per core" + (", CI floor 2" if floor > 1 else "")
    how += f"; set {TIMEOUT_SCALE_VARIABLE} to choose"
    os.environ[MEASURED_VARIABLE] = f"{factor} {how}"
    return factor, how


TIMEOUT_SCALE, TIMEOUT_SCALE_REASON = timeout_scale()


def scaled(seconds: float) -> float:
    """A wait of `seconds` on an idle 2-core machine, scaled to this one (TIMEOUT_SCALE)."""
    return seconds * TIMEOUT_SCALE


def pytest_report_header(config):
    return f"timeouts x {TIMEOUT_SCALE:g} ({TIMEOUT_SCALE_REASON})"


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
