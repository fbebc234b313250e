"""The command line: `python -m tomjerry <command> ...` for headless work."""

import argparse
import json
import os
import sys
from pathlib import Path

from tomjerry import COMBINATIONS, quiet
from tomjerry.lab.execute import RunCancelled
from tomjerry.lab.launcher import RunBusy
from tomjerry.lab.study import StudyBusy


def add_data_option(parser):
    parser.add_argument(
        "--data",
        metavar="PATH",
        help="dataset folder (default: the first of "
        "$TOMJERRY_DATA, data/tom_and_jerry, ../shared/datasets/tom_and_jerry, "
        "the kagglehub cache, else the generated demo data)",
    )


def _scales(text: str) -> tuple:
    """--tta-scales: '1,1.133' to (1.0, 1.133), argparse's message for anything else."""
    from tomjerry.data.decoding import parse_scales

    try:
        return parse_scales(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def dataset_source(args):
    """The DataSource that --data names (tomjerry.data.discovery.find_dataset: the path given,
    $TOMJERRY_DATA, data/tom_and_jerry, ..., else the demo data), said on stderr: the one dataset
    lookup of every command. ValueError for a --data that holds no dataset."""
    from tomjerry.data.discovery import find_dataset

    source = find_dataset(args.data)
    print(f"dataset: {source.describe()}", file=sys.stderr)
    return source


def open_dataset(args):
    """The scanned dataset (tomjerry.data.dataset.Dataset) that --data names (see dataset_source)."""
    from tomjerry.data.dataset import scan

    return scan(dataset_source(args))


def cmd_info(args):
    dataset = open_dataset(args)
    counts = dataset.counts()
    if args.json:
        print(json.dumps({"path": str(dataset.root), "demo": dataset.is_demo, **counts}, indent=2))
        return 0
    print(f"dataset    {dataset.root}{'  [DEMO DATA]' if dataset.is_demo else ''}")
    print(f"images     {counts['images']:,}")
    for combination in COMBINATIONS:
        print(f"  {combination:<8} {counts['combinations'][combination]:,}")
    print(f"labels     tom {counts['labels']['tom']:,}, jerry {counts['labels']['jerry']:,}")
    print(f"challenges {counts['challenges']} images")
    problems = counts["problems"]
    # info reads the CSVs and lists the files without opening a single image, so it cannot see
    # identical or undecodable images: validate (and the Data page) can, and may count more.
    print(
        f"problems   {problems['errors']} errors, {problems['warnings']} warnings in the labels and folders; "
        "run `validate` for the full report (identical images, unreadable files)"
    )
    return 0


def cmd_validate(args):
    from tomjerry.data.images import validate

    dataset = validate(dataset_source(args), args.image_size)
    frame = dataset.problems_frame()
    if args.json:
        print(frame.to_json(orient="records", indent=2))
    elif frame.empty:
        print("no problems found")
    else:
        for kind, group in frame.groupby(["severity", "kind"], sort=True):
            print(f"{kind[0].upper()} {kind[1]}: {len(group)}")
            for row in group.head(args.limit).itertuples():
                print(f"    {row.filename or '-'}: {row.detail}")
            if len(group) > args.limit:
                print(f"    ... and {len(group) - args.limit} more")
    counts = dataset.counts()
    print(
        f"{counts['images']:,} images usable; {counts['problems']['errors']} errors "
        f"(those images are left out), {counts['problems']['warnings']} warnings (kept)"
    )
    return 1 if args.strict and counts["problems"]["errors"] else 0


def cmd_download(args):
    from tomjerry.data.download import DownloadError, download_dataset

    try:
        path = download_dataset(args.dest)
    except DownloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"dataset downloaded to {path}")
    print(f"use it with: export TOMJERRY_DATA={path}   (or --data {path})")
    return 0


def cmd_demo_data(args):
    from tomjerry.data.demo import generate_demo_dataset

    path = generate_demo_dataset(args.dest, frames=args.frames, seed=args.seed)
    print(f"demo dataset (generated drawings, not real frames) written to {path}")
    return 0


