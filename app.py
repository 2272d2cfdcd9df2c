"""Entry point: page config, settings, sign-in gate, navigation and the shared sidebar."""

from __future__ import annotations

import streamlit as st

from collectors import SourceStatus
from health.overview import STATUS_WORDS
from health.stored_view import describe_age, source_results
from store.utc import utc_now
from ui.context import SOURCE_LABELS, PageContext, render_feature_switches, settings_or_stop, store_or_none
from ui.demo_view import render_demo_banner
from ui.errors import run_page
from ui.signin import render_sign_in, sign_out, signed_in

STATUS_ICONS = {
    SourceStatus.OK: ":material/check_circle:",
    SourceStatus.DEGRADED: ":material/warning:",
    SourceStatus.FORBIDDEN: ":material/lock:",
    SourceStatus.ERROR: ":material/error:",
    SourceStatus.NOT_CONFIGURED: ":material/radio_button_unchecked:",
}
# The default page is served at "/" only; its url_path just has to differ from the alias below.
HEALTH_PAGE = st.Page("pages/health.py", title="Health", icon=":material/monitor_heart:", default=True,
                      url_path="health-default")


def health_by_name() -> None:
    # /health?env=staging (the fleet's and the alerts' links) names the health page, which Streamlit serves at "/".
    st.switch_page(HEALTH_PAGE, query_params=st.query_params.to_dict())


PAGES = {
    "Diagnostics": [
        HEALTH_PAGE,
        st.Page(health_by_name, title="Health", url_path="health", visibility="hidden"),
        st.Page("pages/support_packet.py", title="Support packet", icon=":material/inventory_2:"),
        st.Page("pages/packet_analysis.py", title="Packet analysis", icon=":material/troubleshoot:"),
        st.Page("pages/fleet.py", title="Fleet", icon=":material/dns:"),
    ],
    "Operations": [st.Page("pages/rollout.py", title="Rollout", icon=":material/checklist:")],
}
INCIDENTS_PAGE = st.Page("pages/incidents.py", title="Incidents", icon=":material/emergency:")

st.set_page_config(page_title="Mattermost diagnostics", page_icon=":material/monitor_heart:", layout="wide")
settings = settings_or_stop()
store, store_problem = store_or_none(settings)

if st.session_state.get("environment") not in settings.environments:
    # A shared link names its environment (?env=staging); otherwise, or if it is gone, the default one.
    linked = st.query_params.get("env")
    st.session_state["environment"] = linked if linked in settings.environments else settings.default_environment
with st.sidebar:
    chosen = st.selectbox("Environment", list(settings.environments), key="environment",
                          format_func=lambda name: settings.environments[name].label)
st.query_params["env"] = chosen
env = settings.environment(chosen)
identity = signed_in(env, store)
if identity is None:
    # Navigation with the sign-in as the only page: no other page is reachable, not even by its URL.
    def sign_in_page() -> None:
        render_sign_in(settings, env, store)

    run_page(st.navigation([st.Page(sign_in_page, title="Sign in", url_path="sign-in")], position="hidden"),
             env.name)
    st.stop()

if identity.method == "demo":
    render_demo_banner(settings, identity.username)

context = PageContext(settings, env, identity.token, store, identity.username)
st.session_state["page_context"] = context
with st.sidebar:
    st.caption(f"Signed in as **@{identity.username}** ({identity.method})")
    if identity.method != "demo":
        st.button("Sign out", on_click=sign_out, width="stretch")
    st.subheader("Sources", divider="gray")
    # From the last stored run, never a live collection: this runs on every page.
    stored = context.stored()
    if stored.snapshot is not None:
        for name, result in source_results(stored.snapshot, SOURCE_LABELS).items():
            st.markdown(f"{STATUS_ICONS[result.status]} {SOURCE_LABELS.get(name, name)}: "
                        f"{STATUS_WORDS[result.status]}", help=result.error)
        st.caption(f"As of the run {describe_age(utc_now() - stored.snapshot.collected_at)} ago.")
    elif stored.problem is None:
        st.caption("Nothing collected yet: the watcher or the Health page stores the first run.")
    if store_problem or stored.problem:
        st.warning(f"Store unavailable: {store_problem or stored.problem}", icon=":material/database:")
    incidents_on = render_feature_switches(store, identity.username)

pages = {**PAGES, "Operations": PAGES["Operations"] + ([INCIDENTS_PAGE] if incidents_on else [])}
run_page(st.navigation(pages), env.name)
