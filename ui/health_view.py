"""Streamlit panels of the health page; the page itself only arranges them."""

from __future__ import annotations

import streamlit as st

from collectors import Snapshot, SourceStatus
from collectors.mattermost_models import MattermostFacts
from health import charts, metric_panels, overview, panels, report, stored_view
from health.findings import Finding, Severity, State, Verdict
from health.history import StoredSnapshot
from health.stored_view import Freshness, Tile

LINE_STYLE = {SourceStatus.OK: st.success, SourceStatus.DEGRADED: st.warning, SourceStatus.FORBIDDEN: st.warning,
              SourceStatus.ERROR: st.error, SourceStatus.NOT_CONFIGURED: st.info}
VERDICT_STYLE = {"critical problems": st.error, "needs attention": st.warning, "healthy": st.success,
                 "not enough data": st.warning}
SEVERITY_ICONS = {Severity.CRITICAL: ":material/error:", Severity.WARNING: ":material/warning:",
                  Severity.INFO: ":material/info:"}


def render_sources(snapshot: Snapshot, labels: dict[str, str]) -> None:
    summary = overview.source_summary(snapshot, labels)
    for result, line in summary.problems:
        LINE_STYLE[result.status](line)
    if summary.collected:
        st.success(summary.collected)
    if summary.not_configured:
        st.caption(f"Not configured: {', '.join(summary.not_configured)} (the sidebar says which setting each "
                   "needs).")


def render_verdict(verdict: Verdict) -> None:
    VERDICT_STYLE[verdict.label](stored_view.verdict_sentence(verdict))
    with st.container(horizontal=True):
        st.metric("Score", "n/a" if verdict.score is None else f"{verdict.score}/100", border=True,
                  help="Weighted share of passed checks (critical 50, warning 20, info 5), over checks with data.")
        for severity in Severity:
            st.metric(f"{severity.value.capitalize()} firing", verdict.firing[severity], border=True)
        st.metric("Unknown", verdict.unknown, border=True, help="Checks whose inputs could not be read.")


def render_freshness(fresh: Freshness) -> None:
    st.caption(fresh.sentence)
    if fresh.stale:
        st.warning(fresh.warning, icon=":material/schedule:")


def render_alert_delivery(delivery: tuple[bool, str] | None) -> None:
    if delivery is None:
        return
    is_problem, sentence = delivery
    if is_problem:
        st.error(sentence, icon=":material/notifications_off:")
    else:
        st.caption(sentence)


def _tiles(tiles: list[Tile]) -> None:
    with st.container(horizontal=True):
        for tile in tiles:
            st.metric(tile.label, tile.value, help=tile.help, border=True)


SEVERITY_BADGES = {Severity.CRITICAL: "red", Severity.WARNING: "orange", Severity.INFO: "blue"}


def render_most_urgent(findings: list[Finding]) -> None:
    shown, more = stored_view.most_urgent(findings)
    if not shown:
        return
    st.subheader("Most urgent", divider="gray")
    for finding in shown:
        subject = f" ({finding.subject})" if finding.subject else ""
        st.markdown(f":{SEVERITY_BADGES[finding.severity]}-badge[{finding.severity.value}] **{finding.title}**"
                    f"{subject}: {finding.observed}")
    if more:
        st.caption(more)


def render_stored_overview(stored: StoredSnapshot, findings: list[Finding]) -> None:
    """The server line, the key figures and the most urgent findings, as the run stored them."""
    server = (stored.report or {}).get("server") or {}
    caption = stored_view.server_caption(server)
    if caption is None:
        st.info(stored_view.NO_SERVER_LINE)
    else:
        st.caption(caption)
    figures, missing = stored_view.figure_tiles(stored.figures)
    _tiles(stored_view.server_tiles(server) + figures if server else figures)
    if missing:
        st.caption(f"Not collected in this run: {', '.join(missing)}.")
    render_most_urgent(findings)
    st.caption(stored_view.LIVE_VIEWS_NOTE)


def render_live_note(snapshot: Snapshot) -> None:
    st.caption(f":material/bolt: Collected live for this view at {snapshot.collected_at:%H:%M:%S} UTC in "
               f"{snapshot.elapsed_ms:,.0f} ms: these facts are not kept in the stored snapshot.")


