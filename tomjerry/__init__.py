"""tomjerry: train, compare and explain CNNs that tell whether a Tom and Jerry frame shows
Tom, Jerry, both or neither (two sigmoid outputs: tom, jerry).

The package is laid out in wings, one idea each; a wing may import the wings below it in this
list, never one above it, and no module imports itself round in a cycle (tests/test_layers.py):

    cli.py, __main__.py  the command-line face (on top; the Streamlit face is app.py, ui.py, pages/)
    lab/        orchestration: execute one run, background launcher, the study's grid, shipping
    science/    results, the study's tables, charts, deviations, the HTML report
    training/   fit, tune, cached features, scoring, a run's data
    inference/  predictor and recipe, Grad-CAM, novelty, TFLite runtime, video, timeline
    runs/       the run-folder store only: folder, states, status, record, table, provenance
    config.py   the frozen RunConfig (imports models.specs and data.decoding's input shapes)
    models/     specs, builders, EfficientNet-Lite, weight reader, model files
    data/       discovery, demo, download, dataset, decoding, images, pipeline, eda, shots, splits
    metrics/    evaluation, stats, selection (pure numpy / pandas)
    this file, paths.py, atomic.py, quiet.py: shared by all (they import no wing)

Each wing's __init__.py says what it offers and imports nothing, so `import tomjerry.runs` (or
any wing) never loads TensorFlow. tomjerry never imports streamlit.
"""

# Importing tomjerry has no side effect: the entry points (the CLI's main, the app's ui.py, a
# background run's main) call tomjerry.quiet.install() to quiet TensorFlow's start-up lines.

LABELS = ("tom", "jerry")
# The four label combinations, in the order used by every table and confusion matrix.
COMBINATIONS = ("neither", "tom", "jerry", "both")
COMBINATION_OF = {(0, 0): "neither", (1, 0): "tom", (0, 1): "jerry", (1, 1): "both"}
# Kaggle's folder for each combination.
FOLDER_OF = {"neither": "tom_jerry_0", "tom": "tom", "jerry": "jerry", "both": "tom_jerry_1"}
# The study's best: tuned AlexNet with augmentation, test binary accuracy.
STUDY_BEST_BINARY_ACCURACY = 0.9453

__version__ = "0.1.0"
