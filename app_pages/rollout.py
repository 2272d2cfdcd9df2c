"""Rollout: placeholder until the rollout issue lands."""

import streamlit as st

st.title("Rollout")
st.write(
    "Coming next: the enterprise roll-out checklist and the implementation plan, tracked per environment "
    "(dev, staging, production), with items verified against the live system where it can tell, a schedule, "
    "and an export for review meetings."
)
st.caption("No checklist data is shown until the rollout tracking is built; nothing here is invented.")