def _style(table):
    colours = {sev.value: colour for sev, colour in report.SEVERITY_COLOURS.items()}

    def row_colour(row):
        firing = row["State"].endswith(State.FIRING.value)
        colour = colours.get(row["Severity"], "") if firing else ""
        return [f"background-color: {colour}" if colour else "" for _ in row]

    return table.style.apply(row_colour, axis=1)


def render_findings(findings: list[Finding]) -> None:
    areas = sorted({f.area for f in findings})
    severity_col, state_col, area_col = st.columns(3)
    severities = severity_col.multiselect("Severity", [s.value for s in Severity], default=[s.value for s in Severity])
    states = state_col.multiselect("State", [s.value for s in State], default=[State.FIRING.value, State.UNKNOWN.value])
    chosen_areas = area_col.multiselect("Area", areas, default=areas)
    shown = [f for f in findings
             if f.severity.value in severities and f.state.value in states and f.area in chosen_areas]
    if not shown:
        st.info("No finding matches these filters.")
        return
    config = {"Docs": st.column_config.LinkColumn(display_text="docs"),
              "Remediation": st.column_config.TextColumn(width="large"),
              "Observed": st.column_config.TextColumn(width="medium")}
    for area, items in report.by_area(shown).items():
        all_in_area = [f for f in findings if f.area == area]
        firing = [f for f in items if f.state is State.FIRING]
        icon = SEVERITY_ICONS[min((f.severity for f in firing), key=list(Severity).index)] if firing else None
        with st.expander(f"{area}: {report.area_summary(all_in_area)}", expanded=bool(firing), icon=icon):
            st.dataframe(_style(report.findings_table(items)), hide_index=True, width="stretch", column_config=config)


def render_kpis(facts: MattermostFacts) -> None:
    with st.container(horizontal=True):
        for kpi in overview.kpis(facts):
            st.metric(kpi.label, kpi.value, delta=kpi.delta, delta_color=kpi.delta_color, help=kpi.help,
                      border=True)


def render_server_line(facts: MattermostFacts) -> None:
    site = f"{facts.server.site_name or 'Mattermost'} at {facts.server.site_url or facts.url}"
    if overview.server_unhealthy(facts):
        st.error(f"Mattermost reports a problem through its own ping: {overview.server_status_line(facts)}.",
                 icon=":material/heart_broken:")
        st.caption(site)
    else:
        st.caption(f"{site} · {overview.server_status_line(facts)}")


def render_usage_charts(facts: MattermostFacts) -> None:
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


def render_server_tables(facts: MattermostFacts) -> None:
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


def render_missing(facts: MattermostFacts) -> None:
    if facts.missing:
        with st.expander(f"{len(facts.missing)} facts could not be read"):
            for fact, reason in facts.missing.items():
                st.markdown(f"- **{fact}**: {reason}")


def _source_or_reason(snapshot: Snapshot, name: str, labels: dict[str, str]):
    result = snapshot.sources.get(name)
    if result is None:
        st.info(f"{labels.get(name, name)} is not collected.")
        return None
    if result.data is None:
        (st.info if result.status is SourceStatus.NOT_CONFIGURED else st.error)(result.error or "No data.")
        return None
    if result.error:
        st.warning(result.error)
    return result.data


def render_directory_and_search(snapshot: Snapshot, labels: dict[str, str]) -> None:
    ldap_col, saml_col = st.columns(2)
    with ldap_col:
        st.subheader("AD/LDAP")
        facts = _source_or_reason(snapshot, "ldap", labels)
        if facts is not None:
            st.dataframe(panels.ldap_table(facts), hide_index=True, width="stretch", height="content")
    with saml_col:
        st.subheader("SAML identity provider")
        facts = _source_or_reason(snapshot, "saml", labels)
        if facts is not None:
            st.dataframe(panels.saml_table(facts), hide_index=True, width="stretch", height="content")
    if facts is not None and facts.signing_certificates:
        st.caption("IdP signing certificates")
        st.dataframe(panels.saml_certificates(facts), hide_index=True, width="stretch")
    st.subheader("Search (Elasticsearch/OpenSearch)")
    facts = _source_or_reason(snapshot, "elasticsearch", labels)
    if facts is not None:
        summary, indexes = st.columns([2, 3])
        summary.dataframe(panels.search_table(facts), hide_index=True, width="stretch", height="content")
        with indexes:
            st.caption("Largest Mattermost indexes")
            st.dataframe(panels.search_indexes(facts), hide_index=True, width="stretch")


