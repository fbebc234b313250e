"""The app served locally and Debian's headless Chromium, for the browser tests and for
benchmarks/class_load.py (which imports this file): the one way they start `streamlit run app.py`
on a free loopback port and wait until it is healthy, and the Chromium flags they share."""

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_app(env: dict, timeout: float, log=subprocess.DEVNULL, prefix=()) -> tuple[subprocess.Popen, str]:
    """(the server process, its URL): `streamlit run app.py` on a free loopback port with `env`
    added to this process's environment, `prefix` before the command (e.g. taskset), its output to
    `log`. RuntimeError when it is not healthy within `timeout` seconds (the process is killed)."""
    port = free_port()
    command = [*prefix, sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(port)]
    command += ["--server.address", "127.0.0.1", "--server.headless", "true"]
    process = subprocess.Popen(command, cwd=ROOT, env=dict(os.environ, **env), stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                return process, url
        except OSError:
            time.sleep(0.5)
    process.kill()
    raise RuntimeError(f"streamlit did not become healthy in {timeout:.0f} s")
