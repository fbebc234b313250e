"""The study as a deck for class: one self-contained HTML file, one idea a slide in large type.

`python -m tomjerry report --slides OUT.html` writes it and the Report page's "Present" button
downloads it. Built on the report's data part (tomjerry.science.report.report_data, the same numbers
the report prints) and the study's answer (tomjerry.science.answer); every sentence with a number in
it is computed from the runs.

Self-contained: no request leaves the file. Charts are plotly figures with plotly.js inlined once
(include_plotlyjs=True, about 4.6 MB; kaleido and matplotlib, which could draw static pictures, are not
among the project's dependencies), drawn static (staticPlot) so a click on a chart moves the deck like a
click anywhere; pictures are PNG data URIs; fonts are the system's.

Each slide is a <section>. The arrow keys, Page Up/Down, Space, Home/End and a click (on the left
fifth of the screen: back) move between slides; the address's #N says which one is shown, so a reload
stays there. Printed, every slide is one page (landscape)."""

import html
from dataclasses import dataclass

from tomjerry import COMBINATION_OF
from tomjerry.data import eda
from tomjerry.data.dataset import Dataset, dataset_fingerprint
from tomjerry.runs.record import Run
from tomjerry.science import charts
from tomjerry.science.deviations import DIFFERENCES
from tomjerry.science.report import Figures, ReportData, example_sides, gradcam_examples, png, report_data
from tomjerry.science.results import made_on, misclassified

# Charts are drawn for a slide: wide, and large type that a room can read.
CHART_FONT = 18
MISTAKES_SHOWN = 6
MISTAKE_HEIGHT = 288  # pixels; a 16:9 frame is then 512 wide, sharp at 24 % of a 1920-pixel projector
# Characters of the differences' text a slide holds in its type size (about 1,300 at 1280x720).
DIFFERENCES_CHARACTERS = 1300

STYLE = """
*{box-sizing:border-box}
html,body{margin:0;height:100%;background:#fff;color:#0a0a0a;
  font-family:system-ui,-apple-system,'Segoe UI',Roboto,'Helvetica Neue',Arial,sans-serif}
section{position:fixed;inset:0;padding:4vh 6vw 7vh;visibility:hidden;overflow:hidden;
  display:flex;flex-direction:column;font-size:clamp(18px,2.6vh,40px);line-height:1.35}
section.current{visibility:visible}
h1{font-size:2.6em;margin:.2em 0 .3em} h2{font-size:1.9em;margin:0 0 .5em}
p,li{margin:.25em 0} ul{margin:.2em 0;padding-left:1.2em}
.big{font-size:1.35em} .note{color:#444;font-size:.8em} .small{font-size:.78em}
.numbers{display:flex;gap:2.5vw;flex-wrap:wrap;margin:.4em 0 .6em}
.number{border-left:.3em solid #1f5fbf;padding:.1em .6em}
.number b{display:block;font-size:1.9em;line-height:1.1}
.chart{flex:1 1 auto;min-height:0}
table{border-collapse:collapse;font-size:.95em;margin:.3em 0}
td,th{padding:.25em .8em;border-bottom:2px solid #ddd;text-align:right}
th{text-align:right;background:#f3f4f6} td.text,th.text{text-align:left}
.camrow{display:flex;flex-wrap:wrap;align-items:flex-start;column-gap:2vw} .camrow p{flex-basis:100%}
.cams img{height:15vh;width:auto;margin:.2vh}
.cams figure{display:inline-block;margin:.2vh .3vw;text-align:center;font-size:.6em;max-width:28vw;vertical-align:top}
.differences li{margin:.35em 0}
.scale img{width:30vw;height:1.2vh;vertical-align:middle} .scale{font-size:.65em}
.mistakes{display:flex;flex-wrap:wrap;gap:1vw} .mistakes figure{margin:0;width:24vw;font-size:.7em}
.mistakes img{width:100%;height:auto}
.demo{background:#fff3cd;padding:.3em .6em;border-radius:6px}
nav{position:fixed;right:2vw;bottom:1.5vh;font-size:16px;color:#444}
@media print{
  @page{size:landscape;margin:0}
  html,body{height:auto}
  section{position:relative;visibility:visible;height:100vh;page-break-after:always;break-after:page}
  section:last-of-type{page-break-after:auto;break-after:auto}
  nav{display:none}
}
"""

