"""Health: is this Mattermost deployment healthy, and why not? Opens from the last stored snapshot (the watcher's),
collects live only when asked, when nothing is stored yet, or for the views that need every live fact."""

import contextlib

import streamlit as st

from health import alert_outbox, stored_view
from health.engine import evaluate
from health.findings import verdict
from health.packet_inputs import from_live
from store import StoreError
from store.utc import utc_now
from ui import finding_actions
from ui import health_view as view
from ui.context import SOURCE_LABELS, PageContext, clear_snapshots, page_context

SECTIONS = list(stored_view.VIEWS)


def live_sections(snapshot, section: str) -> None:
    """The views that need the full live facts (charts, tables, directory), from `snapshot`."""
    facts = snapshot.data("mattermost")
    if section == "Metrics":
        view.render_metrics(snapshot, SOURCE_LABELS, context.metrics_range)
    elif section == "Database":
        view.render_database(snapshot, SOURCE_LABELS)
    elif section == "Directory, sign-on and search":
        view.render_directory_and_search(snapshot, SOURCE_LABELS)
    elif facts is None:
        st.info("Nothing to show until the Mattermost API answers; see the status line above.")
    elif section == "Usage":
        view.render_kpis(facts)
        view.render_usage_charts(facts)
        view.render_usage_review(snapshot)
    else:
        view.render_server_tables(facts)
        view.render_missing(facts)


def history_section(page: PageContext) -> None:
    from ui.history_view import render_history  # written alongside this page; loaded only when opened

    render_history(page)


def choose_section() -> str:
    # One view at a time: only the chosen section is built and sent, which keeps the page fast to show.
    return st.segmented_control("View", SECTIONS, default=SECTIONS[0], key="health_section",
                                label_visibility="collapsed") or SECTIONS[0]


def stored_health() -> None:
    stored = context.stored().snapshot
    if stored is None:
        st.info("No snapshot is stored for this environment any more; press Collect now.")
        return
    now = utc_now()
    view.render_freshness(stored_view.freshness(stored, now, context.settings.watch_interval(context.env)))
    with contextlib.suppress(StoreError):  # the store failing between two reads: the next refresh says so in full
        view.render_alert_delivery(alert_outbox.delivery_sentence(context.store, context.env))
    findings = stored_view.findings_of(stored)
    view.render_verdict(stored_view.verdict_of(stored, findings))
    view.render_sources(stored_view.sources_snapshot(stored, SOURCE_LABELS), SOURCE_LABELS)
    section = choose_section()
    if section == "Overview":
        view.render_stored_overview(stored, findings)
    elif section == "Findings":
        if not findings:
            st.info("This snapshot keeps no findings report; press Collect now.")
            return
        st.subheader("Firing now")
        finding_actions.render_firing(context, findings, now)
        st.subheader("Every check, by area")
        view.render_findings(findings)
    elif section == "History":
        history_section(context)
    else:
        with st.spinner("Collecting the live facts for this view..."):
            snapshot = context.live_snapshot()
        view.render_live_note(snapshot)
        live_sections(snapshot, section)


def live_health(collected_for_the_record: bool = False) -> None:
    """As before the store: collect on every visit (the store cannot be read, so nothing is remembered). After a
    collection that could not be recorded, that collection is shown rather than a second one."""
    snapshot = context.live_snapshot() if collected_for_the_record else context.snapshot()
    st.caption(f"Collected live {snapshot.collected_at:%Y-%m-%d %H:%M:%S} UTC in {snapshot.elapsed_ms:,.0f} ms; "
               f"refreshes every {context.settings.refresh_seconds} s.")
    findings = evaluate(from_live(snapshot))
    view.render_verdict(verdict(findings))
    view.render_sources(snapshot, SOURCE_LABELS)
    section = choose_section()
    if section == "Findings":
        st.caption("Muting, acknowledging and each finding's lifecycle need the store.")
        view.render_findings(findings)
    elif section == "History":
        history_section(context)
    elif section == "Overview":
        facts = snapshot.data("mattermost")
        if facts is None:
            st.info("Nothing to show until the Mattermost API answers; see the status line above.")
        else:
            view.render_server_line(facts)
            view.render_kpis(facts)
    else:
        live_sections(snapshot, section)


def collect_and_record(first: bool) -> str | None:
    """Collect now and record the run; None when it was recorded, else why not."""
    wait = (f"Nothing is stored for {context.env.label} yet: collecting it once now..." if first
            else f"Collecting {context.env.label} now...")
    with st.spinner(wait):
        try:
            context.collect_now()
        except StoreError as exc:
            return str(exc)
    return None


context = page_context()
title, collect = st.columns([5, 1], vertical_alignment="bottom")
title.title(f"Health · {context.env.label}")
collect_pressed = collect.button("Collect now", icon=":material/refresh:", width="stretch",
                                 help="Collect every source now and keep the run, as the watcher does.")
read = context.stored()
if read.problem is not None:
    st.error(f"The store cannot be read ({read.problem}), so this page collects live on every visit and remembers "
             "nothing: mutes, the findings' lifecycle and history come back with the store.",
             icon=":material/database_off:")
    if collect_pressed:
        clear_snapshots()
    st.fragment(live_health, run_every=context.settings.refresh_seconds)()
    st.stop()

if collect_pressed or read.snapshot is None:
    problem = collect_and_record(first=read.snapshot is None)
    if problem is None and context.stored().snapshot is not None:
        st.rerun()  # the sidebar's source lines come from the stored snapshot too
    if problem is not None:
        st.error(f"This collection could not be recorded ({problem}); it is shown live below.",
                 icon=":material/database_off:")
        st.fragment(live_health, run_every=context.settings.refresh_seconds)(collected_for_the_record=True)
        st.stop()

# Re-read every refresh: a run the watcher stores shows up without a reload.
st.fragment(stored_health, run_every=context.settings.refresh_seconds)()
