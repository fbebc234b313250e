"""The states of a run and the transitions between them, in one place.

    queued ──> waiting ──> running ──> finished
       │          │           ├──────> failed ──────┐
       │          │           └──────> cancelled ───┤ resume: back to queued (dashboard) or
       └──────────┴──> cancelled / failed           │ waiting (command line)
    (any active run whose process is gone reads) interrupted ─┘

`interrupted`, `incomplete` and `unreadable` are never written: they are what a reader concludes
(a process that stopped without saying so; a "finished" folder missing files; a folder that cannot
be read at all).
"""

QUEUED = "queued"  # the folder exists, its process is starting
WAITING = "waiting"  # the process is alive and waits for the training lock
RUNNING = "running"  # training or tuning
FINISHED = "finished"
FAILED = "failed"
CANCELLED = "cancelled"
INTERRUPTED = "interrupted"  # concluded: the process died (killed, crashed, machine gone)
INCOMPLETE = "incomplete"  # concluded: finished, but files are missing
UNREADABLE = "unreadable"  # concluded: not a folder this version can read

ACTIVE = (QUEUED, WAITING, RUNNING)
RESUMABLE = (INTERRUPTED, FAILED, CANCELLED)
ALL = (QUEUED, WAITING, RUNNING, FINISHED, FAILED, CANCELLED, INTERRUPTED, INCOMPLETE, UNREADABLE)

TRANSITIONS = {
    None: {QUEUED},
    QUEUED: {WAITING, CANCELLED, FAILED},
    WAITING: {RUNNING, CANCELLED, FAILED},
    RUNNING: {FINISHED, FAILED, CANCELLED},
    INTERRUPTED: {QUEUED, WAITING, CANCELLED},
    FAILED: {QUEUED, WAITING},
    CANCELLED: {QUEUED, WAITING},
    FINISHED: set(),
    INCOMPLETE: set(),
    UNREADABLE: set(),
}


def check_transition(old: str | None, new: str) -> None:
    """ValueError unless a run in state `old` may move to `new` (staying put is always allowed)."""
    if new not in ALL or new in (INTERRUPTED, INCOMPLETE, UNREADABLE):
        raise ValueError(f"{new!r} is not a state a run can be put in")
    if old == new:
        return
    if new not in TRANSITIONS.get(old, set()):
        raise ValueError(f"a {old or 'new'} run cannot become {new}")
