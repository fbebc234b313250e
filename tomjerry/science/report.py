"""The study's story as one standalone HTML file (charts and pictures inlined) for class: the
Report page shows it and `python -m tomjerry report --out FILE` writes it headless.

Two parts: `report_data` queries the runs and returns a plain `ReportData` (no HTML, no model
loaded), and `render_report` turns it into HTML. Another view of the same study (an answer
section, a slides deck) takes `report_data(...)` and renders it its own way."""

import base64
import html
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import cv2
import numpy as np
import pandas as pd

from tomjerry import STUDY_BEST_BINARY_ACCURACY
from tomjerry.data import eda
from tomjerry.data.dataset import Dataset, dataset_fingerprint
from tomjerry.data.splits import read_split_csv
from tomjerry.models.specs import SPECS
from tomjerry.runs.folder import RunFolder
from tomjerry.runs.record import Run
from tomjerry.science import charts
from tomjerry.science.answer import answer, split_question
from tomjerry.science.beyond import (
    LEVER_NOTE,
    SPLIT_TITLES,
    SUMMARY_COLUMNS,
    lever_steps,
    preset_summary,
    split_kinds,
    summary_note,
)
from tomjerry.science.deviations import DIFFERENCES
from tomjerry.science.results import (
    COLUMNS,
    Headline,
    best_choice,
    best_run,
    finished,
    headline,
    made_on,
    run_names,
    split_comparison,
    untouched_results,
    untouched_sentence,
)
from tomjerry.science.study_tables import (
    CELL_COLUMNS,
    STUDY_VARIANTS,
    beyond_study,
    challenge_note,
    shipped_note,
    short_reason,
    skipped_models,
    study_cells,
    study_splits,
    study_tables,
)

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
.cams img{height:150px;margin:2px} figure{display:inline-block;margin:4px;text-align:center;font-size:12px}
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


# The pictures of the Grad-CAM section are inlined at most this many pixels a side: twice the width
# they are shown at (a sharp picture on a high-density screen), and 9 of them keep the file a few MB.
EXAMPLE_SIDE = 400


# Where an example frame was in the model's own split, in words (the sides read_split_csv gives).
SIDE_WORDS = {
    "train": "in this model's training split",
    "val": "in its validation split, not trained on",
    "test": "in its test split, not trained on",
}


def example_sides(rows: pd.DataFrame, split: pd.DataFrame | None) -> dict[str, str | None]:
    """filename -> the side ('train', 'val' or 'test') of the model's split (best_split: filename,
    split) each of `rows` (dataset rows with filename) was on; None for every frame when `split` is
    None (the run was not made on this dataset, or its split.csv is unreadable) or a frame it lacks.
    The one place the report and the deck say which example frames a model trained on."""
    sides = split.set_index("filename").split if split is not None else pd.Series(dtype=object)
    return {str(name): sides.get(name) for name in rows.filename}


def example_note(challenge: bool, side: str | None) -> str:
    """An example frame's context in words: challenge frame or not, and its side of the model's split."""
    where = SIDE_WORDS.get(side, f"in its {side} split") if side is not None else "its side of the split unknown"
    return f"{'a' if challenge else 'not a'} challenge frame · {where}"


