import subprocess
import sys

from conftest import ROOT


def run_cli(*args, env=None):
    return subprocess.run([sys.executable, "-m", "tomjerry", *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120, env=env)


def test_info_prints_counts(demo_root):
    result = run_cli("info", "--data", str(demo_root))
    assert result.returncode == 0, result.stderr
    assert "DEMO DATA" in result.stdout and "320" in result.stdout and "challenges 12" in result.stdout


def test_validate_and_bad_path(demo_root, tmp_path):
    result = run_cli("validate", "--data", str(demo_root), "--image-size", "32")
    assert result.returncode == 0 and "no problems found" in result.stdout
    missing = run_cli("info", "--data", str(tmp_path))
    assert missing.returncode == 2 and "No dataset" in missing.stderr and "Traceback" not in missing.stderr


def test_download_offline_fails_cleanly(tmp_path):
    import os

    env = dict(os.environ, KAGGLEHUB_CACHE=str(tmp_path), KAGGLE_USERNAME="nobody", KAGGLE_KEY="x",
               HTTPS_PROXY="http://127.0.0.1:9", HTTP_PROXY="http://127.0.0.1:9")
    result = run_cli("download", env=env)
    assert result.returncode != 0
    assert "Could not download" in result.stderr and "Traceback" not in result.stderr


def test_demo_data_command(tmp_path):
    result = run_cli("demo-data", "--dest", str(tmp_path / "d"), "--frames", "40")
    assert result.returncode == 0
    assert (tmp_path / "d" / "ground_truth.csv").read_text().count("\n") == 41


def test_train_evaluate_predict_and_ship_from_the_command_line(demo_root, tmp_path):
    import json

    artifacts = tmp_path / "artifacts"
    trained = run_cli("train", "--data", str(demo_root), "--model", "efficientnet_lite0", "--epochs", "1",
                      "--image-size", "48", "--patience", "0", "--tta", "--artifacts", str(artifacts))
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
