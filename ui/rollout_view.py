"""Streamlit panels of the rollout page: the checklist per section, editable, with the system's verdicts."""

from __future__ import annotations

import streamlit as st

from checklists import board, progress
from checklists.loader import ROLLOUT_PATH, LastGood, Rollout, load_rollout
from checklists.progress import EnvironmentProgress, Status
from checklists.verify import Verification, verify
from health.packet_inputs import from_live
from store import ConflictError, Store, StoreError
from ui.context import PageContext

STATUSES = [status.value for status in Status]


@st.cache_resource(show_spinner=False)
def _checklist() -> LastGood[Rollout]:
    return LastGood(load_rollout)


def checklist() -> Rollout | None:
    """The checklist file; when an edit broke it, the last good version and the error on screen."""
    loaded = _checklist().load(ROLLOUT_PATH)
    if loaded.error is not None:
        st.error(f"The checklist file has errors, so the last good version is shown: {loaded.error}")
    return loaded.model


def verifications(context: PageContext, rollout: Rollout) -> dict[str, Verification]:
    inputs = from_live(context.snapshot())
    return {item.id: verify(item.verify, inputs) for _, _, item in rollout.items() if item.verify}


def render_summary(summary: board.Summary) -> None:
    with st.container(horizontal=True):
        st.metric("Done", f"{summary.percent}%", border=True, help=f"{summary.done} of {summary.items} items "
                  "(not applicable counts as done)")
        st.metric("Verified by system", summary.verified, border=True)
        st.metric("Done but failing", summary.failing, border=True,
                  help="Marked done, but the live system says the item does not hold (a regression).")
        st.metric("Overdue", summary.overdue, border=True)
        st.metric("Without owner", summary.unowned, border=True)


def _save(store: Store, context: PageContext, changes: list, actor: str) -> None:
    saved = 0
    for item in changes:
        try:
            progress.save(store, item, actor=actor)
            saved += 1
        except ConflictError as conflict:
            st.error(f"{item.item_id}: {conflict} Your edit is still in the table: reload to see theirs, then "
                     "apply yours again.")
        except StoreError as exc:
            st.error(f"{item.item_id} was not saved ({exc}); your edit is still in the table, try again.")
    if saved:
        st.toast(f"Saved {saved} item(s) for {context.env.label}.")


def render_sections(context: PageContext, rollout: Rollout, state: EnvironmentProgress,
                    checks: dict[str, Verification], actor: str) -> None:
    config = {"id": None, "Item": st.column_config.TextColumn(disabled=True, width="large"),
              "Status": st.column_config.SelectboxColumn(options=STATUSES, required=True),
              "Due": st.column_config.DateColumn(), "Evidence": st.column_config.LinkColumn(),
              "System check": st.column_config.TextColumn(disabled=True, width="medium"),
              "Updated": st.column_config.TextColumn(disabled=True)}
    for phase in rollout.phases:
        st.subheader(phase.title)
        for section in phase.sections:
            before = board.section_rows(section, state, checks)
            done = sum(row in ("done", "not applicable") for row in before["Status"])
            with st.expander(f"{section.number}. {section.title}: {done}/{len(before)} done"):
                with st.form(f"section-{section.id}"):
                    after = st.data_editor(before, hide_index=True, width="stretch", column_config=config,
                                           key=f"editor-{context.env.name}-{section.id}")
                    submitted = st.form_submit_button("Save changes")
                if submitted:
                    changes = board.edits(before, after, state)
                    if context.store is None:
                        st.error("The store is unavailable, so nothing was saved; your edits are still in the table.")
                    elif changes:
                        _save(context.store, context, changes, actor)
                        st.rerun()

