"""TensorFlow's start-up log lines, filtered the way TF_CPP_MIN_LOG_LEVEL says.

TensorFlow 2.21 logs through absl from C++ while it loads, before it reads TF_CPP_MIN_LOG_LEVEL:
every command printed "WARNING: All log messages before absl::InitializeLog() is called are
written to STDERR" and "I0000 ... port.cc:153] oneDNN custom operations are on ..." (twice, once
per shared library). Turning oneDNN off (TF_ENABLE_ONEDNN_OPTS=0) would silence the second, but
changes the numerics. So while `tensorflow` is first imported, file descriptor 2 goes to a
temporary file; afterwards every line of it is written back to stderr except the absl preamble
and the log lines below TF_CPP_MIN_LOG_LEVEL (1: INFO, 2: and WARNING, 3: and ERROR). A
Python exception raised by the import is unaffected (it is printed after stderr is back).
Nothing happens on import of this module: `install()` is called by the entry points.
"""

import contextlib
import importlib.abc
import importlib.machinery
import os
import re
import sys
import tempfile
from typing import Callable

ABSL_PREAMBLE = "WARNING: All log messages before absl::InitializeLog() is called are written to STDERR"
# absl's prefix: severity letter, month and day, time, thread, file:line]. Before absl is set
# up the time reads "00:00:1796176332.146256" (seconds since 1970), hence [\d.]+.
ABSL_LINE = re.compile(r"^([IWEF])\d{4} \d\d:\d\d:[\d.]+\s+\d+ [^\]]+\] ")
HIDDEN_BELOW = {"I": 1, "W": 2, "E": 3}


def hidden(line: str, level: int) -> bool | None:
    """True for a line to drop, False for one to keep, None for a line that is no log line of
    its own (a multi-line message goes on: it shares the fate of the line before it)."""
    if line.strip() == ABSL_PREAMBLE:
        return level >= 1
    match = ABSL_LINE.match(line)
    if not match:
        return None
    return match.group(1) in HIDDEN_BELOW and level >= HIDDEN_BELOW[match.group(1)]


def filtered(text: str, level: int) -> str:
    kept, dropping = [], False
    for line in text.splitlines(keepends=True):
        verdict = hidden(line, level)
        dropping = dropping if verdict is None else verdict
        if not dropping:
            kept.append(line)
    return "".join(kept)


@contextlib.contextmanager
def stderr_filtered(keep: Callable[[str], str]):
    """File descriptor 2 goes to a temporary file for the block (C++ libraries write below Python's
    sys.stderr, so only the descriptor sees them); afterwards keep(captured text) is written back
    to stderr. Without a usable descriptor 2 (a closed stderr) the block runs unfiltered."""
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        saved = None
    if saved is None:
        yield
        return
    with tempfile.TemporaryFile(mode="w+b") as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            rest = keep(capture.read().decode("utf-8", "replace"))
            if rest:
                sys.stderr.write(rest)
                sys.stderr.flush()


class QuietLoader(importlib.abc.Loader):
    def __init__(self, loader):
        self.loader = loader

    def __getattr__(self, name):  # resource readers and the like: the real loader's
        return getattr(self.loader, name)

    def create_module(self, spec):
        return self.loader.create_module(spec)

    def exec_module(self, module):
        # The module keeps its real loader; this one only wraps the first execution.
        module.__loader__ = module.__spec__.loader = self.loader
        level = int(os.environ.get("TF_CPP_MIN_LOG_LEVEL", "0") or 0)
        with stderr_filtered(lambda text: filtered(text, level)):
            self.loader.exec_module(module)


class QuietTensorFlow(importlib.abc.MetaPathFinder):
    """Finds `tensorflow` once, the normal way, and wraps its loader in QuietLoader."""

    def find_spec(self, name, path=None, target=None):
        if name != "tensorflow":
            return None
        sys.meta_path.remove(self)  # only the first import loads the libraries
        spec = importlib.machinery.PathFinder.find_spec(name, path)
        if spec is not None and spec.loader is not None:
            spec.loader = QuietLoader(spec.loader)
        return spec


def install() -> None:
    """Quiet TensorFlow's start-up in this process: TF_CPP_MIN_LOG_LEVEL defaults to 2 (INFO and
    WARNING hidden; set it to 0 to see every line), and the first `import tensorflow` goes
    through QuietTensorFlow, which filters the absl lines TensorFlow prints before it reads the
    variable. Called by the entry points (tomjerry.cli.main, ui.py for the app, the background
    run's tomjerry.lab.execute.main), never on import: a process that only imports tomjerry keeps
    its stderr and environment as they are. Idempotent; a no-op once TensorFlow is imported."""
    # TensorFlow's C++ start-up chatter hides the progress lines users want. The variable is
    # inherited by the background runs the app starts.
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if "tensorflow" not in sys.modules and not any(isinstance(f, QuietTensorFlow) for f in sys.meta_path):
        sys.meta_path.insert(0, QuietTensorFlow())
