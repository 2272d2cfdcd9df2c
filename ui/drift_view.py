"""Streamlit panel of the rollout page: configuration drift between two environments (secrets by hash only)."""

from __future__ import annotations

import dataclasses
from typing import Any

import streamlit as st

from checklists import drift
from ui.context import PageContext
from ui.rollout_view import other_environment

LIVE = "Live (REST API)"
FILE = "config.json file (from settings)"
UPLOAD = "Upload a config.json"


def _live_config(context: PageContext, name: str) -> tuple[dict[str, Any] | None, str | None]:
    facts = other_environment(context, name).snapshot().data("mattermost")
    if facts is None or facts.config is None:
        why = facts.missing.get("config") if facts is not None else None
        return None, why or "the Mattermost API did not answer; see the Sources in the sidebar"
    return facts.config, None


def _config(context: PageContext, side: str, default: str) -> tuple[str, dict[str, Any] | None]:
    names = list(context.settings.environments)
    name = st.selectbox(f"{side}: environment", names, index=names.index(default), key=f"drift-{side}-env",
                        format_func=lambda n: context.settings.environments[n].label)
    label = context.settings.environments[name].label
    source = st.radio(f"{side}: read from", [LIVE, FILE, UPLOAD], key=f"drift-{side}-source", horizontal=True)
    try:
        if source == LIVE:
            config, why = _live_config(context, name)
            if config is None:
                st.error(f"{label}: no configuration from the API ({why}).")
            return label, config
        if source == FILE:
            files = context.settings.environments[name].files
            if files is None or files.config_json is None:
                st.error(f"{label} has no files.config_json setting; set MMDASH_{name.upper()}__FILES__CONFIG_JSON "
                         "or upload the file instead.")
                return label, None
            return label, drift.load_config_file(files.config_json)
        upload = st.file_uploader(f"{side}: config.json", type=["json"], key=f"drift-{side}-upload",
                                  max_upload_size=drift.MAX_CONFIG_BYTES // 2**20)
        return label, drift.parse_config(upload.getvalue(), upload.name) if upload else None
    except drift.ConfigFileError as exc:
        st.error(str(exc))
        return label, None


def render(context: PageContext) -> None:
    st.caption("Compare two environments' configuration setting by setting. Secrets are never shown: they are "
               "compared by a keyed hash made for this comparison only, and the API's masked values cannot be "
               "compared at all (read a config.json for that).")
    names = list(context.settings.environments)
    other = next((n for n in names if n != context.env.name), context.env.name)
    left_column, right_column = st.columns(2)
    with left_column:
        left_label, left = _config(context, "Left", other)
    with right_column:
        right_label, right = _config(context, "Right", context.env.name)
    if left is None or right is None:
        return
    if left_label == right_label:
        left_label, right_label = f"{left_label} (left)", f"{right_label} (right)"
    result = drift.compare(left, right, left_label, right_label)
    unexpected = result.unexpected
    with st.container(horizontal=True):
        st.metric("Settings compared", f"{result.settings_compared:,}", border=True)
        st.metric("Drift", len(unexpected), border=True, help="Differences not expected between environments.")
        st.metric("Expected per environment", len(result.differences) - len(unexpected), border=True,
                  help="Site URL, listen address, cluster name, database hosts, file storage location.")
    if not result.differences:
        st.success("The two configurations are the same, secrets included where they could be compared.")
        return
    hide_expected = st.toggle("Hide settings expected to differ", value=True, key="drift-hide-expected")
    hide_masked = st.toggle("Hide secrets the API masks", value=True, key="drift-hide-masked")
    shown = tuple(d for d in result.differences if not (hide_expected and d.expected)
                  and not (hide_masked and d.kind is drift.DifferenceKind.SECRET_NOT_COMPARABLE))
    st.dataframe(drift.to_frame(dataclasses.replace(result, differences=shown)), hide_index=True, width="stretch")
    st.download_button("Download as Markdown", drift.to_markdown(result), file_name="config-drift.md",
                       mime="text/markdown", icon=":material/download:")
