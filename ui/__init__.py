"""Streamlit glue shared by app.py and the pages: cached resources, sign-in, the environment in use.

Domain logic does not live here; this is the only package besides app.py and pages/ that imports streamlit.
"""
