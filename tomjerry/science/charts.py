"""Plotly figures, built from tables the package computes; the pages and the HTML report share them.

Every figure carries its own template and colours. Importing streamlit makes its own plotly
template the default, and that template holds placeholder colours (#000001, #000002, ...) which
only Streamlit's front end replaces: a figure built under it is black in a standalone HTML file.
The pages show the figures with `theme=None`, so the app and the report look the same."""

import numpy as np
import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

from tomjerry import COMBINATIONS, STUDY_BEST_BINARY_ACCURACY

# Tableau 10: tells its first colours apart for most colour-blind readers, and in print.
PALETTE = ["#4c78a8", "#f58518", "#54a24b", "#e45756", "#72b7b2", "#b279a2", "#eeca3b", "#9d755d", "#ff9da6", "#bab0ac"]
TEMPLATE = go.layout.Template(pio.templates["plotly_white"])
TEMPLATE.layout.colorway = PALETTE
TEMPLATE.layout.font = {"family": "system-ui, -apple-system, Segoe UI, Roboto, sans-serif", "size": 13}
TEMPLATE.layout.margin = {"t": 50, "b": 40, "l": 50, "r": 20}

COLOURS = {"neither": "#9e9e9e", "tom": "#5c7cba", "jerry": "#c0783c", "both": "#7b5ea7"}
METRIC_COLOURS = {"binary accuracy": PALETTE[0], "exact match": PALETTE[1]}
# A legend under the plot takes no width from it, however long the run names are.
LEGEND_BELOW = {"orientation": "h", "yref": "container", "y": 0, "yanchor": "bottom", "xanchor": "left", "x": 0}
LEGEND_ABOVE = {"orientation": "h", "yanchor": "bottom", "y": 1.0, "xanchor": "right", "x": 1}


def styled(figure: go.Figure, **layout) -> go.Figure:
    return figure.update_layout(template=TEMPLATE, **layout)


def combinations_bar(counts: pd.DataFrame, title="Label combinations"):
    figure = px.bar(
        counts,
        x="combination",
        y="images",
        color="combination",
        text="images",
        template=TEMPLATE,
        color_discrete_map=COLOURS,
        category_orders={"combination": list(COMBINATIONS)},
        title=title,
    )
    return styled(figure, showlegend=False, height=340)


def labels_bar(counts: pd.DataFrame):
    long = counts.melt(id_vars="label", var_name="in frame", value_name="images")
    figure = px.bar(
        long,
        x="label",
        y="images",
        color="in frame",
        barmode="group",
        text="images",
        template=TEMPLATE,
        color_discrete_map={"present": "#4c78a8", "absent": "#bab0ac"},
        title="Each label",
    )
    figure.update_traces(textangle=0, textposition="outside", cliponaxis=False)
    # Short titles and the legend below: the Data page draws three charts side by side (260 px each at 1280 px).
    return styled(figure, height=360, legend=LEGEND_BELOW | {"title": None}, margin={"b": 70})


def co_occurrence_heatmap(matrix: pd.DataFrame):
    figure = go.Figure(
        go.Heatmap(
            z=matrix.to_numpy(),
            x=["jerry absent", "jerry present"],
            y=["tom absent", "tom present"],
            text=matrix.to_numpy(),
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
        )
    )
    return styled(figure, title="Label co-occurrence", height=340)


def splits_bar(counts: pd.DataFrame):
    figure = px.bar(
        counts,
        x="split",
        y="images",
        color="combination",
        barmode="group",
        text="images",
        template=TEMPLATE,
        color_discrete_map=COLOURS,
        category_orders={"combination": list(COMBINATIONS)},
        title="Label combinations per split",
    )
    # Each bar's count above it: a class reads the numbers, not the bar heights.
    figure.update_traces(textangle=0, textposition="outside", cliponaxis=False)
    return styled(figure, height=380, legend=LEGEND_ABOVE | {"title": None})


