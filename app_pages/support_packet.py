"""Support packet: placeholder until the support packet issue lands."""

import streamlit as st

st.title("Support packet")
st.write(
    "Coming next: one button that builds a support packet support can act on: server facts, health findings, "
    "connection tests, sanitized configuration and log files, in Mattermost's own packet layout plus a manifest. "
    "Every secret is removed, and a leak gate proves it before the download is offered."
)
st.caption("Nothing is collected on this page yet; the Health page shows what the dashboard can read today.")
