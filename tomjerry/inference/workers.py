"""Bounded, shared inference work for a served app: every session's verdicts pass through one worker
thread and every Grad-CAM map through another, instead of one thread per session each running
the model at once.

Why (issue 28, benchmarks/class_load.py): on one core, thirty sessions classifying at the same
time only slice the core between them, so every verdict waited for all the others, and the six
Grad-CAM maps of each student (about 80 % of the server's work) competed with everyone's verdicts.
Here a verdict waits only for the verdicts queued before it; the maps are computed one at a time
in a thread at a lower scheduling priority (Linux lets a thread lower its own nice value), so a
verdict never waits for a map; a picture two sessions send is computed once (jobs are keyed);
and the results kept are bounded (`max_entries`, least recently used dropped).
"""

import os
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable
from concurrent.futures import Future, ThreadPoolExecutor


def _lower_priority(nice: int) -> None:
    """Raise the calling thread's nice value by `nice` (Linux: a thread id is a process id for
    setpriority); elsewhere, or without permission, the thread keeps its priority."""
    try:
        tid = threading.get_native_id()
        os.setpriority(os.PRIO_PROCESS, tid, min(os.getpriority(os.PRIO_PROCESS, tid) + nice, 19))
    except (AttributeError, OSError):
        pass


class Worker:
    """One thread that runs keyed jobs in the order they come, each once.

    `submit(key, job)` gives the Future of the job under `key`: the one already queued, running or
    done, or a new one. Done results stay until `max_entries` newer keys push them out (a job in
    flight is never dropped). `nice` lowers the thread's scheduling priority by that much."""

    def __init__(self, name: str, max_entries: int = 256, nice: int = 0):
        if max_entries < 1:
            raise ValueError("max_entries must be at least 1")
        self.name, self.max_entries = name, max_entries
        self._pool = ThreadPoolExecutor(
            max_workers=1,
            thread_name_prefix=name,
            initializer=_lower_priority if nice else None,
            initargs=(nice,) if nice else (),
        )
        self._lock = threading.Lock()
        self._jobs: OrderedDict[Hashable, Future] = OrderedDict()

    def submit(self, key: Hashable, job: Callable[[], object]) -> Future:
        with self._lock:
            future = self._jobs.get(key)
            if future is not None and not (future.done() and future.exception() is not None):
                self._jobs.move_to_end(key)
                return future
            future = self._pool.submit(job)
            self._jobs[key] = future
            self._trim()
            return future

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