def add_run_options(parser, *scopes):
    """--data, --config, --preset, --artifacts, and one option per RunConfig field in `scopes`
    (tomjerry.config.options: the same list the Train page's form is built from)."""
    from tomjerry.config import PRESET_DESCRIPTIONS, RUN_PRESETS, options

    add_data_option(parser)
    parser.add_argument("--config", metavar="RUN_CONFIG.json", help="start from this run config; options override it")
    parser.add_argument(
        "--preset",
        choices=list(RUN_PRESETS),
        help="start from a named config; options override it: "
        + "; ".join(f"{name}: {PRESET_DESCRIPTIONS[name]}" for name in RUN_PRESETS),
    )
    for option in options(*scopes):
        default = "none" if option.optional else option.default
        text = f"{option.help} (default: {default})"
        if option.kind == "bool":
            # --tta / --no-tta: a preset's True can be turned off; unset keeps the preset's value.
            parser.add_argument(option.flag, action=argparse.BooleanOptionalAction, default=None, help=text)
        else:
            parser.add_argument(
                option.flag,
                type=_scales if option.kind == "scales" else option.parse,
                choices=option.choices,
                default=None,
                help=text,
                metavar=option.name.upper() if option.choices is None else None,
            )
    parser.add_argument(
        "--artifacts", metavar="DIR", help="artifacts folder (default: $TOMJERRY_ARTIFACTS or artifacts/)"
    )


def config_from_args(args, **fixed):
    from tomjerry.config import RUN_PRESETS, RunConfig, options

    if args.config and args.preset:
        raise ValueError("give --config or --preset, not both")
    config = (
        RunConfig.from_json(args.config) if args.config else RUN_PRESETS[args.preset] if args.preset else RunConfig()
    )
    # --preset picks the starting config; that config names its preset (`best` names the preset it
    # stands for, so its runs stay with that preset's), so the option is not a change of setting.
    changes = {
        option.name: getattr(args, option.name)
        for option in options()
        if option.name != "preset" and getattr(args, option.name, None) is not None
    }
    if changes.get("split", "").endswith(".csv"):
        changes["split"] = str(Path(changes["split"]).resolve())
    return config.replace(**{**changes, **fixed})


def start_run(args, config, path=None):
    from tomjerry.lab.execute import execute_run
    from tomjerry.runs.lifecycle import create_run
    from tomjerry.runs.record import read_run

    source = dataset_source(args)
    run_dir = create_run(config, args.artifacts, source.path, path=path)
    print(f"run {run_dir.name}: {read_run(run_dir).label()}", file=sys.stderr)
    try:
        result = execute_run(run_dir, source.path)
    except Exception as error:
        print(f"error: run failed: {type(error).__name__}: {error}", file=sys.stderr)
        print(run_dir)
        return 1
    test = result["test"]
    print(
        f"test: binary accuracy {test['binary_accuracy']:.2%} (the study's count: {test['correct_predictions']:g} / "
        f"{test['count']} frames), "
        f"exact match {test['exact_match_accuracy']:.2%}; challenge {result['challenge'].get('exact_match_correct', 0)}"
        f" / {result['challenge'].get('count', 0)} ({result['challenge_in_training']} of them in training)",
        file=sys.stderr,
    )
    print(run_dir)
    return 0


def cmd_train(args):
    config = config_from_args(args)
    if config.variant == "tuned":
        config = config.replace(variant="base")
    if args.augment and config.variant == "base":
        config = config.replace(variant="augmented")
    return start_run(args, config)


def cmd_tune(args):
    import os

    from tomjerry.training.tune import distributed_environment

    if args.role:
        os.environ.update(distributed_environment(args.role, args.oracle or "", args.worker_id))
    if args.role == "worker":
        from tomjerry.training.tune import run_worker

        if not args.run_dir:
            raise ValueError("a worker needs --run-dir: the chief's run folder on a shared file system")
        count = run_worker(Path(args.run_dir), args.data)
        print(f"worker {os.environ['KERASTUNER_TUNER_ID']} done; {count} trial(s) recorded in the run", file=sys.stderr)
        print(args.run_dir)
        return 0
    config = config_from_args(args, variant="tuned")
    return start_run(args, config, path=args.run_dir)


def cmd_resume(args):
    from tomjerry.lab.execute import execute_run
    from tomjerry.lab.launcher import resumable_status

    run_dir = Path(args.run_dir)
    status = resumable_status(run_dir)
    try:
        execute_run(run_dir, args.data or status.get("data"))
    except Exception as error:
        print(f"error: run failed: {type(error).__name__}: {error}", file=sys.stderr)
        print(run_dir)
        return 1
    print(run_dir)
    return 0


def cmd_ship(args):
    from tomjerry.lab.shipping import ship_reference, ship_study

    if not args.study and not args.run_dirs:
        raise ValueError("ship needs RUN_DIR... or --study STUDY_DIR")
    if args.study:
        if args.keep_model:
            raise ValueError("--study ships no models: ship the run whose model you want with --keep-model")
        dest = ship_study(args.study, args.artifacts)
        print(f"{dest}  ({len(json.loads((dest / 'study.json').read_text())['runs'])} runs shipped)")
    for run_dir in args.run_dirs:
        dest = ship_reference(run_dir, args.artifacts, keep_model=args.keep_model)
        size = sum(f.stat().st_size for f in dest.rglob("*") if f.is_file())
        print(f"{dest}  ({size / 2**20:.1f} MB)")
    return 0


