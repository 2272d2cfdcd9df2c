"""Packet analysis: a support packet someone sent, read offline (findings, nodes side by side, what the logs say)."""

import streamlit as st

from ui import packet_analysis_view as view

st.title("Packet analysis")
upload = st.file_uploader("Support packet (.zip)", type=["zip"], key="packet_analysis_file",
                          max_upload_size=view.MAX_UPLOAD_MB)
if upload is None:
    st.info(view.HOW_TO_GET_ONE, icon=":material/upload_file:")
else:
    view.render_analysis(view.saved_upload(upload), upload.name)