SCRIPT = """
(function(){
  var slides = Array.prototype.slice.call(document.querySelectorAll('section'));
  var counter = document.getElementById('counter');
  var current = 0;
  function show(n){
    current = Math.max(0, Math.min(slides.length - 1, n));
    slides.forEach(function(s, i){ s.classList.toggle('current', i === current); });
    counter.textContent = (current + 1) + ' / ' + slides.length;
    if (location.hash !== '#' + (current + 1)) { history.replaceState(null, '', '#' + (current + 1)); }
  }
  document.addEventListener('keydown', function(e){
    var next = {ArrowRight:1, ArrowDown:1, PageDown:1, ' ':1, Enter:1}[e.key];
    var back = {ArrowLeft:1, ArrowUp:1, PageUp:1, Backspace:1}[e.key];
    if (next) { show(current + 1); e.preventDefault(); }
    else if (back) { show(current - 1); e.preventDefault(); }
    else if (e.key === 'Home') { show(0); e.preventDefault(); }
    else if (e.key === 'End') { show(slides.length - 1); e.preventDefault(); }
  });
  document.addEventListener('click', function(e){
    show(e.clientX < window.innerWidth / 5 ? current - 1 : current + 1);
  });
  var start = parseInt((location.hash || '#1').slice(1), 10);
  show(isNaN(start) ? 0 : start - 1);
})();
"""


@dataclass(frozen=True)
class Slide:
    """One slide: its title (the idea) and its HTML body."""

    title: str
    body: str


def esc(value) -> str:
    return html.escape(str(value))


def number(title: str, value: str, detail: str = "") -> str:
    """A large figure with what it is (and its context) beside it."""
    extra = f"<span class='small'>{esc(detail)}</span>" if detail else ""
    return f"<div class='number'><b>{esc(value)}</b>{esc(title)}<br>{extra}</div>"


def chart_html(figures: Figures, figure) -> str:
    """A plotly figure sized by its slide, in large type, static (a click moves the deck)."""
    figure = figure.update_layout(
        font={"size": CHART_FONT}, height=None, width=None, autosize=True, title=None, margin={"t": 30}
    )
    out = figure.to_html(
        full_html=False,
        include_plotlyjs=figures.first,
        default_width="100%",
        default_height="100%",
        config={"staticPlot": True, "responsive": True, "displayModeBar": False},
    )
    figures.first = False
    return f"<div class='chart'>{out}</div>"


def question_slide(data: ReportData) -> Slide:
    demo = (
        "<p class='demo'><b>Demo data</b>: generated drawings, not frames of the cartoon; every number in this "
        "deck is about the demo set.</p>"
        if data.is_demo
        else ""
    )
    return Slide(
        "Tom, Jerry, both or neither?",
        f"<p class='big'>Shown one frame of the cartoon, a convolutional network answers two yes/no questions: "
        f"is Tom in it? Is Jerry in it?</p><p class='big'>Two answers make four combinations: neither, Tom, "
        f"Jerry, both. How often is it right on frames it has never seen, and how sure can we be?</p>{demo}",
    )


def data_slide(data: ReportData, figures: Figures) -> Slide:
    counts = data.counts
    numbers = [number("frames", f"{counts['images']:,}")]
    numbers += [number(name, f"{value:,}") for name, value in counts["combinations"].items()]
    numbers.append(number("distorted challenge frames", f"{counts['challenges']:,}"))
    return Slide(
        "The data: four combinations",
        f"<div class='numbers'>{''.join(numbers)}</div>"
        + chart_html(figures, charts.combinations_bar(eda.combination_counts(data.dataset.usable))),
    )


