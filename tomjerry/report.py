"""The study's story as one standalone HTML file (charts and pictures inlined) for class."""

import base64
import html
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from tomjerry import STUDY_BEST_BINARY_ACCURACY, charts, eda
from tomjerry.dataset import Dataset
from tomjerry.model_specs import SPECS
from tomjerry.results import best_run, finished, run_label, split_comparison
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.record import Run
from tomjerry.runs.study import skipped_models, study_tables
from tomjerry.splits import read_split_csv

STYLE = """
body{font-family:system-ui,sans-serif;max-width:1100px;margin:2em auto;padding:0 1em;color:#222}
h1{margin-bottom:0} .note{color:#666} table{border-collapse:collapse;margin:.5em 0 1.5em}
td,th{border:1px solid #ddd;padding:4px 8px;text-align:right} th{background:#f4f4f4}
td:first-child,th:first-child{text-align:left} .demo{background:#fff3cd;padding:.6em 1em;border-radius:6px}
.cams img{width:180px;margin:2px} figure{display:inline-block;margin:4px;text-align:center;font-size:12px}
"""


class Figures:
    """Inlines plotly.js once, with the first chart, so the file works offline."""

    def __init__(self):
        self.first = True

    def __call__(self, figure) -> str:
        out = figure.to_html(full_html=False, include_plotlyjs=self.first, default_height=360)
        self.first = False
        return out


def png(image: np.ndarray) -> str:
    ok, data = cv2.imencode(".png", cv2.cvtColor(image, cv2.COLOR_RGB2BGR))
    return f"data:image/png;base64,{base64.b64encode(data.tobytes()).decode()}"


def table_html(frame: pd.DataFrame, percent=("binary_accuracy", "exact_match")) -> str:
    shown = frame.copy()
    for column in percent:
        if column in shown:
            shown[column] = shown[column].map(lambda v: f"{v:.2%}" if pd.notna(v) else "")
    for column in ("f1_tom", "f1_jerry"):
        if column in shown:
            shown[column] = shown[column].map(lambda v: f"{v:.3f}" if pd.notna(v) else "")
    return shown.to_html(index=False, escape=True, border=0)


def gradcam_examples(dataset: Dataset, run: Run, count: int = 3) -> str:
    from tomjerry.explain import Explainer, overlay
    from tomjerry.images import read_frame, to_float
    from tomjerry.predict import Predictor

    rows = dataset.usable[dataset.usable.challenge].head(count)
    if rows.empty:
        rows = dataset.usable.head(count)
    predictor = Predictor.from_path(run.path)  # the run's own recipe: the answers its evaluation gives
    explainer = Explainer(predictor.model)
    parts = []
    for row in rows.itertuples():
        prediction, pixels = predictor.predict_with_pixels(Path(row.path), row.filename)
        image = to_float(pixels[None])
        pictures = [f'<figure><img src="{png(read_frame(row.path, 224))}"><figcaption>{html.escape(row.filename)} '
                    f'({row.combination})</figcaption></figure>']
        for label, p in (("tom", prediction.p_tom), ("jerry", prediction.p_jerry)):
            heat = explainer.heatmaps(image, label)[0]
            big = cv2.resize(overlay(image[0], heat), (224, 224))
            pictures.append(f'<figure><img src="{png(big)}"><figcaption>{label}: p={p:.2f}</figcaption></figure>')
        parts.append('<div class="cams">' + "".join(pictures) + "</div>")
    return "".join(parts)