def gradcam_examples(
    rows: pd.DataFrame, run: Run, max_side: int = EXAMPLE_SIDE, split: pd.DataFrame | None = None
) -> str:
    """Grad-CAM pictures of `rows` (dataset rows: path, filename, combination, challenge) under `run`'s
    own recipe, one figure per frame and label, as HTML. The maps are computed on the run's own input
    (its shape, square or 16:9) and drawn on the frame as it is (tomjerry.inference.explain.explain_frame,
    as the Grad-CAM page draws them), at most `max_side` pixels a side; a frame keeps its shape. Each
    frame's caption says whether it is a challenge frame and where it was in `split` (the run's own
    split, best_split; example_note)."""
    from tomjerry.data.decoding import BadImage
    from tomjerry.inference.explain import SCALE_CAPTION, Explainer, cam_caption, colour_scale, explain_frame
    from tomjerry.inference.predict import Predictor

    predictor = Predictor.from_path(run.path)  # the run's own recipe: the answers its evaluation gives
    explainer = Explainer(predictor.model)
    threshold = predictor.recipe.threshold
    parts = [
        f"<p class='scale'><img src='{png(colour_scale())}'> {html.escape(SCALE_CAPTION)}</p>",
        f"<p class='note'>Probabilities from the run's recipe ({html.escape(predictor.recipe.tta_text)}, threshold "
        f"{threshold:.2f}); maps computed on the model's {html.escape(predictor.recipe.size_text)} input and drawn "
        "on the frame as it is.</p>",
    ]
    sides = example_sides(rows, split)
    for row in rows.itertuples():
        path, name = Path(str(row.path)), str(row.filename)
        try:
            explained = explain_frame(predictor, explainer, path, name, max_side=max_side)
        except BadImage:  # a frame that cannot be decoded has nothing to explain
            continue
        note = example_note(bool(getattr(row, "challenge", False)), sides[name])
        pictures = [
            f'<figure><img src="{png(explained.picture)}"><figcaption>{html.escape(name)} '
            f"(truth: {row.combination}; {html.escape(note)})</figcaption></figure>"
        ]
        for label, p, drawn, unseen in explained.maps:
            caption = cam_caption(label, p, threshold) + (f" · {unseen}" if unseen else "")
            pictures.append(f'<figure><img src="{png(drawn)}"><figcaption>{html.escape(caption)}</figcaption></figure>')
        parts.append('<div class="cams">' + "".join(pictures) + "</div>")
    return "".join(parts)


def headline_html(found: Headline | None) -> str:
    """The same numbers Home leads with (results.headline): the most leakage-resistant split first."""
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
        if result.scorings_text():  # what reusing the test set costs (tomjerry.runs.ledger)
            numbers.append(html.escape(result.scorings_text()))
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


