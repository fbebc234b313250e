"""Start-up cost: the config, the runs table, Home and Data never import TensorFlow (a page that
needs a model loads it when it needs it). Checked in a fresh interpreter, since this test
process has long imported it."""

import json
import subprocess
import sys

from conftest import ROOT, scaled

PROBE = """
import json, sys
sys.path.insert(0, {root!r})
import tomjerry.config, tomjerry.runs.table, tomjerry.science.results
from tomjerry.runs.record import read_runs
read_runs()
from streamlit.testing.v1 import AppTest
shown = {{}}
for page in ("home.py", "pages/1_Data.py"):
    app = AppTest.from_file({root!r} + "/" + page, default_timeout={timeout}).run()
    shown[page] = [str(e.value) for e in app.exception]
print(json.dumps({{"exceptions": shown, "tensorflow": "tensorflow" in sys.modules, "keras": "keras" in sys.modules}}))
"""


def test_home_and_data_render_without_importing_tensorflow(demo_root, finished_artifacts):
    env = {"TOMJERRY_DATA": str(demo_root), "TOMJERRY_ARTIFACTS": str(finished_artifacts), "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", PROBE.format(root=str(ROOT), timeout=scaled(120))],
        capture_output=True,
        text=True,
        timeout=scaled(300),
        env={**env, "HOME": str(finished_artifacts), "TOMJERRY_CACHE": str(finished_artifacts / "cache")},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["exceptions"] == {"home.py": [], "pages/1_Data.py": []}
    assert not result["tensorflow"] and not result["keras"], "Home or Data imported TensorFlow"