def build_report(dataset: Dataset, runs: list[Run], artifacts=None, with_gradcam: bool = True) -> str:
    """The standalone HTML report about `dataset`, from `runs` (the runs made on it)."""
    figures = Figures()
    table = dataset.usable
    counts = dataset.counts()
    runs = finished(runs)
    best = best_run(runs)
    out = [f"<!doctype html><html><head><meta charset='utf-8'><title>Tom and Jerry: the study</title>"
           f"<style>{STYLE}</style></head><body>",
           "<h1>Tom, Jerry, both or neither?</h1>",
           f"<p class='note'>Report generated {datetime.now():%Y-%m-%d %H:%M} by tomjerry.</p>"]
    if dataset.is_demo:
        out.append("<p class='demo'><b>Demo data</b>: generated drawings, not frames of the cartoon. "
                   "Every number below is about the demo set.</p>")
    out.append("<h2>1. The dataset</h2>")
    out.append(f"<p>{counts['images']:,} frames; {counts['challenges']} distorted challenge frames. "
               "Two labels per frame (tom, jerry), so four combinations:</p>")
    out.append(figures(charts.combinations_bar(eda.combination_counts(table))))
    out.append(figures(charts.co_occurrence_heatmap(eda.co_occurrence(table))))

    out.append("<h2>2. The splits</h2>")
    split, kind, seed = None, None, None
    if best is not None:
        try:  # the run's own split.csv: recomputing it would drop settings such as block_frames
            split = pd.DataFrame({"filename": table.filename,
                                  "split": read_split_csv(best.folder.file(RunFolder.SPLIT), table).to_numpy()})
            kind, seed = best.split.get("kind"), best.split.get("seed")
        except (OSError, ValueError):
            split = None
    if split is not None:
        in_train = int(table.challenge[split.split.to_numpy() == "train"].sum())
        out.append(f"<p>The best model's split: <b>{kind}</b> (seed {seed}), 80/10/10. {in_train} of "
               f"{int(table.challenge.sum())} challenge frames are in its training split. Neighbouring frames "
               "are near-duplicates, so the blocked split (runs of frames kept on one side) is the honest test.</p>")
        out.append(figures(charts.splits_bar(eda.per_split_counts(table, split))))

    out.append("<h2>3. The models</h2><ul>")
    out.extend(f"<li><b>{name}</b>: {html.escape(spec.description)}</li>" for name, spec in SPECS.items())
    out.append("</ul>")

    out.append("<h2>4. Results: base, tuned, tuned with augmentation</h2>")
    results = study_tables(runs)
    out.append(f"<p>The study's best: <b>{STUDY_BEST_BINARY_ACCURACY:.2%}</b> test binary accuracy (tuned "
               "AlexNet with augmentation). Exact match counts a frame right only when both labels are.</p>")
    if results.empty:
        out.append("<p>No finished runs yet.</p>")
    else:
        for variant in ("base", "tuned", "augmented"):
            part = results[results.variant == variant].drop(columns=["variant", "run_id"])
            out.append(f"<h3>{variant}</h3>" + (table_html(part) if len(part) else "<p>none</p>"))
        out.append(figures(charts.accuracy_bars(results)))
    for model, reason in skipped_models(artifacts).items():
        out.append(f"<p class='demo'><b>{html.escape(model)} was not run</b>: {html.escape(reason)}</p>")
    splits = split_comparison(runs)
    if not splits.empty and set(splits.split) >= {"random", "blocked"}:
        out.append("<h3>Random against blocked split</h3>" + table_html(
            splits, percent=("binary_accuracy", "exact_match", "exact_match_min", "exact_match_max")))

    if best:
        metrics = best.metrics or {}
        challenge = metrics.get("challenge", {})
        out.append("<h2>5. The challenge frames</h2>")
        out.append(f"<p>{html.escape(run_label(best))}: {challenge.get('exact_match_correct', 0)} of "
                   f"{challenge.get('count', 0)} challenge frames fully right "
                   f"({metrics.get('challenge_in_training', '?')} of them were in its training split).</p>")
        if "confusion_matrix" in challenge:
            out.append(figures(charts.confusion_heatmap(challenge["confusion_matrix"]["rows_true_columns_predicted"],
                                                        "Challenge frames")))
        if with_gradcam:
            out.append("<h2>6. Where the model looks (Grad-CAM)</h2>")
            out.append(gradcam_examples(dataset, best))
    out.append("</body></html>")
    return "\n".join(out)
