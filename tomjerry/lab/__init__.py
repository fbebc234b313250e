"""The lab wing: orchestration, the only wing that runs runs.

    execute   one run in this process, start to finish (background entry: `python -m tomjerry.lab.execute`)
    launcher  background runs for the dashboard: launch, resume, cancel, wait
    study     the study's grid runner: each model base, tuned and tuned with augmentation
    shipping  copying finished runs into the shipped reference results
    classroom class mode: who may do what when one app is served to a class (no streamlit)

May import: every wing below it (science, training, inference, runs, config, models, data,
metrics) and the shared bottom (tomjerry, paths, atomic, quiet). Only cli.py and the app import
lab. This file imports nothing.
"""
