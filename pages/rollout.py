"""Rollout: the enterprise roll-out checklist and implementation plan, per environment, checked against the live
system, with the review meeting's report and configuration drift between environments."""

from datetime import UTC, datetime

import streamlit as st

from checklists import board
from ui import drift_view, review_view
from ui import rollout_plan_view as plan_view
from ui import rollout_view as view
from ui.context import page_context

VIEWS = ["Checklist", "Environments", "Schedule", "Team and sizing", "Review meeting", "Configuration drift"]

context = page_context()
st.title(f"Rollout · {context.env.label}")
st.caption("The enterprise roll-out checklist and implementation plan, per environment. Items the live system can "
           "confirm carry its verdict; the rest is what your team records here, stored with who and when.")
if context.store is None:
    st.warning("The store is unavailable: progress is shown as empty and nothing can be saved until it is back.")
rollout = view.checklist(context)
plan = view.plan(context)
if rollout is None or plan is None:
    st.stop()
today = datetime.now(UTC).date()
# One view at a time: only the chosen one is built and sent.
chosen = st.segmented_control("View", VIEWS, default=VIEWS[0], key="rollout_view",
                              label_visibility="collapsed") or VIEWS[0]
if chosen == "Checklist":
    state = view.progress_or_empty(context, rollout)
    checks = view.verifications(context, rollout)
    view.render_summary(board.summarise(rollout, state, checks, today))
    view.render_regressions(rollout, view.regressions(context, checks))
    view.render_attention(rollout, state, today)
    if state.orphaned:
        with st.expander(f"{len(state.orphaned)} saved item(s) no longer in the checklist (kept, not dropped)"):
            for item in state.orphaned:
                st.markdown(f"- `{item.item_id}`: {item.status.value}, {item.owner or 'no owner'}")
    view.render_sections(context, rollout, state, checks, context.actor)
elif chosen == "Environments":
    view.render_environments(context, rollout, today)
elif chosen == "Schedule":
    plan_view.render_schedule(context, plan, today)
elif chosen == "Team and sizing":
    plan_view.render_team(context, plan)
    plan_view.render_sizing(plan)
elif chosen == "Review meeting":
    review_view.render(context, rollout, plan, today)
else:
    drift_view.render(context)
