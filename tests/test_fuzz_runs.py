"""A run folder never takes a page down (issue 28): every file of a finished run folder is broken in
turn, in every way a disk, a copy or a person breaks one (random bytes, empty, cut short, a folder in
its place, unreadable, a symlink loop), and `runs --all --json` and every page are read beside it.
The broken run reads unreadable or degraded with its reason; the run beside it reads as before; no
page shows an exception.

Quick: `runs --json` for every file and every way (3 s each), and the pages issue 28 saw crash
beside the files that crashed them (random bytes). --slow: every page beside every file broken each
way, each broken run selected in turn where a page picks a run (about 4 minutes per way on 2 cores)."""

import io
import json
import os
import shutil
from contextlib import redirect_stderr, redirect_stdout
from pathlib import Path

import numpy as np
import pytest
from conftest import PAGES, ROOT
from streamlit.testing.v1 import AppTest

from tomjerry.runs.record import read_runs

TIMEOUT = 300  # TensorFlow's import, then one model load per broken run
BYSTANDER = "20990101-000000-efficientnet_lite0-base-bystander"
AS_ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


def random_bytes(path: Path):
    size = max(16, min(path.stat().st_size, 256 * 1024))
    path.write_bytes(np.random.default_rng(len(path.name)).integers(0, 256, size, dtype=np.uint8).tobytes())


def empty(path: Path):
    path.write_bytes(b"")