def sizes_scatter(sizes: pd.DataFrame):
    """Only worth drawing when the frames come in more than one size (see eda.size_summary)."""
    counts = sizes.groupby(["width", "height"]).size().rename("images").reset_index()
    figure = px.scatter(
        counts,
        x="width",
        y="height",
        size="images",
        text="images",
        template=TEMPLATE,
        title="Image sizes (before resizing)",
    )
    return styled(figure, height=340)


# history.csv's column names (Keras's) as a reader says them.
METRIC_NAMES = {
    "val_loss": "validation loss",
    "val_binary_accuracy": "validation binary accuracy",
    "val_auc": "validation AUC",
    "loss": "training loss",
    "binary_accuracy": "training binary accuracy",
}


def metric_name(metric: str) -> str:
    return METRIC_NAMES.get(metric, metric.replace("_", " "))


def epoch_axis(figure: go.Figure) -> go.Figure:
    # Epochs are whole numbers: without this, plotly puts ticks at 1.5, 2.5 on short runs (and
    # a one-epoch run spans 0 to 2).
    last = max((max(trace.x) for trace in figure.data if trace.x is not None and len(trace.x)), default=1)
    return figure.update_xaxes(title="epoch", tickmode="linear", dtick=1, tickformat="d", range=[0.5, last + 0.5])


def learning_curves(histories: dict, metric: str = "val_loss"):
    """histories: run name -> history.csv frame. One line per run, the legend under the plot."""
    figure = go.Figure()
    for name, history in histories.items():
        if metric in history:
            figure.add_trace(go.Scatter(x=history.epoch, y=history[metric], mode="lines+markers", name=name))
    rows = max(len(histories), 1)
    styled(
        figure,
        title=metric_name(metric),
        height=380 + 22 * rows,
        legend=LEGEND_BELOW,
        margin={"b": 60 + 22 * rows},
    )
    return epoch_axis(figure)


def train_val_curves(history: pd.DataFrame, metric: str = "loss"):
    figure = go.Figure()
    for column, name in ((metric, "train"), (f"val_{metric}", "validation")):
        if column in history:
            figure.add_trace(go.Scatter(x=history.epoch, y=history[column], mode="lines+markers", name=name))
    return epoch_axis(styled(figure, title=metric.replace("_", " "), height=320))


def confusion_heatmap(matrix: list, title="Confusion matrix (rows: truth, columns: predicted)"):
    figure = go.Figure(
        go.Heatmap(
            z=matrix,
            x=list(COMBINATIONS),
            y=list(COMBINATIONS),
            text=matrix,
            texttemplate="%{text}",
            colorscale="Blues",
            showscale=False,
        )
    )
    figure.update_yaxes(autorange="reversed", title="truth")
    return styled(figure, title=title, xaxis_title="predicted", height=360)


