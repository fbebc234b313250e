"""The training wing: fitting, tuning and scoring one run's model.

    rundata   the data of one run: frames at the run's size, labels, the split and its leakage
    features  a frozen base's features computed once, only the head trained
    fit       fitting one model with the callbacks that keep the run folder current
    tune      Keras Tuner random search with the study's spaces
    scoring   predictions and metrics on validation, test and challenge frames, the saved recipe

May import: inference, runs, config, models, data, metrics and the shared bottom (tomjerry,
paths, atomic, quiet). This file imports nothing.
"""
