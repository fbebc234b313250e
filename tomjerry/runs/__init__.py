"""The runs wing: the run-folder store only (reading and writing run folders; it runs nothing).

    folder      file names, run ids, the schema version, reading and writing a folder's files,
                a run folder's model.keras (RunFolder.model_file)
    states      the run states and the transitions between them
    status      status.json under a lock, the heartbeat, liveness (works on a shared folder)
    provenance  which data, split, versions, commit and hardware made a run
    record      `Run`: one folder read once, tolerant of broken, foreign and older folders
    ledger      the test-set ledger: how many runs have been scored on the same test frames
    table       the runs table every page and `python -m tomjerry runs` show
    lifecycle   making a run folder: its config and its first status

May import: config, models, data, metrics and the shared bottom (tomjerry, paths, atomic, quiet).
Within the wing: folder <- states <- status <- record <- table. This file imports nothing, so
reading a run never loads TensorFlow. Running a run is the lab wing's job.
"""
