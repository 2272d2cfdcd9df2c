"""Fleet: every environment on one line, from the store alone (nothing is collected here)."""

import streamlit as st

from ui import fleet_view as view
from ui.context import page_context

context = page_context()
st.title("Fleet")
st.caption("Every environment from its last stored run: what fires, what is open (muted findings apart), how "
           "old the run is and which sources failed in it. Nothing is collected here; the watcher keeps the runs, "
           "and each row links to its health page.")
if context.store is None:
    st.error("The store is unavailable, and the fleet is read from it; the sidebar says why. Each health page "
             "still collects live.", icon=":material/database_off:")
    st.stop()
view.render_fleet(context)
