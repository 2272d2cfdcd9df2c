"""Incidents: placeholder until the incidents issue lands."""

import streamlit as st

st.title("Incidents")
st.write(
    "Coming next: start, run and end incidents in Mattermost channels from playbooks kept as code, "
    "a /incident slash command, message forwarding, and timelines for the review afterwards."
)
st.caption("No incidents are listed until the incident workflow is built; nothing here is invented.")