def cmd_rescore(args):
    from tomjerry.lab.rescoring import rescore
    from tomjerry.runs.record import read_run

    changes = {}
    if args.tta is not None:
        changes["tta"] = args.tta
    if args.tta_scales is not None:
        changes["tta_scales"] = args.tta_scales
    source = dataset_source(args)
    path = rescore(args.run_dir, source.path, args.artifacts, preset=args.preset, **changes)
    run = read_run(path)
    test = run.test or {}
    print(f"{path}  ({run.label()})")
    if test:
        low, high = test["exact_match_ci95"]
        print(
            f"test: exact match {test['exact_match_accuracy']:.2%} [{low:.1%}, {high:.1%}], "
            f"binary accuracy {test['binary_accuracy']:.2%}; validation exact match "
            f"{run.metrics['validation']['exact_match_accuracy']:.2%}"
        )
    return 0


# The ledger's id of `evaluate`'s scorings of a run: the run's id and this, one id beside the run's own.
EVALUATE_SUFFIX = "@evaluate"


def cmd_evaluate(args):
    from tomjerry.inference.predict import load_model
    from tomjerry.runs.folder import RunFolder
    from tomjerry.runs.ledger import record_run_scoring
    from tomjerry.training.rundata import RunData
    from tomjerry.training.scoring import score

    run_dir = Path(args.run_dir)
    config = RunFolder(run_dir).read_config()
    source = dataset_source(args)
    data = RunData(config, source.path, run_dir, split_file=args.split or RunFolder(run_dir).file(RunFolder.SPLIT))
    predictions, result, _ = score(load_model(run_dir), data, tta=config.tta, tta_scales=config.tta_scales)
    # Every scoring of test frames goes into the test set's ledger (tomjerry.runs.ledger), as
    # training's does: a look at the test frames is a use of them. Under its own id, so it counts
    # once beside the run's own scoring (this evaluation may read another split or dataset); the
    # ledger counts distinct ids, so evaluating the same run again adds no further count.
    folder = RunFolder(run_dir)
    scoring_id = f"{folder.run_id}{EVALUATE_SUFFIX}"
    if record_run_scoring(folder, predictions, data.dataset_record["fingerprint"], scoring_id):
        tested = int((predictions.split == "test").sum())
        print(f"recorded in the test-set ledger as {scoring_id} ({tested} test frames)", file=sys.stderr)
    else:
        print(f"not recorded in a test-set ledger: {run_dir} is not in an artifacts folder's runs/", file=sys.stderr)
    print(json.dumps(result, indent=2))
    return 0


# --model's word for the run every page and command defaults to (tomjerry.science.results.best_choice).
BEST_MODEL = "best"


def chosen_model(model: str | None) -> tuple[Path, str]:
    """(path, label) of the model that --model names: a run folder or a .keras file; absent or
    `best`, the best run (best_choice, chosen on validation), what was picked and why said on
    stderr. ValueError for a path that does not exist or when no finished run has a model."""
    if model and model != BEST_MODEL:
        path = Path(model)
        if not path.exists():
            raise ValueError(
                f"no run folder or model file at {model}: give a finished run's folder or a .keras file, "
                f"or leave --model out (or --model {BEST_MODEL}) for the best run"
            )
        return path, path.parent.name if path.is_file() else path.name  # the run, not model.keras
    from tomjerry.runs.record import read_runs
    from tomjerry.science.results import best_choice

    chosen = best_choice(read_runs())
    if chosen.run is None:
        raise ValueError("no finished run with a saved model: train one, or pass --model RUN_DIR_OR_MODEL")
    print(f"default model: {chosen.reason}", file=sys.stderr)  # what it picked and why
    return chosen.run.path, chosen.run.label()


def cmd_predict(args):
    import dataclasses

    from tomjerry.inference.predict import Predictor

    model_path, label = chosen_model(args.model)
    # A bad model raises UnreadableModelError or ModelContractError (ValueErrors): main prints the line.
    predictor = Predictor.from_path(model_path)
    if args.threshold is not None:
        predictor.recipe = dataclasses.replace(
            predictor.recipe, threshold=args.threshold, threshold_source="set with --threshold"
        )
    # From the paths, so a huge file is refused by its size before it is read.
    results = predictor.predict_files(args.images)
    if args.json:
        print(json.dumps([result.to_json() for result in results], indent=2))
    else:
        recipe = predictor.recipe
        print(
            f"model {label}: {recipe.size_text}, {recipe.tta_text}, threshold {recipe.threshold_text}",
            file=sys.stderr,
        )
        for result in results:
            if result.error:
                print(f"{result.file}\terror: {result.error}")
                continue
            print(
                f"{result.file}\tp_tom={result.p_tom:.4f}\tp_jerry={result.p_jerry:.4f}\t{result.verdict}"
                + (f" (the model's label: {result.label})" if result.novel else "")
                + "".join(f"\t({warning})" for warning in result.warnings)
            )
    return 1 if any(result.error for result in results) else 0


