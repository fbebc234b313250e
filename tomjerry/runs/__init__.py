"""The runs wing: everything that owns a run folder.

    folder      file names, run ids, the schema version, reading and writing a folder's files
    states      the run states and the transitions between them
    status      status.json under a lock, the heartbeat, liveness (works on a shared folder)
    provenance  which data, split, versions, commit and hardware made a run
    record      `Run`: one folder read once, tolerant of broken, foreign and older folders
    table       the runs table every page and `python -m tomjerry runs` show
    execute     one run in this process: lock, status, cancel, dispatch to fitting or tuning
    launcher    background runs for the dashboard: launch, resume, cancel, wait
    study       the study's grid of runs
    shipping    copying finished runs into the shipped reference results

Arrows point one way: folder <- states <- status <- record <- table; execute, launcher, study
and shipping sit on top. This file imports nothing, so reading a run never loads TensorFlow.
"""
