"""Home page: which data is in use, the latest results at a glance, and what to do next."""

import streamlit as st

from tomjerry.dataset import scan
from tomjerry.discovery import find_dataset

st.set_page_config(page_title="tomjerry", page_icon="🐱", layout="wide")
st.title("Tom, Jerry, both or neither?")
st.caption("Train, compare and explain CNNs on frames of the cartoon (two sigmoid outputs: tom, jerry).")

source = find_dataset()
dataset = scan(source)
counts = dataset.counts()
if source.is_demo:
    st.warning(
        "**Demo data in use**: generated drawings, not frames of the cartoon. "
        "Get the real dataset with `python -m tomjerry download`, then set `TOMJERRY_DATA`."
    )
st.subheader("Dataset")
st.write(f"`{source.path}` ({'demo' if source.is_demo else source.origin})")
columns = st.columns(6)
columns[0].metric("images", f"{counts['images']:,}")
for column, (name, value) in zip(columns[1:5], counts["combinations"].items()):
    column.metric(name, f"{value:,}")
columns[5].metric("challenge frames", counts["challenges"])