def answer_html(found, best_reason: str = "", untouched: list | None = None) -> str:
    """'What the runs say' (science.answer.Answer) as the report's opening section: a sentence per
    question, the table of every model x contrast, the leader, the rule and the study's figures
    labelled with their split. Every sentence is computed from the runs."""
    if found is None:
        return ""
    parts = ["<h2>What the runs say</h2>"]
    if not found.contrasts:
        parts.append(
            "<p>No study cells to compare yet: the answer needs a model's base, tuned and augmented runs tested "
            "on the same frames.</p>"
        )
    for sentence in found.said:  # the question in bold, its answer in plain text
        question, rest = split_question(sentence)
        parts.append(
            f"<p><b>{html.escape(question)}</b> {html.escape(rest)}</p>"
            if question
            else f"<p><b>{html.escape(sentence)}</b></p>"
        )
    if found.contrasts:
        rows = []
        for c in found.contrasts:
            interval = f"[{c.ci95[0]:+.1f}, {c.ci95[1]:+.1f}]"
            if c.approximate:
                interval += f" approximate (covers {c.coverage:.0%} in simulation)"
            cells = [
                c.model,
                c.contrast,
                f"{c.difference:+.1f}",
                interval,
                f"{c.p_group:.2g}",
                f"{c.p_holm:.2g}",
                c.verdict,
                ", ".join(str(seed) for seed in c.seeds),
                str(c.groups),
                ", ".join(str(n) for n in c.test_set_scorings),
            ]
            rows.append("<tr>" + "".join(f"<td class='text'>{html.escape(str(x))}</td>" for x in cells) + "</tr>")
        titles = [
            "model",
            "contrast",
            "points",
            "95 % interval",
            "p (shot groups)",
            "p after Holm",
            "verdict",
            "split seeds",
            "shot groups",
            "test set scored",
        ]
        parts.append(
            "<table><thead><tr>"
            + "".join(f"<th class='text'>{title}</th>" for title in titles)
            + f"</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    if found.leader is not None:
        parts.append(f"<p>{html.escape(found.leader.sentence)}</p>")
    for sentence in untouched or []:
        parts.append(f"<p>{html.escape(sentence)}</p>")
    parts.append(
        "<p class='note'>"
        + html.escape(
            f"{found.method()} {found.study}" + (f" The report's model: {best_reason}." if best_reason else "")
        )
        + "</p>"
    )
    return "\n".join(parts)


@dataclass
class ReportData:
    """What the report shows, computed from the dataset and its runs and nothing else: queries on the
    runs, no HTML. `build_report` renders it; other views of the study (an answer section, a slides
    deck) reuse it, so every view says the same numbers.

    dataset, counts, is_demo: the dataset (data.dataset.Dataset), its counts (Dataset.counts()) and
        whether it is the generated demo set.
    runs: the finished runs among those given (results.finished); best: results.best_run of them
        (with a model), or None; best_name: its display name (results.run_names), or None.
    headline: results.headline(runs): the leading split's scores with intervals, or None.
    split: the best run's own split (its split.csv), a frame of (filename, split) per usable frame,
        or None when there is no best run on this dataset or its split file is unreadable;
        split_kind, split_seed: its kind and seed; challenge_in_train: challenge frames in its train.
    results: science.study_tables' frame of every finished run (one row per run, study columns).
    cells: the study grid's cells among them; cell_splits: the splits they ran on, the shown one first;
        shown_split: cell_splits[0] or None; on_split: the cells on it; cells_note: the sentence about
        challenge frames and shipped runs for those cells (computed, never hard-coded).
    skipped: {model: reason} for study models that were not run (science.study_tables.skipped_models).
    beyond: runs of a named preset outside the grid; beyond_note: the sentence about them.
    beyond_summary: science.beyond.preset_summary(runs): those runs as one row per split kind and
        setting, pooled over the split seeds with one interval, sorted (may be empty).
    comparison: results.split_comparison(runs): one setting on several splits (may be empty).
    challenge: the best run's metrics on the distorted challenge frames (metrics.json "challenge"),
        {} without a best run; challenge_in_training: how many of them were in its training split.
    examples: up to three dataset rows (challenge frames first) for the Grad-CAM section.
    answer: science.answer.answer(runs): what the runs say (the report opens with it), or None.
    best_reason: results.best_choice(runs).reason: which model the report uses and why.
    generated: when the data was computed (local time).
    """

    dataset: Dataset
    counts: dict
    is_demo: bool
    runs: list[Run]
    best: Run | None
    best_name: str | None
    headline: Headline | None
    split: pd.DataFrame | None
    split_kind: str | None
    split_seed: int | None
    challenge_in_train: int | None
    results: pd.DataFrame
    cells: pd.DataFrame
    cell_splits: list[str]
    shown_split: str | None
    on_split: pd.DataFrame
    cells_note: str
    skipped: dict[str, str]
    beyond: pd.DataFrame
    beyond_note: str
    comparison: pd.DataFrame
    challenge: dict
    challenge_in_training: object
    examples: pd.DataFrame
    generated: datetime = field(default_factory=datetime.now)
    beyond_summary: pd.DataFrame = field(default_factory=pd.DataFrame)
    lever_steps: list = field(default_factory=list)  # science.beyond.lever_steps: what each preset step adds
    answer: object = None
    best_reason: str = ""
    untouched: list = field(default_factory=list)  # a sentence per setting scored on the untouched split


def best_split(dataset: Dataset, best: Run | None) -> pd.DataFrame | None:
    """The best run's own split.csv as (filename, split) per usable frame, or None when the run was
    not made on this dataset or its split file cannot be read (recomputing the split would drop
    settings such as block_frames)."""
    table = dataset.usable
    if best is None or not made_on(best, dataset_fingerprint(table)):
        return None
    try:
        split = read_split_csv(best.folder.file(RunFolder.SPLIT), table)
    except (OSError, ValueError):
        return None
    return pd.DataFrame({"filename": table.filename, "split": split.to_numpy()})


def report_data(dataset: Dataset, runs: list[Run], artifacts=None, examples: int = 3) -> ReportData:
    """Everything the report shows about `dataset` from `runs` (the runs made on it), as plain data
    (see ReportData). `artifacts`: the artifacts folder, for the study models that were skipped.
    `examples`: how many frames the Grad-CAM section takes. Reads run folders; loads no model."""
    table = dataset.usable
    untouched = [untouched_sentence(result) for result in untouched_results(runs)]  # before the filter below
    runs = finished(runs)
    best = best_run(runs)
    split = best_split(dataset, best)
    challenge_in_train = None
    if split is not None:
        challenge_in_train = int(table.challenge[split.split.to_numpy() == "train"].sum())
    results = study_tables(runs)
    cells = study_cells(results)
    cell_splits = study_splits(results) if not cells.empty else []
    shown = cell_splits[0] if cell_splits else None
    on_split = cells[cells.split == shown] if shown is not None else cells
    cells_note = ""
    if shown is not None:
        others = cell_splits[1:]
        also = f" The study's cells also ran on: {', '.join(others)} (see the Compare page)." if others else ""
        cells_note = f"{challenge_note(on_split)} {shipped_note(on_split)}{also}"
    beyond = beyond_study(results)
    metrics = (best.metrics or {}) if best is not None else {}
    rows = table[table.challenge].head(examples)
    return ReportData(
        dataset=dataset,
        counts=dataset.counts(),
        is_demo=dataset.is_demo,
        runs=runs,
        best=best,
        best_name=run_names([best])[best.run_id] if best is not None else None,
        headline=headline(runs),
        split=split,
        split_kind=best.split.get("kind") if best is not None and split is not None else None,
        split_seed=best.split.get("seed") if best is not None and split is not None else None,
        challenge_in_train=challenge_in_train,
        results=results,
        cells=cells,
        cell_splits=cell_splits,
        shown_split=shown,
        on_split=on_split,
        cells_note=cells_note,
        skipped=skipped_models(artifacts),
        beyond=beyond,
        beyond_note=shipped_note(beyond) if len(beyond) else "",
        comparison=split_comparison(runs),
        challenge=metrics.get("challenge", {}),
        challenge_in_training=metrics.get("challenge_in_training", "?"),
        examples=rows if not rows.empty else table.head(examples),
        beyond_summary=preset_summary(runs),
        lever_steps=lever_steps(runs),
        answer=answer(runs),
        best_reason=best_choice(runs).reason,
        untouched=untouched,
    )


def build_report(dataset: Dataset, runs: list[Run], artifacts=None, with_gradcam: bool = True) -> str:
    """The standalone HTML report about `dataset`, from `runs` (the runs made on it):
    render_report(report_data(...))."""
    return render_report(report_data(dataset, runs, artifacts), with_gradcam=with_gradcam)


def render_report(data: ReportData, with_gradcam: bool = True) -> str:
    """ReportData as one standalone HTML page (plotly.js and pictures inlined, works offline).
    `with_gradcam`: compute the Grad-CAM section (loads the best run's model and TensorFlow)."""
    figures = Figures()
    out = [
        f"<!doctype html><html><head><meta charset='utf-8'><title>Tom and Jerry: the study</title>"
        f"<style>{STYLE}</style></head><body>",
        "<h1>Tom, Jerry, both or neither?</h1>",
        f"<p class='note'>Report generated {data.generated:%Y-%m-%d %H:%M} by tomjerry.</p>",
    ]
    if data.is_demo:
        out.append(
            "<p class='demo'><b>Demo data</b>: generated drawings, not frames of the cartoon. "
            "Every number below is about the demo set.</p>"
        )
    out.append(answer_html(data.answer, data.best_reason, data.untouched))
    out.append("<h2>At a glance</h2>" + headline_html(data.headline))
    out.append(dataset_html(data, figures))
    out.append(splits_html(data, figures))
    out.append("<h2>3. The models</h2><ul>")
    out.extend(f"<li><b>{name}</b>: {html.escape(spec.description)}</li>" for name, spec in SPECS.items())
    out.append("</ul>")
    out.append(results_html(data, figures))
    if data.best is not None:
        out.append(challenge_html(data, figures))
        if with_gradcam:
            out.append("<h2>6. Where the model looks (Grad-CAM)</h2>")
            out.append(gradcam_examples(data.examples, data.best, split=data.split))
    out.append(
        "<h2>Differences from the study and the papers</h2><ul>"
        + "".join(f"<li><b>{html.escape(title)}</b>: {html.escape(text)}</li>" for title, text in DIFFERENCES)
        + "</ul>"
    )
    out.append("</body></html>")
    return "\n".join(out)


def dataset_html(data: ReportData, figures: Figures) -> str:
    table, counts = data.dataset.usable, data.counts
    return "\n".join(
        [
            "<h2>1. The dataset</h2>",
            f"<p>{counts['images']:,} frames; {counts['challenges']} distorted challenge frames. "
            "Two labels per frame (tom, jerry), so four combinations:</p>",
            figures(charts.combinations_bar(eda.combination_counts(table))),
            figures(charts.co_occurrence_heatmap(eda.co_occurrence(table))),
        ]
    )


def splits_html(data: ReportData, figures: Figures) -> str:
    if data.split is None:
        return "<h2>2. The splits</h2>\n<p>No finished run with a model on this dataset yet: no split to show.</p>"
    table = data.dataset.usable
    return "\n".join(
        [
            "<h2>2. The splits</h2>",
            f"<p>The best model's split: <b>{data.split_kind}</b> (seed {data.split_seed}): "
            f"{data.challenge_in_train} of {int(table.challenge.sum())} challenge frames are in its training "
            "split. Neighbouring frames are near-duplicates, so a blocked split (runs of frames kept on one side) "
            "or a shots split (whole shots kept on one side) is the honest test.</p>",
            figures(charts.splits_bar(eda.per_split_counts(table, data.split))),
        ]
    )


def results_html(data: ReportData, figures: Figures) -> str:
    out = [
        "<h2>4. Results: base, tuned, tuned with augmentation</h2>",
        f"<p>The study's best: <b>{STUDY_BEST_BINARY_ACCURACY:.2%}</b> test binary accuracy (tuned "
        "AlexNet with augmentation, random split). Exact match counts a frame right only when both labels "
        'are. "Correct" is the study\'s count, binary accuracy x test frames, so a frame with one label '
        "right counts as half.</p>",
    ]
    if data.shown_split is None:
        out.append("<p>No finished study cells yet.</p>")
    else:
        shown = data.shown_split
        out.append(f"<p>The study's cells on the <b>{html.escape(shown)}</b> split. {html.escape(data.cells_note)}</p>")
        for variant, title in STUDY_VARIANTS.items():
            part = data.on_split[data.on_split.variant == variant]
            out.append(
                f"<h3>{html.escape(title)}</h3>" + (table_html(part, CELL_COLUMNS) if len(part) else "<p>none</p>")
            )
        out.append(figures(charts.accuracy_bars(data.on_split, f"Test accuracy: the study's cells ({shown} split)")))
    for model, reason in data.skipped.items():
        out.append(
            f"<p><b>{html.escape(model)} was not run</b>: {html.escape(short_reason(reason))}.</p>"
            f"<details><summary>Why, and how to run it</summary><p>{html.escape(reason)}</p></details>"
        )
    if len(data.beyond_summary):
        summary = data.beyond_summary
        out.append(
            "<h3>Beyond the study</h3><p>Runs from a named preset (not a cell of the study's grid). "
            f"{html.escape(summary_note(summary))} {html.escape(data.beyond_note)}</p>"
        )
        for kind in split_kinds(summary):
            out.append(f"<h4>{html.escape(SPLIT_TITLES.get(kind, kind))}</h4>")
            out.append(table_html(summary[summary.split == kind], SUMMARY_COLUMNS))
        out.append(figures(charts.preset_bars(summary)))
        if data.lever_steps:
            out.append(
                "<h4>What each step adds (exact match, paired on the same test frames)</h4><ul>"
                + "".join(f"<li>{html.escape(step.sentence())}</li>" for step in data.lever_steps)
                + f"</ul><p class='note'>{html.escape(LEVER_NOTE)}</p>"
            )
    if not data.comparison.empty:
        out.append(
            "<h3>One setting on several splits</h3>"
            + table_html(
                data.comparison,
                [
                    "setting",
                    "split",
                    "seeds",
                    "binary_accuracy",
                    "exact_match",
                    "exact_match_min",
                    "exact_match_max",
                    "test_set_scorings",
                ],
            )
        )
    return "\n".join(out)


def challenge_html(data: ReportData, figures: Figures) -> str:
    challenge = data.challenge
    out = [
        "<h2>5. The challenge frames</h2>",
        f"<p>{html.escape(data.best_name or '')}: {challenge.get('exact_match_correct', 0)} of "
        f"{challenge.get('count', 0)} challenge frames fully right "
        f"({data.challenge_in_training} of them were in its training split).</p>",
    ]
    if "confusion_matrix" in challenge:
        out.append(
            figures(
                charts.confusion_heatmap(
                    challenge["confusion_matrix"]["rows_true_columns_predicted"], "Challenge frames"
                )
            )
        )
    return "\n".join(out)
