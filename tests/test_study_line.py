"""The study's 94.53 % (a random-split figure) is drawn only beside random-split results."""

import pandas as pd

from tomjerry import STUDY_BEST_BINARY_ACCURACY
from tomjerry.science import charts


def rows(splits):
    return pd.DataFrame(
        {
            "run": [f"run {i}" for i in range(len(splits))],
            "split": splits,
            "binary_accuracy": [0.9] * len(splits),
            "exact_match": [0.8] * len(splits),
        }
    )


def study_line(figure):
    lines = [shape for shape in figure.layout.shapes if shape.x0 == STUDY_BEST_BINARY_ACCURACY]
    names = [trace.name for trace in figure.data if trace.type == "scatter"]
    return lines, names


def test_no_study_line_on_a_shots_split():
    for splits in (["shots 42", "shots 42"], ["random 42", "shots 1"]):
        lines, names = study_line(charts.accuracy_bars(rows(splits)))
        assert not lines and not names, splits


def test_the_study_line_on_a_random_split_is_labelled_with_its_split():
    lines, names = study_line(charts.accuracy_bars(rows(["random 42", "random 1"])))
    assert len(lines) == 1 and names == ["the study's best binary accuracy, random split (94.53%)"]
