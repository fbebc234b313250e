"""Report: the study's story in order, for presenting in class, as one standalone HTML file."""

import streamlit as st

from tomjerry.science.report import build_report
from tomjerry.science.slides import build_slides
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
left, right = st.columns(2)
left.download_button(
    "Download the report (standalone HTML)",
    page.encode(),
    file_name="tomjerry-report.html",
    mime="text/html",
    type="primary",
)


@st.cache_data(show_spinner="Building the slides (the study's answer, charts and Grad-CAM)...", max_entries=4)
def slides(path: str, with_gradcam: bool, runs_state: str):
    return build_slides(dataset, runs, artifacts(), with_gradcam=with_gradcam)


# The deck for class is built on request (half a minute with Grad-CAM), then offered as one file:
# open it in a browser, full screen, arrow keys or a click to move, print for a handout.
deck_key = (str(source.path), with_gradcam, state)
if st.session_state.get("slides_for") != deck_key:
    if right.button("Present: build the slides for class", key="build_slides"):
        st.session_state["slides_for"] = deck_key
        st.rerun()
else:
    right.download_button(
        "Present: download the slides (HTML, works offline)",
        slides(*deck_key).encode(),
        file_name="tomjerry-slides.html",
        mime="text/html",
        on_click="ignore",
        key="present",
    )
# The file opens with the same "What the runs say" as this page's top: shown once, the preview
# of the whole file waits behind a click.
with st.expander("Preview the report file (it opens with the same answer as above)"):
    st.iframe(page, height=1400)
