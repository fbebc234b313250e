"""App speed: `streamlit run` to a healthy server and to the first page rendered in headless
Chromium; warm latency of one prediction (target <= 100 ms) and one Grad-CAM (<= 1 s) through the
same package calls the pages make.

    python benchmarks/app.py [--runs 20]

Uses the best finished run in artifacts/ (the shipped reference model when present); with none,
it trains a tiny one on the demo data first.
"""

import argparse
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_to_render():
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    start = time.perf_counter()
    server = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port),
                               "--server.headless", "true"], cwd=ROOT,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while True:
            try:
                if urllib.request.urlopen(f"{url}/_stcore/health", timeout=1).read() == b"ok":
                    break
            except OSError:
                time.sleep(0.05)
            if time.perf_counter() - start > 120:
                raise SystemExit("server not healthy after 120 s")
        healthy = time.perf_counter() - start
        chromium = shutil.which("chromium")
        if not chromium:
            return healthy, None
        from playwright.sync_api import sync_playwright

        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=chromium, args=[
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
                "--disable-component-update", "--no-first-run"])
            page = browser.new_page()
            page.goto(url)
            page.get_by_text("Results at a glance").first.wait_for(timeout=120_000)
            rendered = time.perf_counter() - start
            browser.close()
        return healthy, rendered
    finally:
        server.terminate()
        server.wait(timeout=20)


def model_run():
    from tomjerry.results import best_run
    from tomjerry.runs.record import read_runs

    best = best_run(read_runs())
    if best:
        return best.path
    from tomjerry.config import RunConfig
    from tomjerry.discovery import find_dataset
    from tomjerry.runs.execute import execute_run
    from tomjerry.runs.lifecycle import create_run

    print("no finished run: training a tiny one on the demo data", file=sys.stderr)
    artifacts = tempfile.mkdtemp(prefix="tomjerry-bench-")
    source = find_dataset()
    run_dir = create_run(RunConfig(model="efficientnet_lite0", image_size=96, epochs=1, patience=0), artifacts, source.path)
    execute_run(run_dir, source.path)
    return run_dir


def timed(function, runs):
    function()  # warm: first call traces the graph
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        function()
        samples.append(time.perf_counter() - start)
    return statistics.median(samples), max(samples)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

    healthy, rendered = start_to_render()
    print(f"streamlit run -> healthy server: {healthy:6.2f} s")
    print("streamlit run -> home page rendered in Chromium: " + (f"{rendered:6.2f} s" if rendered else "skipped (no chromium)"))

    import cv2
    import numpy as np

    from tomjerry.explain import Explainer
    from tomjerry.predict import decode_upload, input_size, load_model, predict_arrays, prepare

    run_dir = model_run()
    model = load_model(run_dir)
    size = input_size(model)
    frame = np.random.default_rng(0).integers(0, 256, (270, 480, 3), dtype=np.uint8)
    upload = cv2.imencode(".jpg", frame)[1].tobytes()

    def predict_once():
        image = prepare(decode_upload(upload, "frame.jpg"), size)[None]
        return predict_arrays(model, image)

    explainer = Explainer(model)
    image = prepare(decode_upload(upload, "frame.jpg"), size)[None]
    median, worst = timed(predict_once, args.runs)
    print(f"model: {run_dir.name} ({size} px)")
    print(f"prediction, one upload (decode + resize + model): median {median * 1000:6.1f} ms, max {worst * 1000:6.1f} ms (target <= 100 ms)")
    median, worst = timed(lambda: explainer.heatmaps(image, "tom"), max(5, args.runs // 4))
    print(f"Grad-CAM, one image and one label:               median {median * 1000:6.1f} ms, max {worst * 1000:6.1f} ms (target <= 1000 ms)")


if __name__ == "__main__":
    main()
