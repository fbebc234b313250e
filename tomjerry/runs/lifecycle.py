"""Making a run folder: its config and its first status (queued)."""

from pathlib import Path

from tomjerry.config import RunConfig
from tomjerry.runs import states
from tomjerry.runs.folder import RunFolder, new_run_id, now, run_path
from tomjerry.runs.status import update_status


def create_run(config: RunConfig, artifacts=None, data_path=None, path=None, dataset_fingerprint=None) -> Path:
    """A new run folder with its config and a queued status. `path` places it explicitly (a
    distributed search's shared folder); otherwise it gets a generated id under artifacts.
    ValueError when `path` already holds files. `dataset_fingerprint`, when the caller knows
    it, is recorded at once: the run is then listed with its dataset's runs while it is still
    queued or waiting (provenance.json is written only once it trains)."""
    if path:
        path = Path(path)
        if path.exists() and any(path.iterdir()):
            raise ValueError(f"{path} already holds files: give a new or empty run folder")
        path.mkdir(parents=True, exist_ok=True)
    else:
        path = run_path(new_run_id(config), artifacts)
        path.mkdir(parents=True)
    RunFolder(path).write_config(config)
    update_status(
        path,
        state=states.QUEUED,
        created=now(),
        epoch=0,
        epochs=config.epochs,
        data=str(data_path) if data_path else None,
        dataset_fingerprint=dataset_fingerprint,
    )
    return path