def accuracy_bars(table: pd.DataFrame, title="Test accuracy per run"):
    """One pair of bars per run (binary accuracy, exact match), one run per row: `table` has a
    `run` column of distinct names. Rows share a bar only if they share a name, so the names must
    be distinct (results.run_names). The study's best (a random-split figure) is drawn as a dashed
    line only where it is comparable: when every row's `split` is a random one; on a shots or
    blocked split it would read as a target the same test could reach."""
    if table.run.duplicated().any():
        raise ValueError("accuracy_bars needs one row per run: the run names repeat")
    figure = go.Figure()
    for column, name in (("binary_accuracy", "binary accuracy"), ("exact_match", "exact match")):
        figure.add_trace(
            go.Bar(
                y=table.run,
                x=table[column],
                name=name,
                orientation="h",
                marker_color=METRIC_COLOURS[name],
                text=table[column],
                texttemplate="%{x:.1%}",
                textposition="inside",
                insidetextanchor="end",
                textfont={"color": "white"},
            )
        )
    # The study's best as a dashed line behind the bars, named in the legend: a label on the line
    # sat on the first bar's number, and numbers outside the bars sat on the line (bars near 94 %).
    # Only on random-split rows: the study's figure was measured on a random split.
    splits = table["split"].astype(str) if "split" in table else pd.Series([""] * len(table))
    if len(table) and splits.str.startswith("random").all():
        figure.add_vline(x=STUDY_BEST_BINARY_ACCURACY, line_dash="dash", line_color="#555", layer="below")
        figure.add_trace(
            go.Scatter(
                x=[None],
                y=[None],
                mode="lines",
                line={"dash": "dash", "color": "#555"},
                name=f"the study's best binary accuracy, random split ({STUDY_BEST_BINARY_ACCURACY:.2%})",
            )
        )
    figure.update_yaxes(autorange="reversed", title=None, automargin=True)
    figure.update_xaxes(tickformat=".0%", range=[0, 1.08], title="test accuracy")
    return styled(
        figure,
        title=title,
        barmode="group",
        height=150 + 46 * len(table),
        legend=LEGEND_ABOVE,
        margin={"l": 10, "t": 80},
    )


def preset_bars(summary: pd.DataFrame, title="Exact match of each preset, pooled over its split seeds"):
    """One bar per row of tomjerry.science.beyond.preset_summary (split kind, then setting, best
    first within a kind): exact match with its 95 % interval as error bars, the split kind as the
    outer label so scores of different split kinds are never read as one ranking."""
    labels = [
        f"{setting}  (seed{'s' if ',' in str(seeds) else ''} {seeds})"
        for setting, seeds in zip(summary.setting, summary.seeds)
    ]
    figure = go.Figure(
        go.Bar(
            y=[list(summary.split), labels],
            x=summary.exact_match,
            orientation="h",
            marker_color=METRIC_COLOURS["exact match"],
            error_x={
                "type": "data",
                "symmetric": False,
                "array": summary.exact_match_high - summary.exact_match,
                "arrayminus": summary.exact_match - summary.exact_match_low,
                "color": "#333",
                "thickness": 2,
            },
            text=[
                f"{value:.1%} [{low:.1%}, {high:.1%}]"
                for value, low, high in zip(summary.exact_match, summary.exact_match_low, summary.exact_match_high)
            ],
            texttemplate="%{text}",
            textposition="inside",
            insidetextanchor="start",
            textfont={"color": "white"},
            name="exact match, 95 % interval",
            hovertemplate="%{y}<br>exact match %{x:.1%}<extra></extra>",
        )
    )
    figure.update_yaxes(autorange="reversed", title=None, automargin=True)
    figure.update_xaxes(tickformat=".0%", range=[0, 1.02], title="test exact match")
    return styled(figure, title=title, height=130 + 44 * len(summary), showlegend=False, margin={"l": 10, "t": 60})


# The video timeline sets its template and every colour itself: inside the app Streamlit's theme
# would otherwise fill unset colours with placeholders that render black once exported.
# Its type is read from a projector across a room (issue: the legend was ~10 px): 16 px at least for
# the legend, the axes' ticks and their titles, set in the template and again on the figure's axes.
TIMELINE_FONT = 16
TIMELINE_TEMPLATE = go.layout.Template(pio.templates["plotly_white"])
TIMELINE_TEMPLATE.layout.font = {"family": TEMPLATE.layout.font.family, "size": TIMELINE_FONT}
TIMELINE_TEMPLATE.layout.legend = {"font": {"size": TIMELINE_FONT}}
TIMELINE_LINES = {"tom": COLOURS["tom"], "jerry": COLOURS["jerry"], "threshold": "#555555", "cut": "#7a7a7a"}


