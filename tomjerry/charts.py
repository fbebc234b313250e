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


# The video timeline sets its template and every colour itself: inside the app Streamlit's theme
# would otherwise fill unset colours with placeholders that render black once exported.
TIMELINE_TEMPLATE = "plotly_white"
TIMELINE_LINES = {"tom": COLOURS["tom"], "jerry": COLOURS["jerry"], "threshold": "#555555", "cut": "#b0b0b0"}


def video_timeline(table: pd.DataFrame, threshold: float, cuts):
    """p(tom) and p(jerry) against time (s) (each held until the next sampled frame) with the decision threshold as a dashed line, shot cuts
    as grey vertical lines, and under them a strip coloured by each sampled frame's verdict.

    table: one row per sampled frame with time_s, p_tom, p_jerry, verdict (timeline.VideoTimeline.table);
    threshold: 0-1; cuts: times (s) where a new shot starts."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.82, 0.18], vertical_spacing=0.04)
    times = table.time_s.to_numpy()
    step = float(pd.Series(times).diff().median()) if len(times) > 1 else 1.0
    cuts = list(cuts)
    if cuts:
        xs = [x for cut in cuts for x in (cut, cut, None)]
        ys = [y for _ in cuts for y in (0, 1, None)]
        figure.add_trace(go.Scatter(x=xs, y=ys, mode="lines", name="shot cut", hoverinfo="skip",
                                    line=dict(color=TIMELINE_LINES["cut"], width=1)), row=1, col=1)
    for label in ("tom", "jerry"):
        figure.add_trace(go.Scatter(x=times, y=table[f"p_{label}"], mode="lines+markers", name=f"p({label})",
                                    line=dict(color=TIMELINE_LINES[label], width=2, shape="hv"), marker=dict(size=4)),
                         row=1, col=1)
    figure.add_trace(go.Scatter(x=[times.min() if len(times) else 0, (times.max() + step) if len(times) else 1],
                                y=[threshold, threshold], mode="lines", name=f"threshold {threshold:.2f}",
                                line=dict(color=TIMELINE_LINES["threshold"], dash="dash", width=1)), row=1, col=1)
    for verdict in COMBINATIONS:
        rows = table[table.verdict == verdict]
        figure.add_trace(go.Bar(x=rows.time_s + step / 2, y=[1] * len(rows), width=step, name=verdict,
                                marker=dict(color=COLOURS[verdict], line=dict(width=0)),
                                hovertemplate="%{customdata:.1f} s: " + verdict + "<extra></extra>",
                                customdata=rows.time_s), row=2, col=1)
    figure.update_yaxes(range=[0, 1.02], title="probability", row=1, col=1)
    figure.update_yaxes(visible=False, range=[0, 1], row=2, col=1)
    figure.update_xaxes(title="time (s)", row=2, col=1)
    return figure.update_layout(template=TIMELINE_TEMPLATE, colorway=list(TIMELINE_LINES.values()), height=420,
                                barmode="overlay", bargap=0, title="Tom and Jerry over time",
                                legend=dict(orientation="h", x=0, y=1.02, yanchor="bottom"),
                                margin=dict(t=100, b=40))
