"""The command line: `python -m tomjerry <command> ...` for headless work."""

import argparse
import json
import sys

from tomjerry import COMBINATIONS


def add_data_option(parser):
    parser.add_argument("--data", metavar="PATH", help="dataset folder (default: the first of "
                        "$TOMJERRY_DATA, data/tom_and_jerry, ../shared/datasets/tom_and_jerry, "
                        "the kagglehub cache, else the generated demo data)")


def open_dataset(args):
    from tomjerry.dataset import scan
    from tomjerry.discovery import find_dataset

    source = find_dataset(args.data)
    print(f"dataset: {source.describe()}", file=sys.stderr)
    return scan(source)


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
    print(f"problems   {problems['errors']} errors, {problems['warnings']} warnings (run `validate` for the report)")
    return 0


def cmd_validate(args):
    from tomjerry.dataset import validate
    from tomjerry.discovery import find_dataset

    source = find_dataset(args.data)
    print(f"dataset: {source.describe()}", file=sys.stderr)
    dataset = validate(source, args.image_size)
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
    print(f"{counts['images']:,} images usable; {counts['problems']['errors']} errors "
          f"(those images are left out), {counts['problems']['warnings']} warnings (kept)")
    return 1 if args.strict and counts["problems"]["errors"] else 0


def cmd_download(args):
    from tomjerry.download import DownloadError, download_dataset

    try:
        path = download_dataset(args.dest)
    except DownloadError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    print(f"dataset downloaded to {path}")
    print(f"use it with: export TOMJERRY_DATA={path}   (or --data {path})")
    return 0


def cmd_demo_data(args):
    from tomjerry.demo import generate_demo_dataset

    path = generate_demo_dataset(args.dest, frames=args.frames, seed=args.seed)
    print(f"demo dataset (generated drawings, not real frames) written to {path}")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m tomjerry", description=(
        "Train, compare and explain CNNs that tell Tom, Jerry, both or neither in cartoon frames."))
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
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as error:
        print(f"error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return 130