def video_timeline(table: pd.DataFrame, threshold: float, cuts):
    """p(tom) and p(jerry) against time (s), each held for its sampled frame's span, with the decision
    threshold as a dashed line, shot cuts as dotted vertical lines over them, and under them a strip
    coloured by each sampled frame's verdict, as wide as its span.

    table: one row per sampled frame with time_s, span_s (s), p_tom, p_jerry, verdict
    (timeline.VideoTimeline.table); threshold: 0-1; cuts: times (s) where a new shot starts."""
    from plotly.subplots import make_subplots

    figure = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.82, 0.18], vertical_spacing=0.04)
    times = table.time_s.to_numpy()
    # Each sampled frame stands for its span (to the next sampled frame; the last to the clip's end).
    spans = table.span_s.to_numpy()
    end = float(times[-1] + spans[-1]) if len(times) else 1.0
    # The lines hold each value for its span, so they end where the verdict band ends; the added
    # end point has no marker (it is not a sampled frame).
    held = np.append(times, end) if len(times) else times
    markers = [4] * len(times) + [0] * (len(held) - len(times))
    for label in ("tom", "jerry"):
        values = table[f"p_{label}"].to_numpy()
        figure.add_trace(
            go.Scatter(
                x=held,
                y=np.append(values, values[-1:]),
                mode="lines+markers",
                name=f"p({label})",
                line=dict(color=TIMELINE_LINES[label], width=2, shape="hv"),
                marker=dict(size=markers),
            ),
            row=1,
            col=1,
        )
    figure.add_trace(
        go.Scatter(
            x=[times.min() if len(times) else 0, end],
            y=[threshold, threshold],
            mode="lines",
            name=f"threshold {threshold:.2f}",
            line=dict(color=TIMELINE_LINES["threshold"], dash="dash", width=1),
        ),
        row=1,
        col=1,
    )
    cuts = list(cuts)
    if cuts:  # drawn after the lines; a triangle on top marks a cut that falls on a line's own step
        xs = [x for cut in cuts for x in (cut, cut, None)]
        ys = [y for _ in cuts for y in (0, 1.02, None)]
        figure.add_trace(
            go.Scatter(
                x=xs,
                y=ys,
                mode="lines+markers",
                name="shot cut",
                hoverinfo="skip",
                marker=dict(symbol="triangle-down", size=[0, 9, 0] * len(cuts), color=TIMELINE_LINES["cut"]),
                line=dict(color=TIMELINE_LINES["cut"], width=1.5, dash="dot"),
            ),
            row=1,
            col=1,
        )
    for verdict in COMBINATIONS:
        rows = (table.verdict == verdict).to_numpy()
        figure.add_trace(
            go.Bar(
                x=times[rows] + spans[rows] / 2,
                y=[1] * int(rows.sum()),
                width=spans[rows],
                name=verdict,
                marker=dict(color=COLOURS[verdict], line=dict(width=0)),
                hovertemplate="%{customdata:.1f} s: " + verdict + "<extra></extra>",
                customdata=times[rows],
            ),
            row=2,
            col=1,
        )
    figure.update_yaxes(range=[0, 1.05], title="probability", row=1, col=1)
    figure.update_xaxes(range=[0, end])  # the clip, from its start: a 0.1 s clip is not centred on 0
    figure.update_yaxes(visible=False, range=[0, 1], row=2, col=1)
    figure.update_xaxes(title="time (s)", row=2, col=1)
    figure.update_xaxes(tickfont_size=TIMELINE_FONT, title_font_size=TIMELINE_FONT)
    figure.update_yaxes(tickfont_size=TIMELINE_FONT, title_font_size=TIMELINE_FONT)
    return figure.update_layout(
        template=TIMELINE_TEMPLATE,
        colorway=list(TIMELINE_LINES.values()),
        height=460,
        barmode="overlay",
        bargap=0,
        title="Tom and Jerry over time",
        # Below the time axis: above the plot, a phone's width wrapped the legend over the title.
        legend={**LEGEND_BELOW, "font": {"size": TIMELINE_FONT}},
        margin=dict(t=60, b=120),
    )