def split_slide(data: ReportData, figures: Figures) -> Slide:
    """Random against shots, measured: a setting that ran on both split kinds, its exact match on each."""
    comparison = data.comparison
    pairs = []
    if not comparison.empty:
        for setting, rows in comparison.groupby("setting", sort=False):
            kinds = dict(zip(rows.split, rows.itertuples()))
            if "random" in kinds and ("shots" in kinds or "blocked" in kinds):
                pairs.append((setting, kinds["random"], kinds.get("shots") or kinds["blocked"]))
    intro = (
        "<p>Neighbouring frames of one shot are near-copies. A <b>random</b> split (the study's) puts some in "
        "training and their twins in the test set, so the test rewards remembering shots. A <b>shots</b> split "
        "keeps every shot on one side: the test frames come from scenes the model never saw.</p>"
    )
    if not pairs:
        return Slide(
            "Why the split matters",
            intro + "<p class='note'>No setting has run on both a random and a shots (or blocked) split yet, so "
            "the deck cannot measure the gap here: run one preset on both (Train page, Split).</p>",
        )
    table_rows = []
    for setting, random, other in pairs:
        gap = (random.exact_match - other.exact_match) * 100
        table_rows.append(
            f"<tr><td class='text'>{esc(setting)}</td><td>{random.exact_match:.1%}<br><span class='small'>seed "
            f"{esc(random.seeds)}</span></td><td>{other.exact_match:.1%}<br><span class='small'>{esc(other.split)} "
            f"seeds {esc(other.seeds)}</span></td><td><b>{gap:+.1f}</b></td></tr>"
        )
    # The sentence speaks of the setting the deck calls best (the pages' one best) where it ran on both
    # kinds: a class remembers one number, and the largest gap in the table is not the model it is shown.
    best = data.headline.setting if data.headline is not None else None
    setting, random, other = next((pair for pair in pairs if pair[0] == best), pairs[0])
    gap = (random.exact_match - other.exact_match) * 100
    return Slide(
        "Why the split matters",
        intro + "<table><thead><tr><th class='text'>setting (exact match)</th><th>random split</th>"
        f"<th>shots split</th><th>random - shots, points</th></tr></thead><tbody>{''.join(table_rows)}</tbody></table>"
        f"<p class='big'><b>{esc(setting)}</b> reads <b>{gap:+.1f} points</b> higher on the random split, where "
        "test frames have near-twins in training: about that much of its random-split score is remembering "
        "shots, not recognising Tom and Jerry.</p>"
        f"<p class='note'>The two figures come from different runs of {esc(setting)} (one setting, trained "
        f"separately on each split): {runs_text(random)} against {runs_text(other)}.</p>",
    )


def runs_text(row) -> str:
    """A split_comparison row's runs in words: 'the random split seed 42 run', 'the mean of 3 shots split
    runs (seeds 1, 2, 42)'."""
    count = int(getattr(row, "runs", 1) or 1)
    if count == 1:
        return f"the {row.split} split seed {row.seeds} run"
    return f"the mean of {count} {row.split} split runs (seeds {row.seeds})"


def grid_slide(data: ReportData) -> Slide:
    """The study's grid on its shown split: each model base, tuned, tuned with augmentation."""
    if data.shown_split is None or data.on_split.empty:
        return Slide("The study's grid", "<p>No cell of the study's grid has finished on this dataset yet.</p>")
    cells = data.on_split
    # The answer's slide (next) pools seeds; this table is one split's (Answer.table_note).
    from tomjerry.science.answer import Answer

    found = data.answer
    pooled_apart = (
        found.table_note(data.shown_split, "The study's answer (next slide)") if isinstance(found, Answer) else ""
    )
    variants = [v for v in ("base", "tuned", "augmented") if v in set(cells.variant)]
    head = "".join(f"<th>{esc(v)}</th>" for v in variants)
    rows = []
    for model, part in cells.groupby("model", sort=True):
        by_variant = {row.variant: row for row in part.itertuples()}
        tds = []
        for variant in variants:
            row = by_variant.get(variant)
            tds.append(
                f"<td>{row.exact_match:.1%}<br><span class='small'>{esc(row.exact_match_ci95 or '')}</span></td>"
                if row is not None
                else "<td></td>"
            )
        rows.append(f"<tr><td class='text'>{esc(model)}</td>{''.join(tds)}</tr>")
    return Slide(
        "The study's grid",
        f"<p>Each model trained three ways, all on one split (<b>{esc(data.shown_split)}</b>): as a base model, "
        "tuned (Keras Tuner picks the learning rate on validation), and tuned with augmentation. Test exact "
        "match (both labels right), its 95 % interval below.</p>"
        f"<table><thead><tr><th class='text'>model</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        + (f"<p class='note'>{esc(pooled_apart)}</p>" if pooled_apart else "")
        + f"<p class='note'>{esc(data.cells_note)}</p>",
    )


