"""Support packet: a packet support can act on, with every secret removed and proven removed."""

import streamlit as st

from ui import packet_view as view
from ui.context import page_context
from ui.signin import current_identity

context = page_context()
identity = current_identity(context.env)
snapshot = context.snapshot()
facts = snapshot.data("mattermost")

st.title("Support packet")
st.write("One packet with what support asks for first: server facts and health findings, connection tests, the "
         "configuration and logs, in Mattermost's own layout plus a manifest. Every secret is removed, and the "
         "whole zip is checked for every secret the dashboard knows before it is offered.")
view.render_help(facts, context.settings.support_url)
if context.store is not None:
    made = context.store.count_audit(environment=context.env.name, action="packet.generate")
    st.caption(f"Packets generated for {context.env.label} from this dashboard: {made} (counted here only; "
               "nothing leaves your site).")
if identity is not None:
    view.render_log_level(context, facts, identity.username)

submitted = view.render_form(ldap_configured=context.env.ldap is not None)
if submitted is not None and identity is not None:
    view.generate(context, submitted, identity.username, identity.email)

if view.STATE in st.session_state:
    _, result = st.session_state[view.STATE]
    st.header("Review before download")
    view.render_review(result)
