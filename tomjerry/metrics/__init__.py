"""The metrics wing: numbers from predictions, pure numpy / pandas / scipy (no TensorFlow, no files).

    evaluation  the study's binary accuracy, correct predictions, per-label metrics and the threshold
                chosen on validation, from (N, 2) labels and probabilities
    stats       cluster bootstrap intervals over linked shot groups (studentized, BCa, percentile), paired
                tests over groups (sign-flip, clustered McNemar), Holm's correction, simulated coverage
    selection   which trial of a search the tuned cell keeps (the validation rule), and its order

May import: the shared bottom only (tomjerry, paths, atomic, quiet). This file imports nothing.
"""
