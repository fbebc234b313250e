"""A distributed search with Keras Tuner's own chief/worker mode: one chief and two workers as
separate processes on 127.0.0.1, on the demo data, all trials landing in one run folder."""

import json
import os
import socket
import subprocess
import sys
import time

import pandas as pd
import pytest
from conftest import ROOT, scaled

from tomjerry.runs.status import read_status


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.mark.slow
def test_chief_and_two_workers_share_one_search(demo_root, tmp_path):
    run_dir = tmp_path / "runs" / "distributed-search"
    oracle = f"127.0.0.1:{free_port()}"
    common = ["--data", str(demo_root), "--run-dir", str(run_dir), "--oracle", oracle]
    chief = [
        sys.executable,
        "-m",
        "tomjerry",
        "tune",
        "--role",
        "chief",
        "--model",
        "efficientnet_lite0",
        "--image-size",
        "48",
        "--epochs",
        "1",
        "--max-trials",
        "4",
        "--tune-dropout",
        "--patience",
        "0",
        *common,
    ]
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    logs = {name: open(tmp_path / f"{name}.log", "wb") for name in ("chief", "w1", "w2")}
    processes = {"chief": subprocess.Popen(chief, cwd=ROOT, env=env, stdout=logs["chief"], stderr=subprocess.STDOUT)}
    deadline = time.time() + scaled(60)
    while not (run_dir / "split.csv").is_file():  # the chief has read the data and written the split
        assert time.time() < deadline and processes["chief"].poll() is None, (tmp_path / "chief.log").read_text()[
            -3000:
        ]
        time.sleep(0.5)
    for worker in ("w1", "w2"):
        processes[worker] = subprocess.Popen(
            [sys.executable, "-m", "tomjerry", "tune", "--role", "worker", "--worker-id", worker, *common],
            cwd=ROOT,
            env=env,
            stdout=logs[worker],
            stderr=subprocess.STDOUT,
        )
    try:
        for name, process in processes.items():
            process.wait(timeout=max(1, deadline + scaled(400) - time.time()))
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
        for log in logs.values():
            log.close()
    outputs = {name: (tmp_path / f"{name}.log").read_text()[-3000:] for name in processes}
    assert all(p.returncode == 0 for p in processes.values()), outputs
    status = read_status(run_dir)
    assert status["state"] == "finished", outputs["chief"]
    trials = pd.read_csv(run_dir / "trials.csv")
    assert len(trials) == 4 and (trials.status == "COMPLETED").all()
    workers = set()
    for history in (run_dir / "tuner_history").glob("trial_*.csv"):
        workers |= set(pd.read_csv(history).worker)
    assert workers == {"w1", "w2"}, workers
    best = json.loads((run_dir / "best_hyperparameters.json").read_text())
    assert best["learning_rate"] in (1e-2, 1e-3, 1e-4) and 0.1 <= best["dropout_rate"] <= 0.5
    assert (run_dir / "metrics.json").is_file()