def truncated(path: Path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def folder(path: Path):
    path.unlink()
    path.mkdir()
    (path / "inside.txt").write_text("a folder where a file belongs\n")


def unreadable(path: Path):
    path.chmod(0)


def symlink_loop(path: Path):
    path.unlink()
    os.symlink(path.name, path)  # a link to itself: every open ends in ELOOP


BREAKS = {
    "random_bytes": random_bytes,
    "empty": empty,
    "truncated": truncated,
    "folder": folder,
    "unreadable": unreadable,
    "symlink_loop": symlink_loop,
}


def as_root_skip(kind: str):
    if kind == "unreadable" and AS_ROOT:
        pytest.skip(
            "running as root, which reads a chmod 000 file anyway (the permission check itself is tested by "
            "patching os.access: test_a_run_folder_or_runs_folder_without_permission_reads_with_its_reason)"
        )


def run_files(run_dir: Path) -> list[str]:
    """The files a finished run folder holds (not the lock, which only writers open)."""
    return sorted(p.name for p in run_dir.iterdir() if p.is_file() and not p.name.startswith("."))


@pytest.fixture(scope="module")
def finished_files(trained_run) -> list[str]:
    names = run_files(trained_run.path)
    # What a finished run holds; a new file gets broken too as soon as runs write it.
    assert {"config.json", "status.json", "metrics.json", "predictions.csv", "history.csv", "model.keras"} <= set(
        names
    ), names
    return names


def copy_run(source: Path, artifacts: Path, run_id: str) -> Path:
    target = artifacts / "runs" / run_id
    shutil.copytree(source, target)
    return target


def broken_id(name: str, kind: str) -> str:
    return f"20990101-000001-efficientnet_lite0-base-{kind}-{name.replace('.', '_')}"


def restore_permissions(artifacts: Path):
    for path in (artifacts / "runs").rglob("*"):
        if not path.is_symlink():
            path.chmod(0o755 if path.is_dir() else 0o644)


def runs_json(artifacts: Path, data: Path) -> list[dict]:
    """`runs --all --json` through the CLI's own main, in this process."""
    from tomjerry.cli import main

    out, err = io.StringIO(), io.StringIO()
    with redirect_stdout(out), redirect_stderr(err):
        code = main(["runs", "--all", "--json", "--artifacts", str(artifacts), "--data", str(data)])
    assert code == 0, err.getvalue()
    assert "Traceback" not in err.getvalue()
    return json.loads(out.getvalue())


def comparable(summary: dict) -> dict:
    return {
        key: value
        for key, value in summary.items()
        if key not in ("run_id", "path", "label", "created", "test_set_scorings")
    }


@pytest.fixture(scope="module")
def bystander_before(trained_run, demo_root, tmp_path_factory) -> dict:
    artifacts = tmp_path_factory.mktemp("clean")
    copy_run(trained_run.path, artifacts, BYSTANDER)
    (summary,) = runs_json(artifacts, demo_root)
    return comparable(summary)


# Files without which a finished run is not one: it reads unreadable or incomplete, saying why.
REQUIRED = {"config.json", "status.json", "metrics.json", "predictions.csv", "split.csv"}
# Ways of breaking a file that its stat and first line show (content is checked where it is read).
SEEN_WITHOUT_READING = {"empty", "folder", "unreadable", "symlink_loop"}


def expect_broken(name: str, kind: str, summary: dict, record):
    """What the runs table says of a run with `name` broken by `kind`."""
    what = (name, kind, summary["state"], summary["error"], summary["model_error"])
    structural = kind in SEEN_WITHOUT_READING
    if name in REQUIRED and (structural or name.endswith(".json") or name == "predictions.csv"):
        assert summary["state"] in ("unreadable", "incomplete"), what
        assert name in summary["error"] or "status" in summary["error"], what
    elif name == "model.keras":
        assert summary["state"] == "finished" and not summary["has_model"], what
        assert summary["model_error"].startswith("model.keras"), what
    else:
        # Its numbers come from metrics.json: still finished, degraded where it can tell cheaply;
        # each reader of the file says why it cannot read it (the pages test).
        assert summary["state"] == "finished", what
        if structural or name.endswith(".json"):  # a JSON file is parsed: any damage shows
            assert summary["error"] and name in summary["error"], what
    if name == "predictions.csv" and kind == "truncated":
        with pytest.raises(ValueError, match=r"predictions.csv is cut short \(its last row is incomplete\)"):
            record.folder.read_predictions()
    assert record.label() and record.setting()


@pytest.mark.parametrize("kind", sorted(BREAKS))
def test_runs_json_reads_a_broken_run_beside_a_sound_one(
    kind, trained_run, finished_files, demo_root, bystander_before, tmp_path
):
    as_root_skip(kind)
    artifacts = tmp_path / "artifacts"
    copy_run(trained_run.path, artifacts, BYSTANDER)
    for name in finished_files:
        broken = copy_run(trained_run.path, artifacts, broken_id(name, kind))
        BREAKS[kind](broken / name)
    try:
        summaries = {summary["run_id"]: summary for summary in runs_json(artifacts, demo_root)}
        records = {run.run_id: run for run in read_runs(artifacts)}
        assert comparable(summaries.pop(BYSTANDER)) == bystander_before
        assert len(summaries) == len(finished_files)
        for name in finished_files:
            expect_broken(name, kind, summaries[broken_id(name, kind)], records[broken_id(name, kind)])
    finally:
        restore_permissions(artifacts)


def broken_artifacts(trained_run, finished_files, kind: str, folder: Path) -> Path:
    artifacts = folder / "artifacts"
    copy_run(trained_run.path, artifacts, BYSTANDER)
    for name in finished_files:
        BREAKS[kind](copy_run(trained_run.path, artifacts, broken_id(name, kind)) / name)
    return artifacts


def broken_runs_offered(app, ids: list[str]) -> list[tuple]:
    """(widget, value) for every run picker on the page and every broken run it offers: pickers
    offer run ids (shown by name) or names; a broken copy's name ends with its id's last part."""
    found = []
    for widget in list(app.selectbox) + list(app.multiselect):
        for run_id in ids:
            tail = run_id.rsplit("-", 1)[-1]
            for value in [run_id] + [option for option in widget.options if option.endswith(f"· {tail}")]:
                try:
                    shown = widget.format_func(value)
                except Exception:  # noqa: BLE001 - a format_func that knows only its own values
                    continue
                if shown in widget.options:
                    found.append((widget.key, type(widget).__name__, value))
                    break
    return found


def render_every_page(monkeypatch, demo_root, artifacts, ids, pages=PAGES) -> dict:
    """Each page opened, then shown each broken run it offers; none may show an exception.
    Returns page -> how many broken runs it was shown."""
    monkeypatch.setenv("TOMJERRY_DATA", str(demo_root))
    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(artifacts))
    picked = {}
    for page in pages:
        app = AppTest.from_file(str(ROOT / page), default_timeout=TIMEOUT).run()
        assert not app.exception, (page, app.exception)
        picked[page] = 0
        for key, kind, value in broken_runs_offered(app, ids):
            widgets = app.selectbox if kind == "Selectbox" else app.multiselect
            widget = widgets(key=key) if key else next(w for w in widgets if not w.key)
            widget.set_value([value] if kind == "Multiselect" else value).run()
            assert not app.exception, (page, value, app.exception)
            picked[page] += 1
    return picked