def answer_slide(runs: list[Run]) -> Slide:
    """The study's answer in words, from tomjerry.science.answer (computed from the runs)."""
    from tomjerry.science.answer import answer

    found = answer(runs)
    if not found.contrasts and found.leader is None:
        return Slide("The study's answer", "<p>The study's grid has not run on this dataset: no answer yet.</p>")
    said = "".join(f"<li>{esc(sentence)}</li>" for sentence in found.summary)
    leader = f"<p>{esc(found.leader.sentence)}</p>" if found.leader is not None else ""
    return Slide(
        "The study's answer",
        f"<ul class='big'>{said}</ul>{leader}<p class='note'>{esc(found.study)}</p>"
        f"<p class='note'>The rule: {esc(found.rule)}</p>",
    )


def best_slide(data: ReportData) -> Slide:
    """The headline (as Home and the report lead with): the best setting with its interval."""
    found = data.headline
    if found is None:
        return Slide("The best model", "<p>No finished run yet.</p>")
    lead = found.lead
    numbers = []
    for title, value, ci, metric in (
        ("exact match", lead.exact_match, lead.exact_match_ci95, "exact_match_accuracy"),
        ("binary accuracy", lead.binary_accuracy, lead.binary_accuracy_ci95, "binary_accuracy"),
    ):
        spread = lead.spread(metric)
        detail = (
            f"95 % interval {ci[0]:.1%} to {ci[1]:.1%}"
            if ci
            else (f"seeds from {spread[0]:.1%} to {spread[1]:.1%}" if spread else "")
        )
        numbers.append(number(f"{title} · {lead.kind} split", f"{value:.1%}", detail))
    pooled = ""
    summary = data.beyond_summary
    if len(summary) and not lead.exact_match_ci95:  # the headline carries its interval where it can
        matching = summary[(summary.split == lead.kind) & (summary.setting == found.setting)]
        if len(matching):
            row = matching.iloc[0]
            pooled = (
                f"<p>Over the {row.frames:,} test frames of seeds {esc(row.seeds)} together: exact match "
                f"<b>{row.exact_match:.1%}</b>, 95 % interval <b>{esc(row.exact_match_ci95)}</b> (a bootstrap over "
                f"{row.groups} (seed, shot group) clusters).</p>"
            )
    random = ""
    if found.random is not None:
        random = (
            f"<p class='note'>On the random split ({esc(found.random.describe())}"
            + (f", {esc(found.random_setting)}" if found.random_setting else "")
            + f"): exact match {found.random.exact_match:.1%}, higher because test frames have near-twins in "
            "training.</p>"
        )
    return Slide(
        "The best model",
        f"<p class='big'><b>{esc(found.setting)}</b>, chosen on validation; {esc(lead.describe())}.</p>"
        f"<div class='numbers'>{''.join(numbers)}</div>{pooled}{random}",
    )


def gradcam_slide(data: ReportData, with_gradcam: bool) -> Slide:
    title = "Where the model looks: Grad-CAM on challenge frames"
    if data.best is None or not data.best.has_model:
        return Slide(title, "<p class='note'>Skipped: no finished run with a model on this dataset.</p>")
    if not with_gradcam:
        return Slide(title, "<p class='note'>Skipped: the deck was built without Grad-CAM (--no-gradcam).</p>")
    rows = data.examples
    in_training = ""
    if data.split is not None and len(rows):
        trained = [name for name, side in example_sides(rows, data.split).items() if side == "train"]
        in_training = (
            f"<p class='note'>{len(trained)} of these {len(rows)} frames were in this model's training split"
            + (f" ({esc(', '.join(trained))})" if trained else "")
            + ".</p>"
        )
    return Slide(
        title,
        f"<p>{esc(data.best_name or '')}: the red areas raised its answer for each label.</p>"
        + in_training
        + f"<div class='camrow'>{gradcam_examples(rows, data.best, split=data.split)}</div>",
    )


