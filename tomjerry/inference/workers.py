"""Bounded, shared inference work for a served app: every session's verdicts pass through one batching
thread (Batcher: the pictures queued meanwhile go through the model together), and every Grad-CAM map through one worker process at low priority, instead of one thread
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


class _KeyedFutures:
    """The keyed store Worker and Batcher share: one Future per key, the done ones kept until
    `max_entries` newer keys push them out (one in flight is never dropped). Subclasses call
    `_keep` under `self._lock`."""

    def __init__(self, max_entries: int, lock):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.max_entries = max_entries
        self._lock = lock
        self._jobs: OrderedDict[Hashable, Future] = OrderedDict()

    def _keep(self, key: Hashable, make: Callable[[], Future]) -> Future:
        """The Future under `key` when it is queued, running or done without error (now the newest
        key), else the one `make()` starts, kept under `key` (a job that failed is run again)."""
        future = self._jobs.get(key)
        if future is not None and not (future.done() and future.exception() is not None):
            self._jobs.move_to_end(key)
            return future
        future = make()
        self._jobs[key] = future
        self._trim()
        return future

    def ready(self, key: Hashable):
        """The result under `key` when it is done (raising what its job raised), else None."""
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


class Worker(_KeyedFutures):
    """One thread (or, with `process=True`, one child process) that runs keyed jobs in the order they
    come, each once.

    `submit(key, job, *args)` gives the Future of `job(*args)` under `key`: the one already queued,
    running or done, or a new one (a job that failed is run again). Done results stay until
    `max_entries` newer keys push them out (a job in flight is never dropped). `nice` lowers the
    worker's scheduling priority by that much. A process worker's job and arguments must pickle (a
    module-level function); the process is started (Python's spawn, no fork of a threaded server)
    on the first job."""

    def __init__(self, name: str, max_entries: int = 256, nice: int = 0, process: bool = False):
        super().__init__(max_entries, threading.Lock())
        self.name, self.process = name, process
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

    def submit(self, key: Hashable, job: Callable, *args) -> Future:
        with self._lock:
            return self._keep(key, lambda: self._pool.submit(job, *args))

    def _stop_process(self) -> None:
        for process in list((getattr(self._pool, "_processes", None) or {}).values()):
            process.terminate()
        self._pool.shutdown(wait=False, cancel_futures=True)


class Batcher(_KeyedFutures):
    """One thread that runs keyed items through `run_batch` several at a time: every item queued
    while a batch runs goes into the next one (at most `max_batch` items a batch, oldest first).

    `run_batch(items)` takes a list of items and gives a list of the same length, each a result or
    the exception instance that item raised; an exception raised by `run_batch` itself fails every
    item of its batch. `submit(key, item)` gives the Future of the item's result under `key`: the
    one already queued, running or done, or a new one (an item that failed is run again). Done
    results stay until `max_entries` newer keys push them out, as Worker's. The thread starts on
    the first item and is a daemon (a server that stops does not wait for it).

    Why (issue 28): thirty students upload at once; one picture at a time, each verdict waited for
    every model call queued before it; a batch of sixteen pictures costs the model far less than
    sixteen calls (benchmarks/class_load.py)."""

    def __init__(self, name: str, run_batch: Callable[[list], list], max_batch: int = 16, max_entries: int = 256):
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        super().__init__(max_entries, threading.Condition())
        self.name, self.run_batch, self.max_batch = name, run_batch, max_batch
        self._queue: list[tuple[object, Future]] = []
        self._thread: threading.Thread | None = None
        self.batches: list[int] = []  # the size of each batch run, most recent last (at most 1000 kept)

    def submit(self, key: Hashable, item) -> Future:
        def queued() -> Future:
            future: Future = Future()
            self._queue.append((item, future))
            return future

        with self._lock:
            future = self._keep(key, queued)
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
                self._thread.start()
            self._lock.notify()
            return future

    def _run(self) -> None:
        while True:
            with self._lock:
                while not self._queue:
                    self._lock.wait()
                batch, self._queue = self._queue[: self.max_batch], self._queue[self.max_batch :]
            futures = [future for _, future in batch if future.set_running_or_notify_cancel()]
            items = [item for item, future in batch if future in futures]
            if not items:
                continue
            self.batches = self.batches[-999:] + [len(items)]
            try:
                results = list(self.run_batch(items))
                if len(results) != len(items):
                    raise ValueError(f"run_batch gave {len(results)} results for {len(items)} items")
            except Exception as error:  # the whole batch failed: each item says why
                results = [error] * len(items)
            for future, result in zip(futures, results):
                if isinstance(result, BaseException):
                    future.set_exception(result)
                else:
                    future.set_result(result)


def predict_batch(items: list) -> list:
    """Verdicts for a Batcher: `items` (Predictor, image bytes or path, name) triples, pictures of
    several models mixed; for each, (Prediction, (h, w, 3) uint8 model input) or the BadImage
    reading it raised (tomjerry.inference.predict.Predictor.predict_many, one pass per model)."""
    results: list = [None] * len(items)
    by_model: dict[int, tuple] = {}
    for index, (predictor, source, name) in enumerate(items):
        by_model.setdefault(id(predictor), (predictor, []))[1].append((index, source, name))
    for predictor, rows in by_model.values():
        found = predictor.predict_many([(source, name) for _, source, name in rows])
        for (index, _, _), result in zip(rows, found):
            results[index] = result
    return results


_explainers: dict = {}  # in a map worker process: (model file, mtime, plus_plus) -> Explainer


def draw_maps(model_file: str, stamp: float, plus_plus: bool, pixels):
    """In a worker process: the (tom, jerry) Grad-CAM maps, each (S, S) float16 in [0, 1], of one
    (h, w, 3) uint8 model input, with the model at `model_file` (loaded once per file and mtime)."""
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
