"""The data wing: a dataset from finding it to the frames a model is fed.

    discovery   where the dataset comes from (a path, $TOMJERRY_DATA, data/, the demo)
    demo        the embedded demo dataset of drawn cartoon figures
    download    fetching the real Kaggle dataset (kagglehub)
    dataset     reading the Kaggle layout, every problem with it, and the dataset's fingerprint
    decoding    the one decoder for every picture (dataset frames and uploads), MAX_PIXELS, MAX_BYTES
    images      frames decoded and resized the way the study did, cached as uint8 arrays
    pipeline    tf.data input pipelines and the study's augmentation
    eda         counts, co-occurrence, image sizes and samples
    shots       shots and near-duplicates: what makes a frame-level split leak
    splits      seeded train / validation / test splits, saved as CSV
    leakage     how much each split leaks, measured

May import: metrics and the shared bottom (tomjerry, paths, atomic, quiet). This file imports
nothing, so the Data page renders without TensorFlow.
"""