def check_writable(name: str | Path):
    """ValueError unless a file can be written at `name`: a name, not a folder, in a folder that
    exists and can be written to (a symbolic link is checked where it points)."""
    if not str(name).strip():
        raise ValueError("--csv needs the name of the file to write")
    path = Path(name).resolve()
    if path.is_dir():
        raise ValueError(f"{path} is a folder: give the name of the CSV file to write")
    if path.parent.exists() and not path.parent.is_dir():
        raise ValueError(f"{path.parent} is a file, not a folder: write the CSV elsewhere")
    if not path.parent.is_dir():
        raise ValueError(f"{path.parent} does not exist: create the folder first, or write the CSV elsewhere")
    if not os.access(path.parent, os.W_OK):
        raise ValueError(f"{path.parent} is not writable: write the CSV elsewhere")


def write_output(path: Path, text: str):
    """Writes `text` to the file a user named: a regular file atomically (a reader never sees half
    of it), through a symbolic link to where it points, and a pipe or device (/dev/stdout) directly,
    never replaced by a regular file."""
    from tomjerry.atomic import write_text

    target = path.resolve()
    if target.exists() and not target.is_file():
        with open(target, "w", encoding="utf-8") as handle:
            handle.write(text)
    else:
        write_text(target, text)


def cmd_video(args):
    from tomjerry.inference.predict import load_model, saved_recipe
    from tomjerry.inference.timeline import CSV_COLUMNS, classify_video, inference_settings
    from tomjerry.inference.video import open_video, plural

    open_video(args.file, args.fps)  # a bad file or rate is refused before the model loads (seconds)
    if args.csv is not None:  # and a CSV that could not be written, before the clip is classified (minutes)
        check_writable(args.csv)
    model_path, label = chosen_model(args.model)
    settings = inference_settings(model_path)
    from tomjerry.inference.lite_runtime import accelerated

    model, note = accelerated(model_path, load_model(model_path))
    tta = f", {settings.tta_text}" if settings.tta_text != "no TTA" and "TTA" not in label else ""
    print(f"model: {label} (threshold {settings.threshold:.2f}{tta})", file=sys.stderr)
    if note:
        print(f"note: {note}", file=sys.stderr)

    def progress(done, expected):
        share = f" ({min(done / expected, 1):.0%})" if expected else ""
        print(
            f"classified {done} / {plural(expected, 'frame') if expected else '? frames'}{share}",
            file=sys.stderr,
            flush=True,
        )

    try:
        result = classify_video(
            args.file,
            model,
            recipe=saved_recipe(model_path),  # the run's, as Predict reads it (None: a bare model file)
            tta=settings.tta,
            threshold=settings.threshold,
            fps=args.fps,
            progress=progress,
        )
    except OSError as error:
        raise ValueError(f"{args.file}: {error.strerror or error}") from None
    for warning in result.warnings:
        print(f"warning: {warning}", file=sys.stderr)
    if args.csv is not None:
        try:
            write_output(Path(args.csv), result.csv())
        except OSError as error:
            raise ValueError(f"{args.csv} could not be written: {error.strerror or error}") from None
        print(f"{plural(len(result.table), 'row')} ({','.join(CSV_COLUMNS)}) written to {args.csv}", file=sys.stderr)
    if args.json:
        print(json.dumps(result.to_dict(str(args.file), str(model_path)), indent=2))
    else:  # with --csv too: the file holds the frames, the terminal the summary
        info, seconds, cuts = result.info, result.seconds_on_screen(), result.cut_times()
        print(
            f"file       {args.file} ({info.codec}, {info.width}x{info.height}, {info.fps:.3g} fps, "
            f"{result.duration_s:.1f} s)"
        )
        print(f"model      {label}")
        print(
            f"sampled    {plural(len(result.table), 'frame')} at {result.fps_sampled:g} per second; threshold "
            f"{result.threshold:.2f}{f', {settings.tta_text}' if settings.tta_text != 'no TTA' else ''}"
        )
        print("on screen  " + ", ".join(f"{verdict} {value:.1f} s" for verdict, value in seconds.items()))
        print(
            f"shots      {len(cuts) + 1}"
            + (
                f" (cuts at {', '.join(f'{cut:.1f}' for cut in cuts[:20])} s{' ...' if len(cuts) > 20 else ''})"
                if cuts
                else ""
            )
        )
    return 0


