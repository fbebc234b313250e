"""Data: the label balance, the splits, image sizes, samples, the challenge frames and the report."""

import streamlit as st

from tomjerry import COMBINATIONS
from tomjerry.data import eda
from tomjerry.data.images import validate
from tomjerry.data.leakage import split_and_leakage
from tomjerry.science import charts
from ui import chart, start_page

source, dataset = start_page("Data")
table = dataset.usable
if table.empty:
    st.error("No usable images in this dataset: see the validation report below.")

left, middle, right = st.columns(3)
chart(charts.combinations_bar(eda.combination_counts(table)), left)
chart(charts.labels_bar(eda.label_counts(table)), middle)
chart(charts.co_occurrence_heatmap(eda.co_occurrence(table)), right)

st.subheader("Splits")
kind_column, seed_column, block_column = st.columns(3)
kind = kind_column.radio(
    "Split",
    ["random", "blocked", "shots"],
    index=2,
    horizontal=True,
    help="random: stratified 80/10/10 as the study. blocked: runs of 50 frame numbers stay "
    "on one side. shots: whole shots (linked when they share near-identical frames) "
    "stay on one side, sides stratified, frames at the borders left out.",
)
seed = seed_column.number_input("Seed", 0, 10_000, 42)
block = block_column.number_input("Frames per block (blocked)", 1, 1000, 50)


@st.cache_data(show_spinner="Finding shots and measuring near-duplicates (about 30 s the first time)...")
def measured_split(path: str, kind: str, seed: int, block: int):
    return split_and_leakage(dataset, kind, seed, block)


if len(table):
    split, leakage = measured_split(str(source.path), kind, int(seed), int(block))
    sizes_of = leakage["sizes"]
    total = sum(sizes_of.get(side, 0) for side in ("train", "val", "test", "unused")) or 1
    columns = st.columns(4)
    for column, side, title in zip(
        columns,
        ("train", "val", "test", "unused"),
        ("train frames", "validation frames", "test frames", "frames left out"),
    ):
        column.metric(f"{title} · {sizes_of.get(side, 0) / total:.0%}", f"{sizes_of.get(side, 0):,}")
    chart(charts.splits_bar(eda.per_split_counts(table, split)))
    in_train = int(table.challenge[split.split.to_numpy() == "train"].sum())
    left, middle, right = st.columns(3)
    left.metric(
        "near-twins of training in test",
        f"{leakage['near_duplicate_test_fraction']:.1%}",
        help=f"Test frames with a near-duplicate in training. Closer than "
        f"{leakage['near_duplicate_threshold']:.2f} grey levels: the "
        f"{leakage['near_duplicate_rule']}.",
    )
    middle.metric("largest gap of a side's mix to the whole", f"{leakage['largest_share_gap_points']:.1f} pts")
    right.metric("challenge frames in training", f"{in_train} of {int(table.challenge.sum())}")
    st.markdown("A split is called leakage-free here only where the near-duplicate measure says so.")

st.subheader("Image sizes")


@st.cache_data(show_spinner="Reading image headers...")
def sizes(path, count):
    return eda.image_sizes(table)


frame_sizes = sizes(str(source.path), len(table))
one_size = eda.single_size(frame_sizes)
if one_size:
    st.write(
        f"All {int(frame_sizes.width.notna().sum()):,} frames are {one_size[0]} x {one_size[1]} pixels; "
        "a model sees them resized to a square of its image size, as the study did, or keeping their 16:9 shape "
        "(a run with the 16:9 input shape)."
    )
else:
    chart(charts.sizes_scatter(frame_sizes))

st.subheader("Samples")
choice = st.segmented_control("Show", ["all", *COMBINATIONS], default="all")
rows, images = eda.sample(table, choice, count=12, seed=st.session_state.get("sample_seed", 0))
if st.button("Other samples"):
    st.session_state["sample_seed"] = st.session_state.get("sample_seed", 0) + 1
    st.rerun()
# Each frame as it is (its own shape, 16:9), at the thumbnail's own size: not any model's input.
st.image(images, caption=[f"{r.filename} · {r.combination}" for r in rows.itertuples()])

st.subheader("Challenge frames")
challenges = table[table.challenge]
if challenges.empty:
    st.caption("This dataset lists no challenge frames (challenges.csv).")
else:
    rows, images = eda.sample(challenges, None, count=len(challenges))
    st.image(images, caption=[f"{r.filename} · {r.combination}" for r in rows.itertuples()])

st.subheader("Validation report")
st.caption("Every problem found; images with an error are left out, warnings are kept.")


@st.cache_data(show_spinner="Checking every image (decoding, hashing)...")
def report(path):
    return validate(path).problems_frame()


problems = report(str(source.path))
if problems.empty:
    st.success("No problems found.")
else:
    st.dataframe(problems, width="stretch", hide_index=True)
