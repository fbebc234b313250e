"""Report: the study's story in order, for presenting in class, as one standalone HTML file."""

import streamlit as st

from tomjerry.science.report import build_report
from ui import artifacts, runs_in_use, start_page, what_the_runs_say

source, dataset = start_page("Report")
runs = runs_in_use(source, dataset)
what_the_runs_say([run for run in runs if run.finished])
with_gradcam = st.toggle("Include Grad-CAM examples", value=True)


@st.cache_data(show_spinner="Building the report...", max_entries=4)
def report(path: str, with_gradcam: bool, runs_state: str):
    return build_report(dataset, runs, artifacts(), with_gradcam=with_gradcam)


state = ",".join(f"{run.run_id}:{run.state}" for run in runs)
page = report(str(source.path), with_gradcam, state)
st.download_button(
    "Download the report (standalone HTML)",
    page.encode(),
    file_name="tomjerry-report.html",
    mime="text/html",
    type="primary",
)
st.iframe(page, height=1400)