def cmd_study(args):
    from tomjerry.lab.study import STUDY_MODELS, run_study
    from tomjerry.runs.folder import artifacts_dir
    from tomjerry.runs.record import read_run
    from tomjerry.science.study_tables import format_table, study_tables

    source = dataset_source(args)
    models = args.models.split(",") if args.models else STUDY_MODELS
    folder = run_study(
        source.path,
        args.preset,
        models,
        args.artifacts,
        args.split,
        args.split_seed,
        log=lambda line: print(line, flush=True),
        resume_folder=args.resume,
        redo=args.redo.split(",") if args.redo else (),
    )
    record = json.loads((folder / "study.json").read_text())
    kept = [cell["run_id"] for cell in record["cells"] if not cell.get("superseded")]
    table = study_tables([read_run(artifacts_dir(args.artifacts) / "runs" / r) for r in kept])
    for variant in ("base", "tuned", "augmented"):
        print()
        print(format_table(table, variant))
    for skipped in record["skipped"]:
        print(f"\nnot run: {skipped['model']}: {skipped['reason']}")
    print(f"\nstudy took {record['seconds'] / 60:.1f} minutes; summary in {folder / 'summary.csv'}")
    return 0


def cmd_splits(args):
    from tomjerry.data.leakage import split_report
    from tomjerry.data.splits import UNUSED

    try:
        seeds = [int(seed) for seed in args.seeds.split(",")]
    except ValueError:
        raise ValueError(f"--seeds must be whole numbers separated by commas, not {args.seeds!r}") from None
    rows, detection = split_report(open_dataset(args), seeds=seeds, exclude_challenges=args.exclude_challenges)
    for row in rows:
        row["shot_detection"] = detection
    threshold, whole = detection["near_duplicate_threshold"], rows[0]["whole_share"]
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"{detection['shots']} shots (median {detection['median_frames']:g} frames, longest "
        f"{detection['max_frames']}), {detection['groups']} groups once linked by near-duplicates; "
        f"{detection['seconds']} s"
    )
    print(f"near-duplicate: closer than {threshold:.2f} grey levels, the {detection['near_duplicate_rule']}")
    print(
        f"{'kind':<8} {'seed':>5} {'train':>6} {'val':>5} {'test':>5} {'unused':>6} {'near-dup':>9} "
        f"{'max gap':>8}   test share " + "/".join(COMBINATIONS)
    )
    for row in rows:
        sizes, test = row["sizes"], row["combination_share"]["test"]
        print(
            f"{row['kind']:<8} {row['seed']:>5} {sizes['train']:>6} {sizes['val']:>5} {sizes['test']:>5} "
            f"{sizes[UNUSED]:>6} {row['near_duplicate_test_fraction']:>9.2%} "
            f"{row['largest_share_gap_points']:>6.2f}pt   " + " ".join(f"{test[c]:.1%}" for c in COMBINATIONS)
        )
    print("whole".ljust(63) + " ".join(f"{whole[c]:.1%}" for c in COMBINATIONS))
    return 0


def cmd_runs(args):
    from tomjerry.data.dataset import dataset_fingerprint
    from tomjerry.runs import states
    from tomjerry.runs.ledger import test_set_scorings
    from tomjerry.runs.record import read_runs
    from tomjerry.runs.table import on_dataset, run_summary

    fingerprint = dataset_fingerprint(open_dataset(args).usable)
    print(f"dataset fingerprint: {fingerprint}", file=sys.stderr)
    every_run = read_runs(args.artifacts)
    # Counted over every run of the artifacts folder (and its ledger), whichever are listed.
    scorings = test_set_scorings(every_run)
    runs = on_dataset(every_run, fingerprint, include_all=args.all)
    summaries = [run_summary(run, scorings.get(run.run_id)) for run in runs]
    if args.json:
        print(json.dumps(summaries, indent=2))
        return 0
    if not summaries:
        print("no runs" + ("" if args.all else " on this dataset (--all shows every run)"))
        return 0

    def figure(value, interval):
        if value is None:
            return ""
        return f"{value:.2%}" + (f" [{interval[0]:.1%}, {interval[1]:.1%}]" if interval else "")

    # Columns as wide as their longest entry: a label cut mid-word ("240x424 px · TT") hid the TTA.
    label = max(len("run"), *(len(run["label"]) for run in summaries)) + 2
    name = max(len("dataset"), *(len(str(run["dataset"]["name"])) for run in summaries)) + 2
    print(
        f"{'run':<{label}}{'state':<13}{'dataset':<{name}}{'test binary [95% CI]':>24}{'test exact match [95% CI]':>28}"
    )
    for run in summaries:
        print(
            f"{run['label']:<{label}}{run['state']:<13}{str(run['dataset']['name']):<{name}}"
            f"{figure(run['test_binary_accuracy'], run['test_binary_accuracy_ci95']):>24}"
            f"{figure(run['test_exact_match'], run['test_exact_match_ci95']):>28}"
        )
        if run["error"] and run["state"] != states.FINISHED:
            print(f"    {run['run_id']}: {run['error'][:200]}")
    return 0


