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