def mistakes_slide(data: ReportData) -> Slide:
    best = data.best
    if best is None:
        return Slide("The mistakes", "<p>No finished run with a model yet.</p>")
    wrong = misclassified(best)
    total = int((best.test or {}).get("count") or 0)
    lead = (
        f"<p><b>{esc(data.best_name)}</b> gets <b>{len(wrong)} of {total}</b> test frames wrong (at least one label, "
        f"threshold 0.5). The {min(MISTAKES_SHOWN, len(wrong))} it was most sure of:</p>"
    )
    if wrong.empty:
        return Slide("The mistakes", f"<p>{esc(data.best_name)} gets every test frame right.</p>")
    shown = wrong.head(MISTAKES_SHOWN)
    if made_on(best, dataset_fingerprint(data.dataset.usable)):
        # The frames as they are (their own shape, 16:9), not any model's input: 24 % of a slide wide.
        rows, images = eda.frames_of(shown.filename, data.dataset.usable, height=MISTAKE_HEIGHT)
        called = shown.set_index("filename")
        figures = [
            f"<figure><img src='{png(image)}' alt='{esc(row.filename)}'><figcaption>truth <b>{esc(row.combination)}"
            f"</b>, called <b>{esc(called.predicted.loc[str(row.filename)])}</b><br>"
            f"p(tom) {called.p_tom.loc[str(row.filename)]:.2f}, p(jerry) {called.p_jerry.loc[str(row.filename)]:.2f}"
            "</figcaption></figure>"
            for row, image in zip(rows.itertuples(), images)
        ]
        body = f"<div class='mistakes'>{''.join(figures)}</div>"
    else:
        items = "".join(
            f"<li>{esc(name)}: truth {esc(COMBINATION_OF[(int(tom), int(jerry))])}, called {esc(predicted)}</li>"
            for name, tom, jerry, predicted in zip(shown.filename, shown.tom, shown.jerry, shown.predicted)
        )
        body = f"<ul>{items}</ul><p class='note'>Its frames are not in the dataset in use, so none is drawn.</p>"
    left = len(wrong) - len(shown)
    return Slide(
        "The mistakes", lead + body + (f"<p class='note'>{left} more mistakes are not shown.</p>" if left else "")
    )


def difference_slides(differences=DIFFERENCES, budget: int = DIFFERENCES_CHARACTERS) -> list[Slide]:
    """tomjerry.science.deviations.DIFFERENCES in full, as many a slide as fit `budget` characters
    (at least one each), in their order."""
    chunks: list[list] = []
    for title, text in differences:
        size = len(title) + len(text)
        if not chunks or sum(len(t) + len(x) for t, x in chunks[-1]) + size > budget:
            chunks.append([])
        chunks[-1].append((title, text))
    slides = []
    for number_of, chunk in enumerate(chunks, 1):
        items = "".join(f"<li><b>{esc(title)}</b>: {esc(text)}</li>" for title, text in chunk)
        suffix = f" ({number_of} of {len(chunks)})" if len(chunks) > 1 else ""
        slides.append(Slide(f"How this differs from the study{suffix}", f"<ul class='differences'>{items}</ul>"))
    return slides


def slides_for(data: ReportData, with_gradcam: bool = True) -> list[Slide]:
    """The deck's slides in order, from the report's data."""
    figures = Figures()
    deck = [
        question_slide(data),
        data_slide(data, figures),
        split_slide(data, figures),
        grid_slide(data),
        answer_slide(data.runs),
        best_slide(data),
        gradcam_slide(data, with_gradcam),
        mistakes_slide(data),
        *difference_slides(),
    ]
    return deck


def render_slides(slides: list[Slide], generated: str = "") -> str:
    """Slides as one standalone HTML file (see the module's docstring)."""
    sections = []
    for index, slide in enumerate(slides):
        heading = f"<h1>{esc(slide.title)}</h1>" if index == 0 else f"<h2>{esc(slide.title)}</h2>"
        sections.append(f"<section id='slide-{index + 1}'>{heading}{slide.body}</section>")
    note = f"<p class='note'>{esc(generated)}</p>" if generated else ""
    sections[0] = sections[0].replace("</section>", f"{note}</section>")
    return (
        "<!doctype html><html lang='en'><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>Tom and Jerry: the study (slides)</title><style>{STYLE}</style></head><body>"
        + "\n".join(sections)
        + "<nav><span id='counter'></span> · arrow keys or click</nav>"
        + f"<script>{SCRIPT}</script></body></html>"
    )


def build_slides(dataset: Dataset, runs: list[Run], artifacts=None, with_gradcam: bool = True) -> str:
    """The deck about `dataset` from `runs` (the runs made on it): report_data, then the slides."""
    data = report_data(dataset, runs, artifacts)
    # data.runs leaves out the runs on the untouched split (shown apart, in no mean): counted here too,
    # so the deck's count matches Home's.
    apart = len(data.untouched)
    generated = f"Generated {data.generated:%Y-%m-%d %H:%M} by tomjerry from {len(data.runs)} finished run(s)" + (
        f" and {apart} on the untouched split, shown apart." if apart else "."
    )
    return render_slides(slides_for(data, with_gradcam=with_gradcam), generated)