def cmd_answer(args):
    from tomjerry.data.dataset import dataset_fingerprint
    from tomjerry.runs.ledger import test_set_scorings
    from tomjerry.runs.record import read_runs
    from tomjerry.runs.table import on_dataset
    from tomjerry.science.answer import answer
    from tomjerry.science.beyond import LEVER_NOTE, lever_steps
    from tomjerry.science.results import best_choice, untouched_results, untouched_sentence

    dataset = open_dataset(args)
    every_run = read_runs(args.artifacts)
    runs = on_dataset(every_run, dataset_fingerprint(dataset.usable))
    found = answer(runs, scorings=test_set_scorings(every_run))
    if args.json:
        print(json.dumps(found.to_json(), indent=2))
        return 0
    if not found.contrasts:
        print(
            "No study cells (base, tuned, augmented of one model on the same test frames) among the runs on this dataset."
        )
    print("What the runs say")
    for sentence in found.said:
        print(f"  {sentence}")
    for contrast in found.contrasts:
        print(f"- {contrast.sentence()}")
    if found.leader:
        print(found.leader.sentence)
    steps = lever_steps(runs)
    if steps:
        print("What each step beyond the study adds (exact match, paired on the same test frames):")
        for step in steps:
            print(f"- {step.sentence()}")
        print(f"  {LEVER_NOTE}")
    print(f"Best setting: {best_choice(runs).reason}.")
    for result in untouched_results(runs):
        print(untouched_sentence(result))
    print(f"Verdict rule: {found.rule}.")
    print(found.study)
    return 0