def render_usage_review(snapshot: Snapshot) -> None:
    """What the roll-out checklist's review asks to watch: chats by kind, top channels and teams, peak times."""
    st.subheader("Usage review")
    facts = snapshot.data("database")
    if facts is None:
        st.info("Connect the Mattermost database (database.dsn) to see group and direct chats, the busiest "
                "channels and teams, and peak usage times.")
        return
    kinds = facts.channels_by_type
    if kinds is not None:
        with st.container(horizontal=True):
            for label, value in (("Public channels", kinds.public), ("Private channels", kinds.private),
                                 ("Direct chats", kinds.direct), ("Group chats", kinds.group)):
                st.metric(label, f"{value:,}", border=True)
    if facts.posts_last_7_days is not None:
        st.plotly_chart(charts.peak_usage(facts.posts_last_7_days), width="stretch")
    channels, teams = st.columns(2)
    channels.caption("Busiest channels (Mattermost's message counters)")
    channels.dataframe(panels.top_channels(facts), hide_index=True, width="stretch")
    teams.caption("Busiest teams")
    teams.dataframe(panels.top_teams(facts), hide_index=True, width="stretch")


def render_database(snapshot: Snapshot, labels: dict[str, str]) -> None:
    facts = _source_or_reason(snapshot, "database", labels)
    if facts is None:
        return
    summary, connections = st.columns([2, 3])
    summary.dataframe(panels.database_table(facts), hide_index=True, width="stretch", height="content")
    with connections:
        if facts.connections is not None:
            st.plotly_chart(charts.connections_by_state(facts.connections), width="stretch")
        st.caption("Slow activity right now")
        activity = panels.slow_activity(facts)
        if activity.empty:
            st.success("No long-running query, lock wait or idle transaction.")
        else:
            st.dataframe(activity, hide_index=True, width="stretch")
    st.caption("Largest tables (row counts are PostgreSQL's estimates, never a COUNT(*))")
    st.dataframe(panels.largest_tables(facts), hide_index=True, width="stretch")
    for fact, reason in facts.missing.items():
        st.caption(f"{fact}: {reason}")


def render_metrics(snapshot: Snapshot, labels: dict[str, str], load_range) -> None:
    """Prometheus panels; `load_range(hours)` returns the facts for another range than the snapshot's 24 h."""
    facts = _source_or_reason(snapshot, "prometheus", labels)
    if facts is None:
        return
    range_col, group_col, nodes_col = st.columns([3, 2, 3])
    label = range_col.segmented_control("Time range", list(metric_panels.RANGES_HOURS), default="24 hours",
                                        key="metrics_range") or "24 hours"
    group = group_col.selectbox("Panels", list(metric_panels.PANEL_GROUPS), key="metrics_group")
    nodes = nodes_col.multiselect("Nodes", list(facts.instances), default=list(facts.instances),
                                  key="metrics_nodes")
    hours = metric_panels.RANGES_HOURS[label]
    if hours != 24:
        result = load_range(hours)
        if result.data is None:
            st.error(result.error or "Prometheus did not answer.")
            return
        facts = result.data
    st.caption(f"{facts.start:%Y-%m-%d %H:%M} to {facts.end:%Y-%m-%d %H:%M} UTC, one point every "
               f"{facts.step_s:,.0f} s, rates over {facts.window_s:,.0f} s (scrape interval "
               f"{facts.scrape_interval_s:g} s, from {facts.scrape_interval_source}).")
    columns = st.columns(2)
    for index, name in enumerate(metric_panels.PANEL_GROUPS[group]):
        with columns[index % 2]:
            result = facts.results.get(name)
            if result is None or result.frame.empty:
                st.info(metric_panels.why_empty(facts, name))
            else:
                st.plotly_chart(metric_panels.figure(result, nodes), width="stretch")
