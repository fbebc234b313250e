"""The dashboard's entry point (`streamlit run app.py`): the pages in the sidebar, Home first.

st.navigation names the first entry "Home" (with the pages/ folder alone, Streamlit names it
after this file, "app"). The page files are found in pages/, so a new page file appears without
touching this one; each of them still runs on its own (AppTest opens them one by one)."""

from pathlib import Path

import streamlit as st

HERE = Path(__file__).parent

st.set_page_config(page_title="tomjerry", page_icon="🐱", layout="wide")


@st.cache_resource(show_spinner=False)
def swept_at_start() -> int:
    """Once per server process: the temporary clip copies a killed server left behind removed
    (tomjerry.inference.video.sweep_stale_copies; copies of a live server are younger and kept)."""
    from tomjerry.inference.video import sweep_stale_copies

    return len(sweep_stale_copies())


swept_at_start()


def order(path: Path):
    """pages/2_Train.py sorts by its number, as Streamlit's own pages/ folder does (10 after 9)."""
    number = path.name.split("_", 1)[0]
    return (int(number) if number.isdigit() else 1_000_000, path.name)


pages = [st.Page(str(HERE / "home.py"), title="Home", icon="🐱", default=True)]
pages += [st.Page(str(path)) for path in sorted(HERE.glob("pages/*.py"), key=order)]
st.navigation(pages).run()
