"""Incidents: start, run and end incidents in Mattermost channels from playbooks kept as code; timelines after."""

import streamlit as st

from ui import incidents_view as view
from ui.context import page_context

VIEWS = ["Active", "Start", "Timelines", "Playbooks"]

context = page_context()
st.title(f"Incidents · {context.env.label}")
st.caption("Each incident runs in its own private Mattermost channel, from a playbook kept as code: stages with "
           "checklists, announcements, forwarded messages and webhooks. Everyone in the team may start and view "
           "incidents; only members of an incident's channel may change it. `/incident` does the same in Mattermost.")
if context.store is None:
    st.error("The store is unavailable, and incidents live there; try again shortly. Nothing was lost.")
    st.stop()
books = view.playbooks(context)
# One view at a time: only the chosen one is built and sent.
chosen = st.segmented_control("View", VIEWS, default=VIEWS[0], key="incidents_view",
                              label_visibility="collapsed") or VIEWS[0]
if chosen == "Active":
    view.render_active(context, books)
elif chosen == "Start":
    view.render_start(context, books)
elif chosen == "Timelines":
    view.render_timelines(context, books)
else:
    view.render_playbooks(books)
