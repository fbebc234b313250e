"""tomjerry: train, compare and explain CNNs that tell whether a Tom and Jerry frame shows
Tom, Jerry, both or neither (two sigmoid outputs: tom, jerry)."""

import os

from tomjerry import quiet

# TensorFlow's C++ start-up chatter hides the progress lines users want; set it to 0 to see it.
# TensorFlow 2.21 logs through absl before it reads the variable: quiet filters those lines.
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
quiet.install()

LABELS = ("tom", "jerry")
# The four label combinations, in the order used by every table and confusion matrix.
COMBINATIONS = ("neither", "tom", "jerry", "both")
COMBINATION_OF = {(0, 0): "neither", (1, 0): "tom", (0, 1): "jerry", (1, 1): "both"}
# Kaggle's folder for each combination.
FOLDER_OF = {"neither": "tom_jerry_0", "tom": "tom", "jerry": "jerry", "both": "tom_jerry_1"}
# The study's best: tuned AlexNet with augmentation, test binary accuracy.
STUDY_BEST_BINARY_ACCURACY = 0.9453

__version__ = "0.1.0"