def cmd_report(args):
    from tomjerry.atomic import write_text
    from tomjerry.data.dataset import dataset_fingerprint
    from tomjerry.runs.record import read_runs
    from tomjerry.runs.table import on_dataset
    from tomjerry.science.report import build_report

    dataset = open_dataset(args)
    # The runs made on this dataset, as the Report page shows them by default.
    runs = on_dataset(read_runs(args.artifacts), dataset_fingerprint(dataset.usable))
    print(f"{len(runs)} run(s) on this dataset", file=sys.stderr)
    if not args.out and not args.slides:
        raise ValueError("report needs --out FILE (the report), --slides FILE (the deck for class), or both")
    outputs = []
    if args.out:
        outputs.append((Path(args.out), build_report(dataset, runs, args.artifacts, with_gradcam=not args.no_gradcam)))
    if args.slides:
        from tomjerry.science.slides import build_slides

        outputs.append(
            (Path(args.slides), build_slides(dataset, runs, args.artifacts, with_gradcam=not args.no_gradcam))
        )
    for out, page in outputs:
        out.parent.mkdir(parents=True, exist_ok=True)
        write_text(out, page)
        print(out)
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m tomjerry",
        description=("Train, compare and explain CNNs that tell Tom, Jerry, both or neither in cartoon frames."),
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    info = commands.add_parser("info", help="the dataset in use and its counts")
    add_data_option(info)
    info.add_argument("--json", action="store_true", help="print JSON")
    info.set_defaults(func=cmd_info)

    validate = commands.add_parser("validate", help="report every problem in the dataset")
    add_data_option(validate)
    validate.add_argument("--image-size", type=int, default=224, help="size to decode at (fills the cache)")
    validate.add_argument("--limit", type=int, default=10, help="examples shown per problem kind")
    validate.add_argument("--json", action="store_true", help="print the problems as JSON")
    validate.add_argument("--strict", action="store_true", help="exit 1 when there are errors")
    validate.set_defaults(func=cmd_validate)

    download = commands.add_parser("download", help="download the Kaggle dataset with kagglehub")
    download.add_argument("--dest", metavar="DIR", help="copy it here (default: kagglehub's cache)")
    download.set_defaults(func=cmd_download)

    demo = commands.add_parser("demo-data", help="write the generated demo dataset to a folder")
    demo.add_argument("--dest", metavar="DIR", required=True)
    demo.add_argument("--frames", type=int, default=320)
    demo.add_argument("--seed", type=int, default=7)
    demo.set_defaults(func=cmd_demo_data)

    train = commands.add_parser("train", help="train one model; prints the run folder last")
    add_run_options(train, "run")
    train.set_defaults(func=cmd_train)

    tune = commands.add_parser("tune", help="Keras Tuner random search; prints the run folder last")
    add_run_options(tune, "run", "tuning")
    tune.add_argument("--role", choices=["chief", "worker"], help="distributed search with Keras Tuner's gRPC oracle")
    tune.add_argument("--oracle", metavar="HOST:PORT", help="where the chief's oracle listens")
    tune.add_argument("--worker-id", help="this worker's id (default: host name and process id)")
    tune.add_argument("--run-dir", help="the shared run folder (workers: required; chief: optional)")
    tune.set_defaults(func=cmd_tune)

    resume = commands.add_parser(
        "resume", help="continue an interrupted, failed or cancelled run (tuning resumes its trials)"
    )
    resume.add_argument("run_dir", metavar="RUN_DIR")
    add_data_option(resume)
    resume.set_defaults(func=cmd_resume)

    ship = commands.add_parser("ship", help="copy finished runs into artifacts/ as shipped reference results")
    ship.add_argument("run_dirs", nargs="*", metavar="RUN_DIR")
    ship.add_argument("--study", metavar="STUDY_DIR", help="ship a finished study: its kept cells and its record")
    ship.add_argument("--keep-model", action="store_true", help="ship the model too (re-saved without optimizer state)")
    ship.add_argument("--artifacts", metavar="DIR")
    ship.set_defaults(func=cmd_ship)

    rescore = commands.add_parser(
        "rescore",
        help="score a finished run's weights again under another test-time recipe, as a new run "
        "(its test frames count once more in the ledger)",
        description="Score a finished run's saved weights again under another test-time recipe (--preset, --tta, "
        "--tta-scales), without training: the scoring is written as a new run folder (under --artifacts); the "
        "source run is left as it was. Its test frames count once more in the test-set ledger (one more look at them).",
    )
    rescore.add_argument(
        "run_dir", metavar="RUN_DIR", help="the finished run folder whose weights are scored again (it is not changed)"
    )
    add_data_option(rescore)
    rescore.add_argument("--preset", help="take this preset's test-time recipe and name (it must train as the run did)")
    rescore.add_argument("--tta", action=argparse.BooleanOptionalAction, default=None, help="mirror TTA on or off")
    rescore.add_argument(
        "--tta-scales", type=_scales, metavar="SCALES", help="test-time scales, e.g. 1,1.133 (1 = as trained)"
    )
    rescore.add_argument("--artifacts", metavar="DIR")
    rescore.set_defaults(func=cmd_rescore)

    evaluate = commands.add_parser(
        "evaluate",
        help="score a run's model again; prints the metrics as JSON (the test-set ledger counts the look)",
        description="Score a run's model again on its test frames and print the metrics as JSON. Evaluating "
        "records a scoring in the test-set ledger: each look at a test set is counted, as every run's is.",
    )
    evaluate.add_argument("run_dir", metavar="RUN_DIR", help="the run folder whose model is scored")
    add_data_option(evaluate)
    evaluate.add_argument("--split", metavar="SPLIT.csv", help="default: the run's own split.csv")
    evaluate.set_defaults(func=cmd_evaluate)

    predict = commands.add_parser("predict", help="classify images with a run's model")
    predict.add_argument(
        "--model",
        metavar="RUN_DIR_OR_MODEL_FILE",
        help=f"a run folder or .keras file (default, or {BEST_MODEL}: the best finished run, chosen on validation)",
    )
    predict.add_argument(
        "--threshold",
        type=float,
        help="override the run's threshold (default: the one its "
        "recipe holds, chosen on validation; 0.5 for a bare model file)",
    )
    predict.add_argument("--json", action="store_true", help="print a JSON list, one object per image")
    predict.add_argument("images", nargs="+", metavar="IMAGE")
    predict.set_defaults(func=cmd_predict)

    video = commands.add_parser("video", help="classify a whole clip: a timeline of Tom and Jerry, seconds on screen")
    video.add_argument("file", metavar="FILE", help="mp4, mov, webm, mkv, avi or animated gif")
    video.add_argument(
        "--model",
        metavar="RUN_DIR_OR_MODEL",
        help=f"a run folder or .keras file (default, or {BEST_MODEL}: the best finished run, chosen on validation)",
    )
    video.add_argument(
        "--fps", type=float, default=1.0, help="frames sampled per second of video (default 1, as the dataset)"
    )
    video.add_argument("--csv", metavar="OUT", help="write time_s,p_tom,p_jerry,verdict, one row per sampled frame")
    video.add_argument("--json", action="store_true", help="print the summary and every sampled frame as JSON")
    video.set_defaults(func=cmd_video)

    splits = commands.add_parser(
        "splits",
        help="compare the random, blocked and shots splits: sizes, near-duplicate test frames, combination shares",
    )
    add_data_option(splits)
    splits.add_argument("--seeds", default="42,1,2", help="comma-separated split seeds (default: 42,1,2)")
    splits.add_argument(
        "--exclude-challenges", action="store_true", help="challenge frames (and their shots) go to test"
    )
    splits.add_argument("--json", action="store_true", help="print JSON: one object per split kind and seed")
    splits.set_defaults(func=cmd_splits)

    runs = commands.add_parser("runs", help="the runs made on the dataset in use (--all: every run)")
    add_data_option(runs)
    runs.add_argument("--all", action="store_true", help="every run, whatever dataset it was made on")
    runs.add_argument("--json", action="store_true", help="print a JSON list, one object per run")
    runs.add_argument(
        "--artifacts", metavar="DIR", help="artifacts folder (default: $TOMJERRY_ARTIFACTS or artifacts/)"
    )
    runs.set_defaults(func=cmd_runs)

    answer = commands.add_parser(
        "answer", help="what the runs say: does tuning or augmentation help, which model leads (group-level tests)"
    )
    add_data_option(answer)
    answer.add_argument(
        "--json",
        action="store_true",
        help="a JSON list, one object per model and contrast (model, contrast, difference, ci95, p_group, "
        "p_holm, verdict, seeds, groups, ...)",
    )
    answer.add_argument(
        "--artifacts", metavar="DIR", help="artifacts folder (default: $TOMJERRY_ARTIFACTS or artifacts/)"
    )
    answer.set_defaults(func=cmd_answer)

    report = commands.add_parser("report", help="write the standalone HTML report (the Report page's) to a file")
    report.add_argument("--out", metavar="FILE", help="the HTML file to write")
    report.add_argument(
        "--slides",
        metavar="FILE",
        help="also (or only) write the deck for class: one self-contained HTML file, a slide a <section>, "
        "arrow keys or a click to move, one slide a printed page",
    )
    add_data_option(report)
    report.add_argument(
        "--artifacts", metavar="DIR", help="artifacts folder (default: $TOMJERRY_ARTIFACTS or artifacts/)"
    )
    report.add_argument(
        "--no-gradcam",
        action="store_true",
        help="leave out the Grad-CAM examples (no TensorFlow: seconds instead of a minute)",
    )
    report.set_defaults(func=cmd_report)

    study = commands.add_parser("study", help="the study's grid: base, tuned, augmented per model")
    add_data_option(study)
    study.add_argument("--preset", default="fast", choices=["seed", "fast", "cpu", "tiny"])
    study.add_argument("--resume", metavar="STUDY_DIR", help="continue a stopped study (its cells, split and preset)")
    study.add_argument(
        "--redo",
        metavar="MODEL:VARIANT,...",
        help="with --resume: run these finished cells again (a tuned cell takes its augmented cell with it "
        "and reuses its finished trials when its config is unchanged), e.g. zfnet:tuned",
    )
    study.add_argument("--models", help="comma-separated subset (default: all four)")
    study.add_argument("--split", default="random", help="random, blocked, shots or SPLIT.csv")
    study.add_argument("--split-seed", type=int, default=42)
    study.add_argument("--artifacts", metavar="DIR")
    study.set_defaults(func=cmd_study)
    return parser


