"""The fleet table: one row per environment, sortable, each linking to its health page."""

from __future__ import annotations

import streamlit as st

from health import fleet
from health.fleet import FleetRow
from store import Store, StoreError
from store.utc import utc_now
from ui.context import PageContext

CACHE_S = 10  # the watcher stores a run per environment every few minutes; this spares the store a read per click

COLUMNS = {
    "Environment": st.column_config.TextColumn(pinned=True),
    "Worst firing": st.column_config.TextColumn(help="The most severe finding firing in the last run, muted ones "
                                                     "left out."),
    "Open": st.column_config.NumberColumn(help="Open findings that are not muted (acknowledged ones count)."),
    "Muted": st.column_config.NumberColumn(help="Open findings someone muted."),
    "Last collected": st.column_config.DatetimeColumn("Last collected (UTC)", format="YYYY-MM-DD HH:mm:ss"),
    "Stale": st.column_config.CheckboxColumn(help=f"Older than {fleet.STALE_INTERVALS} watch intervals: the "
                                                  "watcher may be stopped."),
    "Errors": st.column_config.NumberColumn(help="Sources that failed in the last run."),
    "Collection errors": st.column_config.TextColumn(width="large"),
    "Health page": st.column_config.LinkColumn(display_text="open health page"),
}


@st.cache_data(ttl=CACHE_S, max_entries=8, show_spinner=False)
def _fleet(location: str, environments: tuple[str, ...], _store: Store, _context: PageContext) -> list[FleetRow]:
    return fleet.read(_store, _context.settings, utc_now())


def render_fleet(context: PageContext) -> None:
    try:
        rows = _fleet(repr(context.store), tuple(context.settings.environments), context.store, context)
    except StoreError as exc:
        st.error(f"The fleet could not be read from the store: {exc}")
        return
    with st.container(horizontal=True):
        st.metric("Environments", len(rows), border=True)
        st.metric("With a critical finding", sum(r.worst == "critical" for r in rows), border=True)
        st.metric("Open findings", sum(r.open_findings for r in rows), border=True)
        st.metric("Stale", sum(r.stale for r in rows), border=True,
                  help=f"Last run older than {fleet.STALE_INTERVALS} watch intervals.")
        st.metric("Never collected", sum(r.collected_at is None for r in rows), border=True)
    st.dataframe(fleet.frame(rows), hide_index=True, width="stretch", column_config=COLUMNS,
                 height="content" if len(rows) <= 20 else 720)
    never = [r.label for r in rows if r.collected_at is None]
    if never:
        st.caption(f"Never collected yet: {', '.join(never)}. The watcher stores their first run on its next "
                   "tick, or open their health page to collect one now.")
