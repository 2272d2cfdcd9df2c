"""Incidents: start, run and end incidents in Mattermost channels from playbooks kept as code; review them after:
the list, timelines, retrospectives and figures across incidents."""

import streamlit as st

from ui import incidents_view as view
from ui.context import page_context

VIEWS = ["Active", "Start", "All incidents", "Timelines", "Retrospectives", "Metrics", "Playbooks"]

context = page_context()
st.title(f"Incidents · {context.env.label}")
st.caption("Each incident runs in its own private Mattermost channel, from a playbook kept as code: stages with "
           "checklists, announcements, forwarded messages and webhooks. Everyone in the team may start and view "
           "incidents; only members of an incident's channel may change it. `/incident` does the same in Mattermost.")
if context.store is None:
    st.error("The store is unavailable, and incidents live there; try again shortly. Nothing was lost.")
    st.stop()
books = view.playbooks(context)
view.render_refused(context)
# One view at a time: only the chosen one is built and sent.
chosen = st.segmented_control("View", VIEWS, default=VIEWS[0], key="incidents_view",
                              label_visibility="collapsed") or VIEWS[0]
if chosen == "Active":
    view.render_active(context, books)
elif chosen == "Start":
    view.render_start(context, books)
elif chosen == "All incidents":
    view.render_list(context, books)
elif chosen == "Timelines":
    view.render_timelines(context, books)
elif chosen == "Retrospectives":
    view.render_retrospective(context, books)
elif chosen == "Metrics":
    view.render_metrics_across(context, books)
else:
    view.render_playbooks(books)
