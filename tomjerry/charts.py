"""Plotly figures, built from tables the package computes; the pages and the HTML report share them."""

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go

from tomjerry import COMBINATIONS, STUDY_BEST_BINARY_ACCURACY

COLOURS = {"neither": "#9e9e9e", "tom": "#5c7cba", "jerry": "#c0783c", "both": "#7b5ea7"}


def combinations_bar(counts: pd.DataFrame, title="Frames per label combination"):
    figure = px.bar(counts, x="combination", y="images", color="combination", text="images",
                    color_discrete_map=COLOURS, category_orders={"combination": list(COMBINATIONS)}, title=title)
    return figure.update_layout(showlegend=False, height=340)


def labels_bar(counts: pd.DataFrame):
    long = counts.melt(id_vars="label", var_name="in frame", value_name="images")
    return px.bar(long, x="label", y="images", color="in frame", barmode="group", text="images",
                  color_discrete_map={"present": "#4c78a8", "absent": "#bab0ac"},
                  title="Each label: present or absent").update_layout(height=340)


def co_occurrence_heatmap(matrix: pd.DataFrame):
    figure = go.Figure(go.Heatmap(z=matrix.to_numpy(), x=["jerry absent", "jerry present"],
                                  y=["tom absent", "tom present"], text=matrix.to_numpy(),
                                  texttemplate="%{text}", colorscale="Blues", showscale=False))
    return figure.update_layout(title="Label co-occurrence", height=340)


def splits_bar(counts: pd.DataFrame):
    return px.bar(counts, x="split", y="images", color="combination", barmode="group",
                  color_discrete_map=COLOURS, category_orders={"combination": list(COMBINATIONS)},
                  title="Label combinations per split").update_layout(height=360)


def sizes_scatter(sizes: pd.DataFrame):
    counts = sizes.groupby(["width", "height"]).size().rename("images").reset_index()
    return px.scatter(counts, x="width", y="height", size="images", text="images",
                      title="Image sizes (before resizing)").update_layout(height=340)


def learning_curves(histories: dict, metric: str = "val_loss"):
    """histories: label -> history.csv frame. One line per run."""
    figure = go.Figure()
    for label, history in histories.items():
        if metric in history:
            figure.add_trace(go.Scatter(x=history.epoch, y=history[metric], mode="lines+markers", name=label))
    return figure.update_layout(title=metric.replace("_", " "), xaxis_title="epoch", height=360)


def train_val_curves(history: pd.DataFrame, metric: str = "loss"):
    figure = go.Figure()
    for column, name in ((metric, "train"), (f"val_{metric}", "validation")):
        if column in history:
            figure.add_trace(go.Scatter(x=history.epoch, y=history[column], mode="lines+markers", name=name))
    return figure.update_layout(title=metric.replace("_", " "), xaxis_title="epoch", height=320)


def confusion_heatmap(matrix: list, title="Confusion matrix (rows: truth, columns: predicted)"):
    figure = go.Figure(go.Heatmap(z=matrix, x=list(COMBINATIONS), y=list(COMBINATIONS), text=matrix,
                                  texttemplate="%{text}", colorscale="Blues", showscale=False))
    figure.update_yaxes(autorange="reversed", title="truth")
    return figure.update_layout(title=title, xaxis_title="predicted", height=360)


def accuracy_bars(table: pd.DataFrame):
    """Grouped bars: binary and exact-match accuracy per model and variant, the study's best as a line."""
    long = table.melt(id_vars=["model", "variant"], value_vars=["binary_accuracy", "exact_match"],
                      var_name="metric", value_name="accuracy")
    long["run"] = long.model + " " + long.variant
    figure = px.bar(long, x="run", y="accuracy", color="metric", barmode="group", text_auto=".1%",
                    title="Test accuracy per model and variant")
    figure.add_hline(y=STUDY_BEST_BINARY_ACCURACY, line_dash="dash",
                     annotation_text="study's best binary accuracy (94.53%)")
    return figure.update_layout(yaxis_tickformat=".0%", yaxis_range=[0, 1.02], height=420)
