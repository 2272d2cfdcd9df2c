"""Rollout: the enterprise roll-out checklist for this environment, checked against the live system."""

from datetime import UTC, datetime

import streamlit as st

from checklists import board, progress
from store import StoreError
from ui import rollout_view as view
from ui.context import page_context
from ui.signin import current_identity

context = page_context()
identity = current_identity(context.env)
st.title(f"Rollout · {context.env.label}")
st.caption("The enterprise roll-out checklist, per environment. Items the live system can confirm carry its "
           "verdict; the rest is what your team records here (stored with who and when).")
rollout = view.checklist()
if rollout is None:
    st.stop()
try:
    state = progress.load(context.store, rollout, context.env.name) if context.store else None
except StoreError as exc:
    state = None
    st.error(f"Progress could not be read from the store ({exc}); the checklist is shown without it.")
state = state or progress.EnvironmentProgress(context.env.name)
checks = view.verifications(context, rollout)
view.render_summary(board.summarise(rollout, state, checks, datetime.now(UTC).date()))
if state.orphaned:
    with st.expander(f"{len(state.orphaned)} saved item(s) no longer in the checklist (kept, not dropped)"):
        for item in state.orphaned:
            st.markdown(f"- `{item.item_id}`: {item.status.value}, {item.owner or 'no owner'}")
view.render_sections(context, rollout, state, checks, identity.username if identity else "unknown")
st.caption("Coming next: environments side by side, the implementation schedule (Gantt), the team table, the "
           "sizing calculator, the review meeting view with exports, and configuration drift between environments.")
