"""Health: is this Mattermost deployment healthy right now, and why not?"""

import streamlit as st

from health.engine import evaluate
from health.findings import verdict
from health.packet_inputs import from_live
from ui import health_view as view
from ui.context import SOURCE_LABELS, clear_snapshots, page_context

SECTIONS = ["Overview", "Findings", "Metrics", "Server, plugins and jobs", "Database", "Directory, sign-on and search"]

context = page_context()
title, refresh = st.columns([5, 1], vertical_alignment="bottom")
title.title(f"Health · {context.env.label}")
if refresh.button("Refresh now", icon=":material/refresh:", width="stretch"):
    clear_snapshots()


@st.fragment(run_every=context.settings.refresh_seconds)
def live_health() -> None:
    snapshot = context.snapshot()
    st.caption(f"Collected {snapshot.collected_at:%Y-%m-%d %H:%M:%S} UTC in {snapshot.elapsed_ms:,.0f} ms; "
               f"refreshes every {context.settings.refresh_seconds} s.")
    findings = evaluate(from_live(snapshot))
    view.render_verdict(verdict(findings))
    view.render_sources(snapshot, SOURCE_LABELS)
    # One view at a time: only the chosen section is built and sent, which keeps the page fast to show.
    section = st.segmented_control("View", SECTIONS, default=SECTIONS[0], key="health_section",
                                   label_visibility="collapsed") or SECTIONS[0]
    facts = snapshot.data("mattermost")
    if section == "Findings":
        view.render_findings(findings)
    elif section == "Metrics":
        view.render_metrics(snapshot, SOURCE_LABELS, context.metrics_range)
    elif section == "Database":
        view.render_database(snapshot, SOURCE_LABELS)
    elif section == "Directory, sign-on and search":
        view.render_directory_and_search(snapshot, SOURCE_LABELS)
    elif facts is None:
        st.info("Nothing to show until the Mattermost API answers; see the status line above.")
    elif section == "Overview":
        view.render_server_line(facts)
        view.render_kpis(facts)
        view.render_usage_charts(facts)
        view.render_usage_review(snapshot)
    else:
        view.render_server_tables(facts)
        view.render_missing(facts)


live_health()
