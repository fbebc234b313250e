"""Bounded, shared inference work for a served app: every session's verdicts pass through one worker
thread, and every Grad-CAM map through one worker process at low priority, instead of one thread
per session each running the model at once.

Why (issue 28, benchmarks/class_load.py): on one core, thirty sessions classifying at the same
time only slice the core between them, so every verdict waited for all the others, and the six
Grad-CAM maps of each student (about 80 % of the server's work) competed with everyone's verdicts.
Here a verdict waits only for the verdicts queued before it; a picture two sessions send is
computed once (jobs are keyed); and the results kept are bounded (`max_entries`, least recently
used dropped). The maps go to a child process with a raised nice value: measured with the maps in
a niced thread of the server instead, a verdict still waited 6.7 s (median, 10 sessions on a busy
machine), because that thread held Python's GIL whenever the system preempted it; a process
holds no lock the server needs, and the system runs the server first.
"""

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Executor, Future, ProcessPoolExecutor, ThreadPoolExecutor
from functools import partial


def _lower_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice` (Linux: a thread id is a process id for
    setpriority); elsewhere, or without permission, the thread keeps its priority."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + nice, 19))
    except (AttributeError, OSError):
        pass


class Worker:
    """One thread (or, with `process=True`, one child process) that runs keyed jobs in the order they
    come, each once.

    `submit(key, job, *args)` gives the Future of `job(*args)` under `key`: the one already queued,
    running or done, or a new one (a job that failed is run again). Done results stay until
    `max_entries` newer keys push them out (a job in flight is never dropped). `nice` lowers the
    worker's scheduling priority by that much. A process worker's job and arguments must pickle (a
    module-level function); the process is started (Python's spawn, no fork of a threaded server)
    on the first job."""

    def __init__(self, name: str, max_entries: int = 256, nice: int = 0, process: bool = False):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.name, self.max_entries, self.process = name, max_entries, process
        if process:
            import multiprocessing

            self._pool: Executor = ProcessPoolExecutor(
                max_workers=1,
                mp_context=multiprocessing.get_context("spawn"),
                initializer=partial(_lower_priority, nice) if nice else None,  # a partial pickles
            )
            # At exit concurrent.futures waits for the job in flight (a model still loading took the
            # server past its 20 s to stop); a map is worth nothing once the server goes. Hooks of
            # threading's exit run last-registered first, so this one runs before that wait.
            threading._register_atexit(self._stop_process)  # type: ignore[attr-defined]  # private, not in typeshed
        else:
            self._pool = ThreadPoolExecutor(
                max_workers=1,
                thread_name_prefix=name,
                initializer=(lambda: _lower_priority(nice)) if nice else None,
            )
        self._lock = threading.Lock()
        self._jobs: OrderedDict[Hashable, Future] = OrderedDict()

    def submit(self, key: Hashable, job: Callable, *args) -> Future:
        with self._lock:
            future = self._jobs.get(key)
            if future is not None and not (future.done() and future.exception() is not None):
                self._jobs.move_to_end(key)
                return future
            future = self._pool.submit(job, *args)
            self._jobs[key] = future
            self._trim()
            return future

    def _stop_process(self) -> None:
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            process.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)

    def ready(self, key: Hashable):
        """The result under `key` when its job is done (raising what the job raised), else None."""
        with self._lock:
            future = self._jobs.get(key)
        if future is None or not future.done():
            return None
        return future.result()

    def pending(self) -> int:
        """Jobs queued or running."""
        with self._lock:
            return sum(not future.done() for future in self._jobs.values())

    def __len__(self) -> int:
        with self._lock:
            return len(self._jobs)

    def _trim(self) -> None:
        extra = len(self._jobs) - self.max_entries
        for key in [key for key, future in self._jobs.items() if future.done()][: max(extra, 0)]:
            del self._jobs[key]


_explainers: dict = {}  # in a map worker process: (model file, mtime, plus_plus) -> Explainer


def draw_maps(model_file: str, stamp: float, plus_plus: bool, pixels):
    """In a worker process: the (tom, jerry) Grad-CAM maps, each (S, S) float16 in [0, 1], of one
    (S, S, 3) uint8 model input, with the model at `model_file` (loaded once per file and mtime)."""
    import numpy as np

    from tomjerry import LABELS
    from tomjerry.data.images import to_float
    from tomjerry.inference.explain import Explainer
    from tomjerry.inference.predict import load_model

    key = (model_file, stamp, plus_plus)
    if key not in _explainers:
        _explainers.clear()  # one model at a time: a class looks at the presenter's model
        _explainers[key] = Explainer(load_model(model_file), plus_plus=plus_plus)
    images = to_float(np.asarray(pixels)[None])
    return tuple(_explainers[key].heatmaps(images, label)[0].astype(np.float16) for label in LABELS)
