import subprocess
import sys
from pathlib import Path

import pytest
from conftest import ROOT, scaled


def run_cli(*args, env=None):
    return subprocess.run(
        [sys.executable, "-m", "tomjerry", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=scaled(120),
        env=env,
    )


def test_info_prints_counts(demo_root):
    result = run_cli("info", "--data", str(demo_root))
    assert result.returncode == 0, result.stderr
    assert "DEMO DATA" in result.stdout and "320" in result.stdout and "challenges 12" in result.stdout
    # info opens no image, so it says where identical and unreadable images are counted.
    assert "run `validate` for the full report (identical images, unreadable files)" in result.stdout


@pytest.mark.parametrize("command", [("info",), ("runs", "--all", "--json"), ("splits", "--seeds", "42")])
def test_a_reader_that_stops_early_ends_the_command_quietly(demo_root, command):
    """`python -m tomjerry runs --json | head`: the pipe closes before the command has written;
    the command ends with 141 (the shell's SIGPIPE status), no BrokenPipeError traceback."""
    process = subprocess.Popen(
        [sys.executable, "-m", "tomjerry", *command, "--data", str(demo_root)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    process.stdout.close()  # the reader is gone before the first line
    stderr = process.stderr.read()
    assert process.wait(timeout=scaled(120)) == 141, stderr
    assert "Traceback" not in stderr and "BrokenPipeError" not in stderr and "Exception ignored" not in stderr


@pytest.mark.slow
def test_validate_and_bad_path(demo_root, tmp_path):
    result = run_cli("validate", "--data", str(demo_root), "--image-size", "32")
    assert result.returncode == 0 and "no problems found" in result.stdout
    missing = run_cli("info", "--data", str(tmp_path))
    assert missing.returncode == 2 and "No dataset" in missing.stderr and "Traceback" not in missing.stderr


@pytest.mark.slow
def test_download_offline_fails_cleanly(tmp_path):
    import os

    env = dict(
        os.environ,
        KAGGLEHUB_CACHE=str(tmp_path),
        KAGGLE_USERNAME="nobody",
        KAGGLE_KEY="x",
        HTTPS_PROXY="http://127.0.0.1:9",
        HTTP_PROXY="http://127.0.0.1:9",
    )
    result = run_cli("download", env=env)
    assert result.returncode != 0
    assert "Could not download" in result.stderr and "Traceback" not in result.stderr


@pytest.mark.slow
def test_demo_data_command(tmp_path):
    result = run_cli("demo-data", "--dest", str(tmp_path / "d"), "--frames", "40")
    assert result.returncode == 0
    assert (tmp_path / "d" / "ground_truth.csv").read_text().count("\n") == 41


@pytest.mark.slow
def test_train_evaluate_predict_and_ship_from_the_command_line(demo_root, tmp_path):
    import json

    artifacts = tmp_path / "artifacts"
    trained = run_cli(
        "train",
        "--data",
        str(demo_root),
        "--model",
        "efficientnet_lite0",
        "--epochs",
        "1",
        "--image-size",
        "48",
        "--patience",
        "0",
        "--tta",
        "--artifacts",
        str(artifacts),
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    run_dir = trained.stdout.strip().splitlines()[-1]
    assert run_dir.startswith(str(artifacts)) and "binary accuracy" in trained.stderr

    evaluated = run_cli("evaluate", run_dir, "--data", str(demo_root))
    assert evaluated.returncode == 0, evaluated.stderr[-2000:]
    metrics = json.loads(evaluated.stdout)
    saved = json.loads((tmp_path / run_dir / "metrics.json").read_text())
    assert metrics["test"]["binary_accuracy"] == saved["test"]["binary_accuracy"]

    frame = next((demo_root / "tom_and_jerry" / "tom_and_jerry" / "tom").iterdir())
    (tmp_path / "note.jpg").write_text("not an image")
    predicted = run_cli("predict", "--model", run_dir, str(frame), str(tmp_path / "note.jpg"))
    lines = predicted.stdout.strip().splitlines()
    assert predicted.returncode == 1  # one file failed, and said so
    assert "p_tom=" in lines[0] and lines[0].split("\t")[-1] in ("neither", "tom", "jerry", "both")
    assert "error: note.jpg is not a readable image" in lines[1]

    shipped = run_cli("ship", run_dir, "--keep-model", "--artifacts", str(artifacts))
    assert shipped.returncode == 0, shipped.stderr[-2000:]
    reference = artifacts / "runs" / f"ref-{run_dir.rsplit('/', 1)[-1]}"
    assert (reference / "REFERENCE").is_file() and (reference / "model.keras").is_file()
    assert (reference / "metrics.json").read_text() == (tmp_path / run_dir / "metrics.json").read_text()


def test_predict_defaults_to_the_best_run_as_video_does(trained_run, demo_root, monkeypatch, capsys, tmp_path):
    """No --model, or --model best: the run every page defaults to (best_choice), said on stderr
    with the reason; a path that does not exist is named plainly, with the way to the default."""
    from tomjerry.cli import main
    from tomjerry.runs.record import read_runs
    from tomjerry.science.results import best_choice

    monkeypatch.setenv("TOMJERRY_ARTIFACTS", str(trained_run.artifacts))
    chosen = best_choice(read_runs())
    frame = str(next((demo_root / "tom_and_jerry" / "tom_and_jerry" / "tom").iterdir()))
    outputs = []
    for model in ([], ["--model", "best"], ["--model", str(trained_run.path)]):
        assert main(["predict", *model, frame]) == 0
        out, err = capsys.readouterr()
        outputs.append(out)
        assert (f"default model: {chosen.reason}" in err) == (not model or model[1] == "best"), err
        assert f"model {chosen.run.label()}:" in err or f"model {trained_run.path.name}:" in err
    assert outputs[0] == outputs[1] == outputs[2] and "p_tom=" in outputs[0]
    assert main(["predict", "--model", str(tmp_path / "nowhere"), frame]) == 2
    err = capsys.readouterr().err
    assert f"no run folder or model file at {tmp_path / 'nowhere'}" in err and "leave --model out" in err


@pytest.mark.slow
def test_evaluate_records_its_look_at_the_test_frames_in_the_ledger(trained_run, demo_root, tmp_path, capsys):
    """`evaluate RUN_DIR` scores the test frames again: the ledger gets a line under RUN_ID@evaluate,
    which counts as one more scoring of that test set (distinct ids, as the ledger counts; the same
    run evaluated again adds a line, not a count); stderr says so. A folder outside <artifacts>/runs
    has no ledger to write to, and stderr says that instead."""
    import json
    import shutil

    from tomjerry.cli import main
    from tomjerry.runs.ledger import read_ledger, test_set_scorings
    from tomjerry.runs.record import read_runs

    artifacts = Path(shutil.copytree(trained_run.artifacts, tmp_path / "artifacts"))
    run_dir = artifacts / "runs" / trained_run.path.name
    run_id = trained_run.path.name
    assert test_set_scorings(read_runs(artifacts))[run_id] == 1
    for _ in range(2):
        assert main(["evaluate", str(run_dir), "--data", str(demo_root)]) == 0
        out, err = capsys.readouterr()
        assert json.loads(out)["test"]["count"] > 0
        assert f"recorded in the test-set ledger as {run_id}@evaluate" in err
    entries = [entry["run_id"] for entry in read_ledger(artifacts)]
    assert entries.count(f"{run_id}@evaluate") == 2
    assert test_set_scorings(read_runs(artifacts))[run_id] == 2
    elsewhere = Path(shutil.copytree(run_dir, tmp_path / "loose" / run_id))
    assert main(["evaluate", str(elsewhere), "--data", str(demo_root)]) == 0
    assert "not recorded in a test-set ledger" in capsys.readouterr().err
    assert not (tmp_path / "test_ledger.jsonl").exists() and len(read_ledger(artifacts)) == len(entries)


def test_the_runs_table_shows_every_label_whole(demo_root, capsys):
    """`runs` cut labels at 57 characters, mid-word ("240x424 px · TT"): each is shown whole, in
    columns as wide as their longest entry."""
    from tomjerry.cli import main
    from tomjerry.runs.record import read_runs

    artifacts = ROOT / "artifacts"
    labels = [run.label() for run in read_runs(artifacts)]
    if not any(len(label) > 57 for label in labels):
        pytest.skip("no shipped run with a long label in this checkout")
    assert main(["runs", "--all", "--artifacts", str(artifacts), "--data", str(demo_root)]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert all(any(line.startswith(f"{label} ") for line in lines) for label in labels), lines[:5]
    state = lines[0].index("state")
    assert all(line[state - 2 : state] == "  " for line in lines if not line.startswith("    "))


def test_run_options_are_the_config_fields():
    from tomjerry.cli import build_parser, config_from_args
    from tomjerry.config import options

    parser = build_parser()
    commands = next(a for a in parser._actions if a.dest == "command").choices
    common = {"data", "config", "preset", "artifacts", "help"}
    train = {action.dest for action in commands["train"]._actions}
    assert train == common | {option.name for option in options("run")}
    tune = {action.dest for action in commands["tune"]._actions}
    assert tune >= common | {option.name for option in options("run", "tuning")}
    # The options the tests and the README have always used, and the ones that had drifted away.
    args = parser.parse_args(
        [
            "train",
            "--model",
            "efficientnet_lite0",
            "--epochs",
            "1",
            "--image-size",
            "48",
            "--patience",
            "0",
            "--tta",
            "--label-smoothing",
            "0.1",
            "--block-frames",
            "20",
            "--split",
            "blocked",
            "--tags",
            "class, demo",
        ]
    )
    config = config_from_args(args)
    assert (config.epochs, config.image_size, config.tta, config.label_smoothing, config.block_frames) == (
        1,
        48,
        True,
        0.1,
        20,
    )
    assert config.tags == ("class", "demo") and config.split == "blocked"
    args = parser.parse_args(["train", "--preset", "lite0-best", "--no-tta", "--epochs", "2"])
    config = config_from_args(args)
    assert config.preset == "lite0-best" and config.tta is False and config.fine_tune_from == 8
    tuned = config_from_args(
        parser.parse_args(["tune", "--model", "zfnet", "--max-trials", "5", "--tune-dropout"]), variant="tuned"
    )
    assert (tuned.max_trials, tuned.tune_dropout, tuned.variant) == (5, True, "tuned")


@pytest.mark.slow
def test_report_out_writes_the_html_file(demo_root, tmp_path):
    out = tmp_path / "class" / "report.html"
    result = run_cli(
        "report", "--out", str(out), "--data", str(demo_root), "--artifacts", str(tmp_path / "a"), "--no-gradcam"
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == str(out)
    page = out.read_text()
    assert page.startswith("<!doctype html>") and "Demo data" in page and "#000001" not in page


def test_tensorflow_start_up_lines_are_filtered():
    from tomjerry.quiet import filtered

    noise = (
        "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR\n"
        "I0000 00:00:1796176391.910492   22503 port.cc:153] oneDNN custom operations are on.\n"
        "W0000 00:00:1796176391.910492   22503 x.cc:1] a warning\n"
        "  that goes on\n"
    )
    real = "E0000 00:00:1796176392.079435   22503 x.cc:1] a real error\nTraceback (most recent call last):\n"
    assert filtered(noise + real, level=2) == real
    assert filtered(noise + real, level=0) == noise + real


SHIPPED_MODEL = ROOT / "artifacts" / "runs" / "ref-20261129-163932-efficientnet_lite0-augmented-eef09d"


@pytest.mark.slow
def test_commands_start_without_log_noise_and_name_bad_files_plainly(tmp_path):
    import pytest

    if not (SHIPPED_MODEL / "model.keras").is_file():
        pytest.skip("the shipped model is not in this checkout")
    (tmp_path / "notes.jpg").write_text("not an image")
    result = run_cli("predict", "--model", str(SHIPPED_MODEL), str(tmp_path / "notes.jpg"))
    assert result.returncode == 1
    assert "absl::InitializeLog" not in result.stderr and "port.cc" not in result.stderr, result.stderr
    assert "notes.jpg is not a readable image" in result.stdout and "object at 0x" not in result.stdout


def test_an_output_file_is_checked_before_the_work_and_written_where_the_user_meant(tmp_path):
    """`video --csv`: refused in one sentence before a clip is classified; written atomically to a
    regular file, through a symbolic link to its target, and into a named pipe without replacing it."""
    import os
    import threading

    from tomjerry.cli import check_writable, write_output

    (tmp_path / "afile").write_text("x")
    for path, message in (
        (tmp_path, "is a folder"),
        (tmp_path / "afile" / "out.csv", "is a file, not a folder"),
        (tmp_path / "no" / "out.csv", "does not exist"),
        ("", "needs the name"),
    ):
        with pytest.raises(ValueError, match=message):
            check_writable(path)
    write_output(tmp_path / "plain.csv", "a,b\n")
    assert (tmp_path / "plain.csv").read_text() == "a,b\n"
    (tmp_path / "real.csv").write_text("old")
    (tmp_path / "link.csv").symlink_to(tmp_path / "real.csv")
    check_writable(tmp_path / "link.csv")
    write_output(tmp_path / "link.csv", "new\n")
    assert (tmp_path / "link.csv").is_symlink() and (tmp_path / "real.csv").read_text() == "new\n"
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    write_output(fifo, "through the pipe\n")
    reader.join(timeout=scaled(10))
    assert received == ["through the pipe\n"] and fifo.is_fifo()


@pytest.mark.slow
@pytest.mark.parametrize("preset", ["quick", "best"])
def test_a_preset_trains_on_any_split_file_it_is_given(demo_root, tmp_path, preset):
    """The accuracy issue's held-back split is scored through `train --preset NAME --split
    SPLIT.csv`: the run keeps the preset's settings, uses the file's split frame by frame (with
    frames left out as `unused`), and records the split as a file. Image size and epochs are
    shrunk so it runs in seconds; every other setting is the preset's."""
    import json

    import pandas as pd

    from tomjerry.config import RUN_PRESETS

    table = pd.read_csv(demo_root / "ground_truth.csv")
    sides = ["train"] * 6 + ["val", "test", "unused"]
    # Shuffled rows, names in another order than the dataset's, and one frame in nine left out.
    split = pd.DataFrame(
        {"filename": table.filename, "split": [sides[i % len(sides)] for i in range(len(table))]}
    ).sample(frac=1, random_state=3)
    split.to_csv(tmp_path / "held_back.csv", index=False)
    artifacts = tmp_path / "artifacts"
    trained = run_cli(
        "train",
        "--preset",
        preset,
        "--split",
        str(tmp_path / "held_back.csv"),
        "--data",
        str(demo_root),
        "--image-size",
        "64",
        "--epochs",
        "1",
        "--artifacts",
        str(artifacts),
    )
    assert trained.returncode == 0, trained.stderr[-2000:]
    run_dir = Path(trained.stdout.strip().splitlines()[-1])
    config = json.loads((run_dir / "config.json").read_text())
    expected = RUN_PRESETS[preset]
    assert config["preset"] == expected.preset and config["fine_tune_from"] == expected.fine_tune_from
    assert config["model"] == expected.model and config["tta"] is True
    used = pd.read_csv(run_dir / "split.csv").set_index("filename").split
    assert used.to_dict() == split.set_index("filename").split.to_dict()
    provenance = json.loads((run_dir / "provenance.json").read_text())
    assert provenance["split"]["kind"] == "file"
    metrics = json.loads((run_dir / "metrics.json").read_text())
    assert metrics["split_counts"] == {side: int((split.split == side).sum()) for side in ("train", "val", "test")}


def test_rescore_and_evaluate_help_say_what_they_do_and_that_the_ledger_counts_it():
    import argparse

    from tomjerry.cli import build_parser

    subparsers = next(a for a in build_parser()._actions if isinstance(a, argparse._SubParsersAction))
    rescore = " ".join(subparsers.choices["rescore"].format_help().split())
    assert "new run folder" in rescore and "test-set ledger" in rescore
    assert "RUN_DIR the finished run folder whose weights are scored again" in rescore
    evaluate = " ".join(subparsers.choices["evaluate"].format_help().split())
    assert "records a scoring in the test-set ledger" in evaluate
