"""The study's story as one standalone HTML file (charts and pictures inlined) for class: the
Report page shows it and `python -m tomjerry report --out FILE` writes it headless."""

import base64
import html
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from tomjerry import STUDY_BEST_BINARY_ACCURACY
from tomjerry.data import eda
from tomjerry.data.dataset import Dataset
from tomjerry.data.splits import read_split_csv
from tomjerry.lab.study import (
    BEYOND_COLUMNS,
    CELL_COLUMNS,
    STUDY_VARIANTS,
    beyond_study,
    challenge_note,
    shipped_note,
    skipped_models,
    study_cells,
    study_splits,
    study_tables,
)
from tomjerry.models.specs import SPECS
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.provenance import dataset_fingerprint
from tomjerry.runs.record import Run
from tomjerry.science import charts
from tomjerry.science.deviations import DIFFERENCES
from tomjerry.science.results import COLUMNS, best_run, finished, headline, made_on, run_names, split_comparison

# Tables fit the page: small type, numbers right-aligned, the run name allowed to wrap.
STYLE = """
body{font-family:system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;max-width:1100px;margin:2em auto;
     padding:0 1em;color:#222;line-height:1.45}
h1{margin-bottom:0} .note{color:#666} .demo{background:#fff3cd;padding:.6em 1em;border-radius:6px}
table{border-collapse:collapse;margin:.5em 0 1.5em;font-size:13px;width:100%}
td,th{border-bottom:1px solid #ddd;padding:4px 6px;text-align:right;vertical-align:top}
th{background:#f4f4f4;font-weight:600;white-space:normal}
td.text,th.text{text-align:left} td.wide{min-width:16em}
.headline td{font-size:15px} .cams{margin-bottom:1em}
.cams img{width:180px;margin:2px} figure{display:inline-block;margin:4px;text-align:center;font-size:12px}
.scale img{width:320px;height:14px;vertical-align:middle}
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


def cell(value, kind: str) -> str:
    if value is None or (not isinstance(value, str) and pd.isna(value)):
        return ""
    if kind == "percent":
        return f"{value:.2%}"
    if kind == "f1":
        return f"{value:.3f}"
    if kind == "rate":
        return f"{value:.0e}"
    if kind == "seconds":
        return f"{value:.0f}"
    if kind == "check":
        return "yes" if value else ""
    if kind == "number":
        return f"{value:g}"
    return html.escape(str(value))


def table_html(frame: pd.DataFrame, columns: list[str]) -> str:
    """The columns of `frame` under their human titles (results.COLUMNS), formatted, with each
    title's explanation as a tooltip."""
    columns = [c for c in columns if c in frame]
    head = "".join(
        f"<th class='{'text' if COLUMNS[c].kind == 'text' else ''}' title='{html.escape(COLUMNS[c].help)}'>"
        f"{html.escape(COLUMNS[c].title)}</th>"
        for c in columns
    )
    body = []
    for row in frame[columns].itertuples(index=False):
        cells = []
        for column, value in zip(columns, row):
            kind = COLUMNS[column].kind
            css = ("text wide" if (COLUMNS[column].width or 0) >= 250 else "text") if kind == "text" else ""
            cells.append(f"<td class='{css}'>{cell(value, kind)}</td>")
        body.append("<tr>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def gradcam_examples(dataset: Dataset, run: Run, count: int = 3) -> str:
    from tomjerry.data.images import read_frame, to_float
    from tomjerry.inference.explain import SCALE_CAPTION, Explainer, cam_caption, colour_scale, overlay
    from tomjerry.inference.predict import Predictor

    rows = dataset.usable[dataset.usable.challenge].head(count)
    if rows.empty:
        rows = dataset.usable.head(count)
    predictor = Predictor.from_path(run.path)  # the run's own recipe: the answers its evaluation gives
    explainer = Explainer(predictor.model)
    threshold = predictor.recipe.threshold
    parts = [f"<p class='scale'><img src='{png(colour_scale())}'> {html.escape(SCALE_CAPTION)}</p>"]
    for row in rows.itertuples():
        prediction, pixels = predictor.predict_with_pixels(Path(row.path), row.filename)
        image = to_float(pixels[None])
        pictures = [
            f'<figure><img src="{png(read_frame(row.path, 224))}"><figcaption>{html.escape(row.filename)} '
            f"(truth: {row.combination})</figcaption></figure>"
        ]
        for label, p in (("tom", prediction.p_tom), ("jerry", prediction.p_jerry)):
            heat = explainer.heatmaps(image, label)[0]
            big = cv2.resize(overlay(image[0], heat, probability=float(p), threshold=threshold), (224, 224))
            pictures.append(
                f'<figure><img src="{png(big)}"><figcaption>'
                f"{html.escape(cam_caption(label, float(p), threshold))}</figcaption></figure>"
            )
        parts.append('<div class="cams">' + "".join(pictures) + "</div>")
    return "".join(parts)


def headline_html(runs: list[Run]) -> str:
    """The same numbers Home leads with: the most leakage-resistant split first."""
    found = headline(runs)
    if found is None:
        return "<p>No finished runs yet.</p>"
    rows = [(found.lead, found.setting)]
    if found.random is not None:
        rows.append((found.random, found.random_setting or found.setting))
    body = []
    for result, setting in rows:
        numbers = []
        for metric, title, ci in (
            ("exact_match_accuracy", "exact match", result.exact_match_ci95),
            ("binary_accuracy", "binary accuracy", result.binary_accuracy_ci95),
        ):
            value = result.exact_match if metric == "exact_match_accuracy" else result.binary_accuracy
            extra = f" (95 % interval {ci[0]:.1%} to {ci[1]:.1%})" if ci else ""
            spread = result.spread(metric)
            extra += f" (seeds from {spread[0]:.1%} to {spread[1]:.1%})" if spread else ""
            numbers.append(f"{title} <b>{value:.2%}</b>{extra}")
        body.append(
            f"<tr><td class='text'>{html.escape(result.describe())}</td><td class='text'>"
            f"{html.escape(setting)}</td><td class='text'>{'; '.join(numbers)}</td></tr>"
        )
    return (
        "<table class='headline'><thead><tr><th class='text'>split</th><th class='text'>setting</th>"
        f"<th class='text'>test scores</th></tr></thead><tbody>{''.join(body)}</tbody></table>"
        f"<p class='note'>The study's best, {STUDY_BEST_BINARY_ACCURACY:.2%} binary accuracy, was on a random "
        "split; the random split lets near-identical neighbouring frames sit on both sides of train and test, "
        "so it reads higher than a blocked or shots split.</p>"
    )


def build_report(dataset: Dataset, runs: list[Run], artifacts=None, with_gradcam: bool = True) -> str:
    """The standalone HTML report about `dataset`, from `runs` (the runs made on it)."""
    figures = Figures()
    table = dataset.usable
    counts = dataset.counts()
    runs = finished(runs)
    fingerprint = dataset_fingerprint(table)
    best = best_run(runs)
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Tom and Jerry: the study</title>"
        f"<style>{STYLE}</style></head><body>",
        "<h1>Tom, Jerry, both or neither?</h1>",
        f"<p class='note'>Report generated {datetime.now():%Y-%m-%d %H:%M} by tomjerry.</p>",
    ]
    if dataset.is_demo:
        out.append(
            "<p class='demo'><b>Demo data</b>: generated drawings, not frames of the cartoon. "
            "Every number below is about the demo set.</p>"
        )
    out.append("<h2>At a glance</h2>" + headline_html(runs))

    out.append("<h2>1. The dataset</h2>")
    out.append(
        f"<p>{counts['images']:,} frames; {counts['challenges']} distorted challenge frames. "
        "Two labels per frame (tom, jerry), so four combinations:</p>"
    )
    out.append(figures(charts.combinations_bar(eda.combination_counts(table))))
    out.append(figures(charts.co_occurrence_heatmap(eda.co_occurrence(table))))

    out.append("<h2>2. The splits</h2>")
    split = None
    if best is not None and made_on(best, fingerprint):
        try:  # the run's own split.csv: recomputing it would drop settings such as block_frames
            split = pd.DataFrame(
                {
                    "filename": table.filename,
                    "split": read_split_csv(best.folder.file(RunFolder.SPLIT), table).to_numpy(),
                }
            )
        except (OSError, ValueError):
            split = None
    if split is not None:
        in_train = int(table.challenge[split.split.to_numpy() == "train"].sum())
        kind, seed = best.split.get("kind"), best.split.get("seed")
        out.append(
            f"<p>The best model's split: <b>{kind}</b> (seed {seed}): {in_train} of "
            f"{int(table.challenge.sum())} challenge frames are in its training split. Neighbouring frames "
            "are near-duplicates, so a blocked split (runs of frames kept on one side) or a shots split "
            "(whole shots kept on one side) is the honest test.</p>"
        )
        out.append(figures(charts.splits_bar(eda.per_split_counts(table, split))))
    else:
        out.append("<p>No finished run with a model on this dataset yet: no split to show.</p>")

    out.append("<h2>3. The models</h2><ul>")
    out.extend(f"<li><b>{name}</b>: {html.escape(spec.description)}</li>" for name, spec in SPECS.items())
    out.append("</ul>")

    out.append("<h2>4. Results: base, tuned, tuned with augmentation</h2>")
    results = study_tables(runs)
    out.append(
        f"<p>The study's best: <b>{STUDY_BEST_BINARY_ACCURACY:.2%}</b> test binary accuracy (tuned "
        "AlexNet with augmentation, random split). Exact match counts a frame right only when both labels "
        'are. "Correct" is the study\'s count, binary accuracy x test frames, so a frame with one label '
        "right counts as half.</p>"
    )
    cells = study_cells(results)
    splits = study_splits(results)
    if cells.empty:
        out.append("<p>No finished study cells yet.</p>")
    else:
        shown = splits[0]
        others = (
            f" The study's cells also ran on: {', '.join(splits[1:])} (see the Compare page)." if splits[1:] else ""
        )
        on_split = cells[cells.split == shown]
        notes = f"{challenge_note(on_split)} {shipped_note(on_split)}{others}"
        out.append(f"<p>The study's cells on the <b>{html.escape(shown)}</b> split. {html.escape(notes)}</p>")
        for variant, title in STUDY_VARIANTS.items():
            part = on_split[on_split.variant == variant]
            out.append(
                f"<h3>{html.escape(title)}</h3>" + (table_html(part, CELL_COLUMNS) if len(part) else "<p>none</p>")
            )
        out.append(figures(charts.accuracy_bars(on_split, f"Test accuracy: the study's cells ({shown} split)")))
    for model, reason in skipped_models(artifacts).items():
        out.append(f"<p class='demo'><b>{html.escape(model)} was not run</b>: {html.escape(reason)}</p>")
    beyond = beyond_study(results)
    if len(beyond):
        out.append(
            "<h3>Beyond the study</h3><p>Runs from a named preset (not a cell of the study's grid), "
            f"on every split they ran on. {html.escape(shipped_note(beyond))}</p>"
        )
        out.append(table_html(beyond, BEYOND_COLUMNS))
        out.append(figures(charts.accuracy_bars(beyond, "Test accuracy: beyond the study")))
    comparison = split_comparison(runs)
    if not comparison.empty:
        out.append(
            "<h3>One setting on several splits</h3>"
            + table_html(
                comparison,
                ["setting", "split", "seeds", "binary_accuracy", "exact_match", "exact_match_min", "exact_match_max"],
            )
        )

    if best:
        metrics = best.metrics or {}
        challenge = metrics.get("challenge", {})
        out.append("<h2>5. The challenge frames</h2>")
        out.append(
            f"<p>{html.escape(run_names([best])[best.run_id])}: {challenge.get('exact_match_correct', 0)} of "
            f"{challenge.get('count', 0)} challenge frames fully right "
            f"({metrics.get('challenge_in_training', '?')} of them were in its training split).</p>"
        )
        if "confusion_matrix" in challenge:
            out.append(
                figures(
                    charts.confusion_heatmap(
                        challenge["confusion_matrix"]["rows_true_columns_predicted"], "Challenge frames"
                    )
                )
            )
        if with_gradcam:
            out.append("<h2>6. Where the model looks (Grad-CAM)</h2>")
            out.append(gradcam_examples(dataset, best))
    out.append(
        "<h2>Differences from the study and the papers</h2><ul>"
        + "".join(f"<li><b>{html.escape(title)}</b>: {html.escape(text)}</li>" for title, text in DIFFERENCES)
        + "</ul>"
    )
    out.append("</body></html>")
    return "\n".join(out)