# The shell's exit status of a command ended by SIGPIPE (128 + 13), as `yes | head` reports for yes.
EXIT_READER_GONE = 141


def main(argv=None) -> int:
    """The command line; returns the exit status. A reader that stops early (`| head`, quitting
    `less`) ends the command quietly with EXIT_READER_GONE, no traceback: the recipe of the Python
    docs' "Note on SIGPIPE" (signal module), as Python ignores SIGPIPE and raises BrokenPipeError."""
    try:
        try:
            return run_command(argv)
        finally:
            # Inside the try: output still buffered would otherwise fail at exit, past any handler
            # ("Exception ignored ... BrokenPipeError"). --help's SystemExit passes through here too.
            sys.stdout.flush()
    except BrokenPipeError:
        # Python flushes stdout once more at exit: point it at devnull so that flush finds a reader.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        try:
            sys.stderr.flush()
        except OSError:  # `2>&1 | head`: stderr went to the same closed pipe
            os.dup2(devnull, sys.stderr.fileno())
        os.close(devnull)
        return EXIT_READER_GONE


def run_command(argv=None) -> int:
    quiet.install()  # TensorFlow's start-up lines filtered (tomjerry.quiet), before any command imports it
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
    except (RunBusy, StudyBusy) as error:  # a run or study already running elsewhere
        print(f"error: {error}", file=sys.stderr)
        return 2
    except RunCancelled as error:
        print(f"stopped: {error}", file=sys.stderr)
        return 143
