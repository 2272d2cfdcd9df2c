"""Health: is this Mattermost deployment healthy right now, and why not?"""

import streamlit as st

from collectors import SourceStatus
from collectors.mattermost_models import MattermostFacts
from health import charts, overview
from ui.context import SOURCE_LABELS, clear_snapshots, page_context

LINE_STYLE = {SourceStatus.OK: st.success, SourceStatus.DEGRADED: st.warning, SourceStatus.FORBIDDEN: st.warning,
              SourceStatus.ERROR: st.error, SourceStatus.NOT_CONFIGURED: st.info}

context = page_context()
title, refresh = st.columns([5, 1], vertical_alignment="bottom")
title.title(f"Health · {context.env.label}")
if refresh.button("Refresh now", icon=":material/refresh:", width="stretch"):
    clear_snapshots()


def render_kpis(facts: MattermostFacts) -> None:
    with st.container(horizontal=True):
        for kpi in overview.kpis(facts):
            st.metric(kpi.label, kpi.value, delta=kpi.delta, delta_color=kpi.delta_color, help=kpi.help,
                      border=True)


def render_charts(facts: MattermostFacts) -> None:
    left, right = st.columns(2)
    with left:
        if facts.posts_per_day:
            st.plotly_chart(charts.posts_per_day(facts.posts_per_day), width="stretch")
        else:
            st.info(facts.missing.get("Posts per day", "Mattermost reported no posts per day."))
    with right:
        if facts.active_users_per_day:
            st.plotly_chart(charts.active_users_per_day(facts.active_users_per_day), width="stretch")
        else:
            st.info(facts.missing.get("Active users per day", "Mattermost reported no active users per day."))


def render_tables(facts: MattermostFacts) -> None:
    server, license_ = st.columns(2)
    with server:
        st.subheader("Server")
        st.dataframe(overview.server_facts(facts), hide_index=True, width="stretch", height="content")
    with license_:
        st.subheader("License")
        st.dataframe(overview.license_facts(facts), hide_index=True, width="stretch", height="content",
                     column_config={"Value": st.column_config.TextColumn(width="large")})
    st.subheader("Plugins")
    if facts.plugins:
        st.dataframe(overview.plugins_table(facts), hide_index=True, width="stretch", column_config={
            "Healthy": st.column_config.CheckboxColumn(width="small"),
            "Version": st.column_config.TextColumn(width="small"),
            "Problems": st.column_config.TextColumn(width="large")})
    else:
        st.info(facts.missing.get("Plugins", "No plugins are installed."))
    st.subheader("Cluster nodes")
    if facts.cluster_nodes:
        for note in overview.cluster_notes(facts):
            st.warning(note)
        st.dataframe(overview.cluster_table(facts), hide_index=True, width="stretch")
    else:
        st.info(facts.missing.get("Cluster nodes", "No cluster nodes reported: this server runs without "
                                                    "high availability (ClusterSettings.Enable is off)."))
    st.subheader("Recent jobs")
    if facts.jobs:
        st.dataframe(overview.jobs_table(facts), hide_index=True, width="stretch", column_config={
            "Progress %": st.column_config.ProgressColumn(min_value=0, max_value=100),
            "Created": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Last activity": st.column_config.DatetimeColumn(format="YYYY-MM-DD HH:mm"),
            "Error": st.column_config.TextColumn(width="large")})
    else:
        st.info(facts.missing.get("Recent jobs", "Mattermost reported no jobs."))


@st.fragment(run_every=context.settings.refresh_seconds)
def live_health() -> None:
    snapshot = context.snapshot()
    st.caption(f"Collected {snapshot.collected_at:%Y-%m-%d %H:%M:%S} UTC in {snapshot.elapsed_ms:,.0f} ms; "
               f"refreshes every {context.settings.refresh_seconds} s.")
    for result, line in overview.source_lines(snapshot, SOURCE_LABELS):
        LINE_STYLE[result.status](line)
    facts = snapshot.data("mattermost")
    if facts is None:
        return
    site = f"{facts.server.site_name or 'Mattermost'} at {facts.server.site_url or facts.url}"
    if overview.server_unhealthy(facts):
        st.error(f"Mattermost reports a problem through its own ping: {overview.server_status_line(facts)}.",
                 icon=":material/heart_broken:")
        st.caption(site)
    else:
        st.caption(f"{site} · {overview.server_status_line(facts)}")
    render_kpis(facts)
    render_charts(facts)
    render_tables(facts)
    if facts.missing:
        with st.expander(f"{len(facts.missing)} facts could not be read"):
            for fact, reason in facts.missing.items():
                st.markdown(f"- **{fact}**: {reason}")


live_health()
