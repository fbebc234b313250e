"""Report: the study's story in order, for presenting in class, as one standalone HTML file."""

import streamlit as st

from tomjerry.report import build_report
from ui import artifacts, dataset_source, demo_banner, load_dataset

st.set_page_config(page_title="Report · tomjerry", layout="wide")
st.title("Report")
source = dataset_source()
demo_banner(source)
dataset = load_dataset(source)
with_gradcam = st.toggle("Include Grad-CAM examples", value=True)
with st.spinner("Building the report..."):
    page = build_report(dataset, artifacts(), with_gradcam=with_gradcam)
st.download_button("Download the report (standalone HTML)", page.encode(), file_name="tomjerry-report.html",
                   mime="text/html", type="primary")
st.iframe(page, height=1400)
