"""One run in this process, start to finish: it says it is alive (waiting, with its pid and a
heartbeat) before it waits for the training lock, trains or tunes, and records how it ended.
Also the entry point of a background run: `python -m tomjerry.lab.execute RUN_DIR [DATA_PATH]`."""

import os
import signal
import sys
import time
import traceback
from pathlib import Path

import pandas as pd
from filelock import FileLock, Timeout

from tomjerry import quiet
from tomjerry.atomic import write_text
from tomjerry.data.decoding import size_text
from tomjerry.runs import states
from tomjerry.runs.folder import TRAINING_LOCK, TRAINING_LOCK_HOLDER, RunFolder, now
from tomjerry.runs.provenance import provenance, split_record
from tomjerry.runs.status import HOST, Heartbeat, mark_finished, set_phase, update_status

# How long a run waits for another run to free the training lock before it gives up.
LOCK_TIMEOUT_SECONDS = 24 * 3600


class RunCancelled(BaseException):
    """SIGTERM (cancel) inside a run. A BaseException, as KeyboardInterrupt is, so that no
    `except Exception` on the way out swallows it: Keras Tuner records an Exception raised in a
    trial as a failed trial and goes on, which turned a cancelled search into a failed one (and a
    stopped study into one that moved on to its next model)."""


def install_cancel_handler():
    def handler(signum, frame):
        raise RunCancelled(f"cancelled (signal {signum})")

    signal.signal(signal.SIGTERM, handler)


def chief_progress(run_dir: Path):
    """For a distributed chief: a status message saying whether workers have come."""
    folder = RunFolder(run_dir)

    def extra() -> dict:
        workers: set[str] = set()
        for path in folder.file(RunFolder.TUNER_HISTORY).glob("trial_*.csv"):
            try:
                workers.update(pd.read_csv(path, usecols=["worker"]).worker.astype(str))
            except (ValueError, OSError, pd.errors.EmptyDataError, pd.errors.ParserError):
                continue
        address = f"{os.environ.get('KERASTUNER_ORACLE_IP')}:{os.environ.get('KERASTUNER_ORACLE_PORT')}"
        if not workers:
            return {"message": f"serving the search at {address}; no worker has reported a trial yet", "workers": []}
        return {
            "message": f"serving the search at {address}; trials from {', '.join(sorted(workers))}",
            "workers": sorted(workers),
        }

    return extra


def fit_or_tune(run_dir: Path, data_path) -> dict:
    # TensorFlow takes seconds to import: the run has already said it is alive (waiting).
    set_phase(run_dir, "starting TensorFlow")
    import keras

    from tomjerry.training import fit as training
    from tomjerry.training import tune as tuning
    from tomjerry.training.rundata import RunData

    folder = RunFolder(run_dir)
    config = folder.read_config()
    keras.utils.set_random_seed(config.seed)
    # Decoding and resizing every frame takes about a minute on the real data before any epoch.
    set_phase(run_dir, f"reading the frames at {size_text(config.input_shape)}")
    data = RunData(config, data_path, run_dir)
    split = split_record(config, folder.split_sha256(), pd.Series(data.split))
    record = provenance(config, data.dataset_record, split, training.visible_gpus(), replicas=0)
    folder.write_json(RunFolder.PROVENANCE, record)
    update_status(
        run_dir,
        data=str(data.source.path),
        demo=data.source.is_demo,
        dataset_fingerprint=data.dataset_record["fingerprint"],
    )
    if config.variant == "tuned":
        result = tuning.tune_and_save(config, data, run_dir)
    else:
        result = training.fit_and_save(config, data, run_dir)
    record["hardware"]["replicas"] = result.get("replicas", 1)
    folder.write_json(RunFolder.PROVENANCE, record)
    return result


def execute_run(run_dir, data_path=None, lock_timeout: float = LOCK_TIMEOUT_SECONDS) -> dict:
    """Run the configured training (or tuning) in this process and record the outcome. Only one
    run trains at a time per runs folder (a file lock that dies with its holder); a run that
    waits for it reads `waiting`. Raises what the run raised, after recording it."""
    run_dir = Path(run_dir)
    folder = RunFolder(run_dir)
    folder.read_config()  # an unreadable config fails here, before any state changes
    install_cancel_handler()
    lock_path = run_dir.parent / TRAINING_LOCK
    holder_path = run_dir.parent / TRAINING_LOCK_HOLDER
    chief = os.environ.get("KERASTUNER_TUNER_ID") == "chief"
    update_status(run_dir, state=states.WAITING, pid=os.getpid(), host=HOST, heartbeat=now(), error=None, message=None)
    started = time.time()
    try:
        with Heartbeat(run_dir, extra=chief_progress(run_dir) if chief else None):
            try:
                with FileLock(lock_path, timeout=lock_timeout):
                    write_text(holder_path, run_dir.name)
                    update_status(run_dir, state=states.RUNNING, started=now())
                    result = fit_or_tune(run_dir, data_path)
            except Timeout:
                holder = holder_path.read_text().strip() if holder_path.is_file() else "another run"
                raise TimeoutError(
                    f"waited {lock_timeout:.0f} s for the training lock, held by {holder}; "
                    "one run trains at a time: resume this run when it is free"
                ) from None
    except (RunCancelled, KeyboardInterrupt) as error:
        update_status(run_dir, state=states.CANCELLED, finished=now(), error=None, message=str(error) or "cancelled")
        raise
    except BaseException as error:
        message = f"{type(error).__name__}: {error}"
        write_text(folder.file(RunFolder.ERROR), traceback.format_exc())
        update_status(run_dir, state=states.FAILED, finished=now(), error=message[:2000])
        raise
    mark_finished(run_dir, result, train_seconds=round(time.time() - started, 1))
    return result


def main(argv=None):
    """Entry point of a background run: python -m tomjerry.lab.execute RUN_DIR [DATA_PATH]."""
    argv = sys.argv[1:] if argv is None else argv
    quiet.install()  # before execute_run imports TensorFlow
    try:
        execute_run(argv[0], argv[1] if len(argv) > 1 and argv[1] else None)
    except (RunCancelled, KeyboardInterrupt):
        return 143
    except BaseException as error:
        print(f"run failed: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