@pytest.mark.slow
@pytest.mark.parametrize("kind", sorted(set(BREAKS) - {"random_bytes"}))
def test_every_page_renders_beside_runs_broken_each_way(
    kind, monkeypatch, trained_run, finished_files, demo_root, tmp_path
):
    as_root_skip(kind)
    artifacts = broken_artifacts(trained_run, finished_files, kind, tmp_path)
    try:
        render_every_page(monkeypatch, demo_root, artifacts, [broken_id(n, kind) for n in finished_files])
    finally:
        restore_permissions(artifacts)


@pytest.mark.slow
def test_every_page_renders_beside_runs_with_random_bytes_in_each_file(
    monkeypatch, trained_run, finished_files, demo_root, tmp_path
):
    artifacts = broken_artifacts(trained_run, finished_files, "random_bytes", tmp_path)
    ids = [broken_id(name, "random_bytes") for name in finished_files]
    picked = render_every_page(monkeypatch, demo_root, artifacts, ids)
    # The pages that pick a run were shown each broken run they offer.
    assert picked["pages/5_Predict.py"] and picked["pages/3_Compare.py"], picked


# The files and pages issue 28 saw crash (Train and Compare on status.json and history.csv, Compare
# on predictions.csv, Predict on novelty.npz, the report on inference.json), without the pages that
# compute Grad-CAM maps on opening (--slow has them).
QUICK_FILES = ("status.json", "history.csv", "predictions.csv", "novelty.npz", "inference.json")
QUICK_PAGES = ("pages/2_Train.py", "pages/3_Compare.py", "pages/5_Predict.py")


def test_pages_render_beside_the_files_that_took_them_down(monkeypatch, trained_run, demo_root, tmp_path):
    artifacts = broken_artifacts(trained_run, QUICK_FILES, "random_bytes", tmp_path)
    ids = [broken_id(name, "random_bytes") for name in QUICK_FILES]
    picked = render_every_page(monkeypatch, demo_root, artifacts, ids, QUICK_PAGES)
    assert picked["pages/5_Predict.py"] >= 1 and picked["pages/3_Compare.py"] >= 1, picked


def test_an_unreadable_runs_folder_and_a_symlink_loop_as_artifacts_end_in_a_message(demo_root, tmp_path):
    from tomjerry.cli import main

    loop = tmp_path / "loop"
    os.symlink(loop.name, loop)
    for artifacts in (loop, tmp_path / "file"):
        if artifacts.name == "file":
            artifacts.write_text("not a folder\n")
        out, err = io.StringIO(), io.StringIO()
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["runs", "--all", "--json", "--artifacts", str(artifacts), "--data", str(demo_root)])
        assert code != 0 and "Traceback" not in err.getvalue()
        assert str(artifacts) in err.getvalue(), err.getvalue()


def test_a_run_folder_or_runs_folder_without_permission_reads_with_its_reason(
    monkeypatch, trained_run, demo_root, tmp_path
):
    """chmod 000 stops every user but root, and tests may run as root: here the permission check
    is made to answer as it does for another user (for real with chmod when not root)."""
    import tomjerry.runs.record as record

    artifacts = tmp_path / "artifacts"
    copy_run(trained_run.path, artifacts, BYSTANDER)
    locked = copy_run(trained_run.path, artifacts, broken_id("folder", "unreadable"))
    if AS_ROOT:
        real_access = os.access
        monkeypatch.setattr(record.os, "access", lambda path, mode: Path(path) != locked and real_access(path, mode))
    else:
        locked.chmod(0)
    try:
        summaries = {summary["run_id"]: summary for summary in runs_json(artifacts, demo_root)}
    finally:
        locked.chmod(0o755)
    assert summaries[locked.name]["state"] == "unreadable"
    assert summaries[locked.name]["error"] == "the run folder cannot be read (permission denied)"
    assert summaries[BYSTANDER]["state"] == "finished"

    from tomjerry.cli import main

    runs = artifacts / "runs"
    if AS_ROOT:
        real_iterdir = Path.iterdir

        def refused(self):
            if self == runs:
                raise PermissionError(13, "Permission denied")
            return real_iterdir(self)

        monkeypatch.setattr(Path, "iterdir", refused)
    else:
        runs.chmod(0)
    out, err = io.StringIO(), io.StringIO()
    try:
        with redirect_stdout(out), redirect_stderr(err):
            code = main(["runs", "--all", "--json", "--artifacts", str(artifacts), "--data", str(demo_root)])
    finally:
        runs.chmod(0o755)
    assert code == 2 and "Traceback" not in err.getvalue()
    assert f"error: the runs folder {runs} cannot be read: Permission denied" in err.getvalue()
