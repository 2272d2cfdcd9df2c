"""The demo's banner: that this is a demo, who it signed in as, and what it started beside the simulators."""

from __future__ import annotations

import streamlit as st

from demo.deployment import banner_sentence, running_demo
from settings import Settings


def render_demo_banner(settings: Settings, username: str) -> None:
    demo = running_demo(settings)
    parts = demo.parts if demo is not None else []
    missing = [part for part in parts if not part.running]
    st.info(banner_sentence(username), icon=":material/science:")
    if demo is None or not parts:
        return
    with st.expander(demo.started_line(), expanded=bool(missing), icon=":material/dns:"):
        for part in parts:
            icon = ":material/check_circle:" if part.running else ":material/radio_button_unchecked:"
            line = f"{icon} **{part.name}**: {part.detail}"
            if part.add_with:
                line += f" Add it with `{part.add_with}`, then restart `make run`."
            st.markdown(line)
